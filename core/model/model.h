#pragma once
// The one interface every transformer implements (GPT-2, the Llama family).
// Internal to core (torch): widgets/app never include this header.
//
// Activation sites carry TransformerLens names (unprocessed model: no norm
// folding or centring), named in the forward pass itself (llama.cpp's
// `cb(cur, "ffn_out", il)` pattern); a Capture decides which are kept. hook_z
// of any layer can be replaced by a ZHook (SAE reconstruction, ablation,
// patching). Attribution, harvesting, evaluation and the database builder use
// only this interface.
#include <torch/torch.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/model/model_spec.h"

namespace zs {

// Which activation sites to keep. Patterns are exact TransformerLens names or
// globs with '*' (e.g. "blocks.*.attn.hook_z"). Captured tensors have a leading
// batch dimension, as in TransformerLens.
class Capture {
 public:
  Capture() = default;
  explicit Capture(std::vector<std::string> patterns) : patterns_(std::move(patterns)) {}
  static Capture all() { return Capture({"*"}); }
  static Capture none() { return Capture(); }
  bool wants(const std::string& name) const;
  bool empty() const { return patterns_.empty(); }
  const std::vector<std::string>& patterns() const { return patterns_; }

 private:
  std::vector<std::string> patterns_;
};

// Glob match with '*' (any run of characters) and '?' (one character).
bool globMatch(const std::string& pattern, const std::string& name);
// The layer of a per-layer site name ("blocks.7.attn.hook_z" -> 7); -1 for
// anything else ("hook_embed", "blocks.x.y", "blocks.99999999.z").
int64_t hookLayer(const std::string& name);

using ActivationCache = std::map<std::string, torch::Tensor>;

// Replaces hook_z of one layer: receives z [B, T, H, dh], returns a tensor of
// the same shape that the rest of the forward pass uses instead.
using ZHook = std::function<torch::Tensor(int64_t layer, const torch::Tensor& z)>;

struct ForwardOptions {
  Capture capture;
  std::map<int64_t, ZHook> zHooks;  // layer -> hook
  // >= 0: stop right after hook_z of this layer has been computed (and
  // captured); no logits. Harvesting uses it to skip the rest of the model.
  int64_t stopAfterZOfLayer = -1;
};

// hook_z of `layer` after the intervention in opts.zHooks, if any (z itself
// otherwise); std::runtime_error when the hook returns another shape.
torch::Tensor applyZHook(const ForwardOptions& opts, int64_t layer, const torch::Tensor& z);

struct ForwardResult {
  torch::Tensor logits;   // [B, T, vocab] float32; undefined when stopped early
  ActivationCache cache;  // captured sites, float32
};

class Model {
 public:
  virtual ~Model() = default;

  virtual const ModelSpec& spec() const = 0;
  virtual torch::Device device() const = 0;
  virtual void to(torch::Device device) = 0;

  // ids: [B, T] int64 on any device. T must be <= spec().nCtx and ids < vocab
  // (InputError otherwise). Autograd follows the caller's grad mode.
  virtual ForwardResult forward(const torch::Tensor& ids, const ForwardOptions& opts = {}) const = 0;
  // Every activation-site name, in forward order (what Capture::all() yields).
  virtual std::vector<std::string> hookNames() const = 0;

  // TransformerLens-layout weights as float32 tensors (views where possible).
  // Biases the architecture does not have are undefined tensors.
  virtual torch::Tensor W_E() const = 0;             // [vocab, d] (before any embedding scale)
  virtual torch::Tensor W_pos() const = 0;           // [nCtx, d]; undefined without learned positions
  virtual torch::Tensor W_V(int64_t layer) const = 0;  // [nKvHead, d, dh]
  virtual torch::Tensor b_V(int64_t layer) const = 0;  // [nKvHead, dh]
  virtual torch::Tensor W_O(int64_t layer) const = 0;  // [nHead, dh, d]
  virtual torch::Tensor b_O(int64_t layer) const = 0;  // [d]
  virtual torch::Tensor W_U() const = 0;             // [d, vocab]

  // Norms, for attribution, which freezes their scales. `site` is
  // "blocks.L.ln1", "blocks.L.ln2", "blocks.L.ln1_post", "blocks.L.ln2_post" or
  // "ln_final". normWeight is the effective multiplicative weight [d] (Gemma's
  // RMSNorm: 1 + w); normBias the additive bias [d] (LayerNorm's b; undefined
  // for RMSNorm). Throws std::invalid_argument for a site the model lacks.
  virtual torch::Tensor normWeight(const std::string& site) const = 0;
  virtual torch::Tensor normBias(const std::string& site) const = 0;
  // The norm with `scale` (that site's hook_scale, [..., 1]) frozen, without its bias:
  //   LayerNorm: (x - mean(x)) / scale * w     RMSNorm: x / scale * w
  torch::Tensor normLinear(const std::string& site, const torch::Tensor& x, const torch::Tensor& scale) const;

  // Next-token cross-entropy per position: logits [B, T, V], ids [B, T] -> [B, T-1].
  static torch::Tensor lossPerToken(const torch::Tensor& logits, const torch::Tensor& ids);

  // The next-token log-probabilities after every position of one sequence: [T, V], float32 on the CPU.
  torch::Tensor logProbs(const std::vector<int64_t>& ids) const;
};

}  // namespace zs
