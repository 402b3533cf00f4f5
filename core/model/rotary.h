#pragma once
// Rotary position embeddings as transformers computes them
// (modeling_rope_utils.py + LlamaRotaryEmbedding): inverse frequencies in
// float32, cos/sin of cat(freqs, freqs), rotate_half = cat(-x2, x1).
// Internal to core (torch).
#include <torch/torch.h>

#include "core/model/hf_config.h"

namespace zs {

// inv_freq [dh/2] float32 for a prompt of `seqLen` positions (dynamic scaling
// depends on it; the other types do not).
torch::Tensor ropeInvFreq(const RopeConfig& rope, int64_t headDim, int64_t seqLen);

struct RopeTables {
  torch::Tensor cos, sin;  // [T, dh] float32
};
RopeTables ropeTables(const RopeConfig& rope, int64_t headDim, int64_t seqLen, torch::Device device);

// x [B, T, heads, dh] -> x * cos + rotate_half(x) * sin.
torch::Tensor applyRope(const torch::Tensor& x, const RopeTables& t);

}  // namespace zs
