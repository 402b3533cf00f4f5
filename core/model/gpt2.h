#pragma once
// GPT-2 in LibTorch, the first implementation of Model (core/model/model.h),
// one code path for inference and training. Internal to core (includes torch).
// Activation sites (TransformerLens names, batch dimension first):
//   hook_embed, hook_pos_embed, blocks.{l}.hook_resid_pre        [B, T, d]
//   blocks.{l}.ln1.hook_scale, blocks.{l}.ln2.hook_scale,
//   ln_final.hook_scale                                          [B, T, 1]
//   blocks.{l}.attn.hook_q / hook_k / hook_v / hook_z            [B, T, H, dh]
//   blocks.{l}.attn.hook_pattern                                 [B, H, Tq, Tk]
//   blocks.{l}.hook_attn_out, hook_resid_mid, hook_mlp_out,
//   hook_resid_post                                              [B, T, d]
//   blocks.{l}.mlp.hook_pre / hook_post                          [B, T, d_mlp]
//   logits                                                       [B, T, vocab]
#include <torch/torch.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/model/model.h"
#include "core/model/model_config.h"

namespace zs {

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

class Gpt2 : public Model {
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
  static ModelSpec specOf(const Gpt2Config& cfg);
  const ModelSpec& spec() const override { return spec_; }
  torch::Device device() const override { return device_; }
  void to(torch::Device device) override;
  std::vector<std::string> hookNames() const override;

  Gpt2Weights& weights() { return w_; }
  const Gpt2Weights& weights() const { return w_; }
  // Hugging Face names ("transformer.h.0.attn.c_attn.weight", ...) -> tensors.
  std::vector<std::pair<std::string, torch::Tensor>> namedParameters() const;
  std::vector<torch::Tensor> parameters() const;
  void setRequiresGrad(bool on);

  // ids: [B, T] int64 on any device (moved to the model's device). T must be
  // <= n_positions and ids < vocab_size (InputError otherwise). Autograd
  // follows the caller's grad mode: wrap inference in torch::InferenceMode.
  ForwardResult forward(const torch::Tensor& ids, const ForwardOptions& opts = {}) const override;

  // TransformerLens-layout views of the weights (no copies where possible).
  torch::Tensor W_Q(int64_t l) const;  // [H, d, dh]
  torch::Tensor W_K(int64_t l) const;  // [H, d, dh]
  torch::Tensor W_V(int64_t l) const override;  // [H, d, dh]
  torch::Tensor b_Q(int64_t l) const;  // [H, dh]
  torch::Tensor b_K(int64_t l) const;  // [H, dh]
  torch::Tensor b_V(int64_t l) const override;  // [H, dh]
  torch::Tensor W_O(int64_t l) const override;  // [H, dh, d]
  torch::Tensor b_O(int64_t l) const override;  // [d]
  torch::Tensor W_U() const override;           // [d, vocab]
  torch::Tensor W_E() const override { return w_.wte; }   // [vocab, d]
  torch::Tensor W_pos() const override { return w_.wpe; } // [n_positions, d]
  torch::Tensor normWeight(const std::string& site) const override;
  torch::Tensor normBias(const std::string& site) const override;

  // LayerNorm as TransformerLens computes it; returns normalised*w+b and the
  // scale sqrt(var + eps) [.., 1].
  torch::Tensor layerNorm(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b,
                          torch::Tensor* scaleOut = nullptr) const;
  static torch::Tensor geluNew(const torch::Tensor& x);

 private:
  Gpt2() = default;
  void makeSpec() { spec_ = specOf(cfg_); }
  // LayerNorm weight and bias of a site name ("blocks.L.ln1", "blocks.L.ln2", "ln_final").
  std::pair<const torch::Tensor*, const torch::Tensor*> normWeights(const std::string& site) const;
  Gpt2Config cfg_;
  ModelSpec spec_;
  Gpt2Weights w_;
  torch::Device device_ = torch::kCPU;
};


}  // namespace zs
