#pragma once
// What the tools need to know about a model's architecture, torch-free, so that
// the CLI and the GUI can read it without compiling torch (core/model/model.h is
// the interface that computes).
#include <cstdint>
#include <string>

namespace zs {

enum class NormKind { LayerNorm, RMSNorm };

// What attribution and the tools need to know about an architecture.
struct ModelSpec {
  std::string architecture;  // "gpt2", "llama", "mistral", "qwen2", "gemma", "gemma2"
  int64_t nLayer = 0;
  int64_t nHead = 0;    // query heads
  int64_t nKvHead = 0;  // key/value heads (== nHead without grouped-query attention)
  int64_t dHead = 0;
  int64_t dModel = 0;
  int64_t dMlp = 0;
  int64_t vocab = 0;
  int64_t nCtx = 0;  // longest prompt the model accepts
  NormKind norm = NormKind::LayerNorm;
  bool learnedPositions = false;  // hook_pos_embed / W_pos exist (GPT-2)
  bool postAttnNorm = false;      // ln1_post between z W_O and the residual stream (Gemma 2)
  std::string dtype = "float32";  // weights in memory: "float32" or "bfloat16"
  int64_t bosTokenId = -1;        // config.json's bos_token_id / eos_token_id (-1: absent)
  int64_t eosTokenId = -1;

  int64_t dZ() const { return nHead * dHead; }  // hook_z flattened = an attention SAE's d_in
  int64_t kvHeadOf(int64_t head) const { return head / (nHead / nKvHead); }
};

// The architecture of a model folder from its config.json alone (no weights
// read); defined in core/model/load.cpp. Throws InputError.
ModelSpec loadModelSpec(const std::string& dir);

}  // namespace zs
