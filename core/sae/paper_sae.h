#pragma once
// `zscope-cli convert-sae` as one call, torch-free: the paper's .pt attention
// SAE (core/sae/sae_convert.h) converted into a SAELens folder.
#include <cstdint>
#include <string>

#include "core/model/model_spec.h"

namespace zs {

struct PaperSaeConversion {
  std::string hookName;
  int64_t dIn = 0, dSae = 0;
  double maxDecoderNormDeviation = 0;  // max | ||W_dec[j]|| - 1 |
};

// Default cfg path for a .pt file: "X.pt" -> "X_cfg.json".
std::string paperCfgPathFor(const std::string& ptPath);

// Reads `ptPath` + `cfgPath`, checks the SAE against `model` when given
// (InputError), and writes the folder `outDir`.
PaperSaeConversion convertPaperSaeFolder(const std::string& ptPath, const std::string& cfgPath,
                                         const std::string& outDir, const ModelSpec* model = nullptr);

}  // namespace zs
