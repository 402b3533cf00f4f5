#pragma once
// GPT-2 in LibTorch, one code path for inference and training. Internal to core
// (includes torch): widgets/app never include this header.
//
// Activation sites carry TransformerLens names (unprocessed model: no LayerNorm
// folding or centring), named in the forward pass itself; a Capture decides
// which are kept. hook_z of any layer can be replaced by a ZHook (SAE
// reconstruction, zero ablation, patching).
#include <torch/torch.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/model_config.h"

namespace zs {

// Which activation sites to keep. Patterns are exact TransformerLens names or
// globs with '*' (e.g. "blocks.*.attn.hook_z"). Captured tensors have a leading
// batch dimension, as in TransformerLens:
//   hook_embed, hook_pos_embed, blocks.{l}.hook_resid_pre        [B, T, d]
//   blocks.{l}.ln1.hook_scale, blocks.{l}.ln2.hook_scale,
//   ln_final.hook_scale                                          [B, T, 1]
//   blocks.{l}.attn.hook_q / hook_k / hook_v / hook_z            [B, T, H, dh]
//   blocks.{l}.attn.hook_pattern                                 [B, H, Tq, Tk]
//   blocks.{l}.hook_attn_out, hook_resid_mid, hook_mlp_out,
//   hook_resid_post                                              [B, T, d]
//   blocks.{l}.mlp.hook_pre / hook_post                          [B, T, d_mlp]
//   logits                                                       [B, T, vocab]
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
// Every activation-site name of a model with n_layer layers, in forward order.
std::vector<std::string> allHookNames(int64_t nLayer);

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

struct ForwardResult {
  torch::Tensor logits;   // [B, T, vocab]; undefined when stopped early
  ActivationCache cache;  // captured sites (views/copies; detached only if the caller asked for no grad)
};

// Weights in Hugging Face layout (Conv1D weights stored [in, out]).
struct Gpt2LayerWeights {
  torch::Tensor ln1_w, ln1_b;       // [d]
  torch::Tensor c_attn_w, c_attn_b; // [d, 3d], [3d]  (q | k | v, heads contiguous)
  torch::Tensor c_proj_w, c_proj_b; // [d, d], [d]
  torch::Tensor ln2_w, ln2_b;       // [d]
  torch::Tensor fc_w, fc_b;         // [d, d_mlp], [d_mlp]
  torch::Tensor mlp_proj_w, mlp_proj_b;  // [d_mlp, d], [d]
};

struct Gpt2Weights {
  torch::Tensor wte;    // [vocab, d]
  torch::Tensor wpe;    // [n_positions, d]
  std::vector<Gpt2LayerWeights> layers;
  torch::Tensor lnf_w, lnf_b;  // [d]
  torch::Tensor lm_head;       // [vocab, d]; undefined when tied to wte
};

class Gpt2 {
 public:
  // Loads a Hugging Face GPT-2 folder (config.json + model.safetensors):
  // names with or without "transformer.", attn.bias/masked_bias ignored,
  // lm_head tied or separate, F32/F16/BF16 weights (computed in F32). Every
  // tensor is loaded by name with its shape checked. Throws InputError.
  static std::unique_ptr<Gpt2> loadDir(const std::string& dir, torch::Device device = torch::kCPU);
  // Fresh GPT-2-style initialisation (normal(0, 0.02), residual projections
  // scaled by 1/sqrt(2 n_layer)), deterministic for a seed.
  static std::unique_ptr<Gpt2> init(const Gpt2Config& cfg, uint64_t seed, torch::Device device = torch::kCPU);

  // Writes config.json and model.safetensors (F32, "transformer." names, tied
  // lm_head omitted) atomically. Tokenizer files are the caller's business.
  void saveDir(const std::string& dir) const;

  const Gpt2Config& config() const { return cfg_; }
  torch::Device device() const { return device_; }
  void to(torch::Device device);

  Gpt2Weights& weights() { return w_; }
  const Gpt2Weights& weights() const { return w_; }
  // Hugging Face names ("transformer.h.0.attn.c_attn.weight", ...) -> tensors.
  std::vector<std::pair<std::string, torch::Tensor>> namedParameters() const;
  std::vector<torch::Tensor> parameters() const;
  void setRequiresGrad(bool on);

  // ids: [B, T] int64 on any device (moved to the model's device). T must be
  // <= n_positions and ids < vocab_size (InputError otherwise). Autograd
  // follows the caller's grad mode: wrap inference in torch::InferenceMode.
  ForwardResult forward(const torch::Tensor& ids, const ForwardOptions& opts = {}) const;

  // Next-token cross-entropy per position: logits [B, T, V], ids [B, T] -> [B, T-1].
  static torch::Tensor lossPerToken(const torch::Tensor& logits, const torch::Tensor& ids);

  // TransformerLens-layout views of the weights (no copies where possible).
  torch::Tensor W_Q(int64_t l) const;  // [H, d, dh]
  torch::Tensor W_K(int64_t l) const;  // [H, d, dh]
  torch::Tensor W_V(int64_t l) const;  // [H, d, dh]
  torch::Tensor b_Q(int64_t l) const;  // [H, dh]
  torch::Tensor b_K(int64_t l) const;  // [H, dh]
  torch::Tensor b_V(int64_t l) const;  // [H, dh]
  torch::Tensor W_O(int64_t l) const;  // [H, dh, d]
  torch::Tensor b_O(int64_t l) const;  // [d]
  torch::Tensor W_U() const;           // [d, vocab]
  torch::Tensor W_E() const { return w_.wte; }   // [vocab, d]
  torch::Tensor W_pos() const { return w_.wpe; } // [n_positions, d]

  // LayerNorm as TransformerLens computes it; returns normalised*w+b and the
  // scale sqrt(var + eps) [.., 1].
  torch::Tensor layerNorm(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b,
                          torch::Tensor* scaleOut = nullptr) const;
  static torch::Tensor geluNew(const torch::Tensor& x);

 private:
  Gpt2() = default;
  Gpt2Config cfg_;
  Gpt2Weights w_;
  torch::Device device_ = torch::kCPU;
};

// Converts "1,2,3" into ids; throws UsageError on bad syntax.
std::vector<int64_t> parseIdList(const std::string& s);

}  // namespace zs
