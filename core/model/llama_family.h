#pragma once
// LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, GemmaForCausalLM and
// Gemma2ForCausalLM, computing what transformers computes in eager mode
// (../shared/docs/MODELS.md), with TransformerLens activation names.
// Internal to core (torch): widgets/app never include this header.
//
// Weights stay in Hugging Face layout ([out, in]) in the storage dtype
// (float32, or bfloat16 for large models); every matmul upcasts its weight to
// float32, so activations are always float32.
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "core/model/hf_config.h"
#include "core/model/load.h"
#include "core/model/model.h"

namespace zs {

// One decoder layer. Norm weights are stored as the multiplier actually
// applied (Gemma: 1 + w), in float32; biases the checkpoint lacks are undefined.
struct LlamaLayerWeights {
  torch::Tensor ln1;                      // [d]          input_layernorm
  torch::Tensor q_w, q_b;                 // [H*dh, d], [H*dh]
  torch::Tensor k_w, k_b;                 // [K*dh, d], [K*dh]
  torch::Tensor v_w, v_b;                 // [K*dh, d], [K*dh]
  torch::Tensor o_w, o_b;                 // [d, H*dh], [d]
  torch::Tensor ln1_post;                 // [d]          Gemma 2 post_attention_layernorm
  torch::Tensor ln2;                      // [d]          post_attention_layernorm (Gemma 2: pre_feedforward_layernorm)
  torch::Tensor gate_w, gate_b;           // [M, d], [M]
  torch::Tensor up_w, up_b;               // [M, d], [M]
  torch::Tensor down_w, down_b;           // [d, M], [d]
  torch::Tensor ln2_post;                 // [d]          Gemma 2 post_feedforward_layernorm
};

struct LlamaWeights {
  torch::Tensor embed;    // [V, d]  model.embed_tokens.weight
  std::vector<LlamaLayerWeights> layers;
  torch::Tensor norm;     // [d]     model.norm.weight (as applied)
  torch::Tensor lm_head;  // [V, d]; undefined when tied to embed
};

class LlamaFamily : public Model {
 public:
  // Loads a Hugging Face folder (config.json + model.safetensors or an index
  // with shards). Every tensor is loaded by name with its shape checked.
  // opts.dtype "auto" keeps the weights in bfloat16 when they would take more
  // than 4 GiB in float32. Throws InputError (UsageError for a bad dtype).
  static std::unique_ptr<LlamaFamily> loadDir(const std::string& dir, const ModelLoadOptions& opts = {});
  // The spec from the config alone; `dtype` "auto" resolved as loadDir does.
  static ModelSpec specOf(const LlamaFamilyConfig& c, const std::string& dtype = "auto");
  static std::string resolveDtype(const LlamaFamilyConfig& c, const std::string& dtype);

  const ModelSpec& spec() const override { return spec_; }
  const LlamaFamilyConfig& config() const { return cfg_; }
  torch::Device device() const override { return device_; }
  void to(torch::Device device) override;

  ForwardResult forward(const torch::Tensor& ids, const ForwardOptions& opts = {}) const override;
  std::vector<std::string> hookNames() const override;

  torch::Tensor W_E() const override;
  torch::Tensor W_pos() const override { return {}; }
  torch::Tensor W_V(int64_t layer) const override;
  torch::Tensor b_V(int64_t layer) const override;
  torch::Tensor W_O(int64_t layer) const override;
  torch::Tensor b_O(int64_t layer) const override;
  torch::Tensor W_U() const override;
  torch::Tensor normWeight(const std::string& site) const override;
  torch::Tensor normBias(const std::string& site) const override;

  const LlamaWeights& weights() const { return w_; }

 private:
  LlamaFamily() = default;
  torch::Tensor rmsNorm(const torch::Tensor& x, const torch::Tensor& w, torch::Tensor* scaleOut) const;
  torch::Tensor activation(const torch::Tensor& x) const;
  torch::Tensor unembed(const torch::Tensor& x) const;

  LlamaFamilyConfig cfg_;
  ModelSpec spec_;
  LlamaWeights w_;
  torch::Device device_ = torch::kCPU;
};

}  // namespace zs
