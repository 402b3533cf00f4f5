#pragma once
// Converting the paper's released attention SAEs (Kissane et al. 2024,
// ckkissane/attn-saes-gpt2-small-all-layers): a torch.save state dict with
// exactly W_enc [act_size, dict_size], W_dec [dict_size, act_size],
// b_enc [dict_size], b_dec [act_size], plus a *_cfg.json with act_size,
// dict_size, act_name ("blocks.L.attn.hook_z"), ... Internal to core (torch).
#include <memory>
#include <string>

#include "core/sae/paper_sae.h"
#include "core/sae/sae.h"

namespace zs {

// Strict: missing or extra keys, wrong shapes, non-hook_z act_name -> InputError.
// Their encoder subtracts b_dec from the input, so apply_b_dec_to_input = true.
std::unique_ptr<Sae> convertPaperSae(const std::string& ptPath, const std::string& cfgPath);

}  // namespace zs
