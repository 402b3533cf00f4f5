#pragma once
// A small SAELens folder written by the test itself (random weights, ReLU,
// hook_z of one layer), for tests that need an SAE that fits a given model.
#include <string>

#include "core/sae/sae.h"

namespace zs::test {

inline std::string writeSae(const std::string& dir, int64_t layer, int64_t dIn, int64_t dSae, uint64_t seed) {
  SaeConfig c;
  c.d_in = dIn;
  c.d_sae = dSae;
  c.hook_name = "blocks." + std::to_string(layer) + ".attn.hook_z";
  c.hook_layer = layer;
  auto sae = Sae::init(c, seed);
  {
    torch::NoGradGuard ng;
    sae->b_enc.fill_(0.05f);  // a few features fire on most tokens
  }
  sae->saveDir(dir);
  return dir;
}

}  // namespace zs::test
