#include "core/model/rotary.h"

#include <cmath>

namespace zs {

torch::Tensor ropeInvFreq(const RopeConfig& rope, int64_t headDim, int64_t seqLen) {
  double base = rope.theta;
  if (rope.type == "dynamic" && seqLen > rope.maxPositions) {
    // NTK-aware: the base grows past max_position_embeddings.
    const double s = static_cast<double>(seqLen), m = static_cast<double>(rope.maxPositions);
    base = base * std::pow(rope.factor * s / m - (rope.factor - 1.0),
                           static_cast<double>(headDim) / static_cast<double>(headDim - 2));
  }
  // 1 / base^(arange(0, dh, 2).float() / dh), with the exponent in float32 as transformers does.
  torch::Tensor expo = torch::arange(0, headDim, 2, torch::kLong).to(torch::kFloat32) / static_cast<float>(headDim);
  torch::Tensor inv = 1.0 / torch::pow(base, expo);
  if (rope.type == "linear") inv = inv / rope.factor;
  if (rope.type == "llama3") {
    const double lowWavelen = rope.originalMaxPositions / rope.lowFreqFactor;
    const double highWavelen = rope.originalMaxPositions / rope.highFreqFactor;
    torch::Tensor wavelen = 2 * M_PI / inv;
    // Long wavelengths divided by factor, short ones kept, the band in between interpolated.
    torch::Tensor scaled = torch::where(wavelen > lowWavelen, inv / rope.factor, inv);
    torch::Tensor smooth =
        (rope.originalMaxPositions / wavelen - rope.lowFreqFactor) / (rope.highFreqFactor - rope.lowFreqFactor);
    torch::Tensor smoothed = (1 - smooth) * scaled / rope.factor + smooth * scaled;
    torch::Tensor medium = (wavelen >= highWavelen).logical_and(wavelen <= lowWavelen);
    inv = torch::where(medium, smoothed, scaled);
  }
  return inv.to(torch::kFloat32);
}

RopeTables ropeTables(const RopeConfig& rope, int64_t headDim, int64_t seqLen, torch::Device device) {
  torch::Tensor inv = ropeInvFreq(rope, headDim, seqLen);
  torch::Tensor pos = torch::arange(seqLen, torch::kLong).to(torch::kFloat32);
  torch::Tensor freqs = torch::outer(pos, inv);  // [T, dh/2]
  torch::Tensor emb = torch::cat({freqs, freqs}, -1);
  return {emb.cos().to(device), emb.sin().to(device)};
}

torch::Tensor applyRope(const torch::Tensor& x, const RopeTables& t) {
  const int64_t half = x.size(-1) / 2;
  torch::Tensor x1 = x.narrow(-1, 0, half), x2 = x.narrow(-1, half, half);
  torch::Tensor rotated = torch::cat({-x2, x1}, -1);
  torch::Tensor cos = t.cos.unsqueeze(0).unsqueeze(2), sin = t.sin.unsqueeze(0).unsqueeze(2);  // [1, T, 1, dh]
  return x * cos + rotated * sin;
}

}  // namespace zs
