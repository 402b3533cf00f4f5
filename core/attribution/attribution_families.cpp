// Repeated random-token statistics for the induction family (ATTRIBUTION.md,
// "Feature families"): activations on the first vs the second copy.
#include <torch/torch.h>

#include <algorithm>

#include "core/attribution/attribution.h"
#include "core/base/error.h"
#include "core/model/model.h"
#include "core/sae/sae.h"

namespace zs {

RepeatedTokenStats repeatedTokenActivations(const Model& model, const Sae& sae, int64_t bos, int length,
                                            int sequences, uint64_t seed) {
  const ModelSpec& cfg = model.spec();
  sae.checkAgainst(cfg, "SAE " + sae.cfg.hook_name);
  if (length < 1 || sequences < 1) throw UsageError("repeated tokens: length and sequences must be positive");
  const int64_t T = 2 * length + (bos >= 0 ? 1 : 0);
  if (T > cfg.nCtx)
    throw InputError("repeated tokens", std::to_string(T) + " tokens exceed the model's context of " +
                                            std::to_string(cfg.nCtx));
  torch::InferenceMode guard;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  // Random tokens other than BOS (so the copies never contain a BOS-like token).
  torch::Tensor body = at::randint(0, cfg.vocab, {sequences, length}, gen, torch::kLong);
  if (bos >= 0) body = torch::where(body == bos, (body + 1) % cfg.vocab, body);
  std::vector<torch::Tensor> parts;
  if (bos >= 0) parts.push_back(torch::full({sequences, 1}, bos, torch::kLong));
  parts.push_back(body);
  parts.push_back(body);
  torch::Tensor ids = torch::cat(parts, 1);
  ForwardOptions o;
  const int64_t layer = sae.cfg.hook_layer;
  const std::string hook = "blocks." + std::to_string(layer) + ".attn.hook_z";
  o.capture = Capture({hook});
  o.stopAfterZOfLayer = layer;
  auto fr = model.forward(ids, o);
  torch::Tensor z = fr.cache.at(hook).reshape({sequences, T, cfg.dZ()}).to(sae.W_enc.device());
  torch::Tensor f = sae.encode(z).to(torch::kCPU, torch::kFloat);  // [S, T, dSae]
  const int64_t off = bos >= 0 ? 1 : 0;
  torch::Tensor first = f.narrow(1, off, length).mean(std::vector<int64_t>{0, 1}).contiguous();
  torch::Tensor second = f.narrow(1, off + length, length).mean(std::vector<int64_t>{0, 1}).contiguous();
  RepeatedTokenStats r;
  r.sequences = sequences;
  r.length = length;
  r.firstCopy.assign(first.data_ptr<float>(), first.data_ptr<float>() + first.numel());
  r.secondCopy.assign(second.data_ptr<float>(), second.data_ptr<float>() + second.numel());
  return r;
}

}  // namespace zs
