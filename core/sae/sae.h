#pragma once
// Attention-output SAE on hook_z (heads flattened: d_in = n_heads * d_head).
// Internal to core (torch). Maths: ../shared/docs/ATTRIBUTION.md, "Attention-output SAE".
#include <torch/torch.h>

#include <memory>
#include <string>

namespace zs {

struct SaeConfig {
  int64_t d_in = 0;
  int64_t d_sae = 0;
  std::string hook_name;           // e.g. "blocks.0.attn.hook_z"
  int64_t hook_layer = -1;         // parsed from hook_name when absent
  bool apply_b_dec_to_input = true;
  std::string activation_fn = "relu";
  std::string normalize_activations = "none";
  std::string model_name;
  std::string dtype = "float32";
  int64_t context_size = 0;
  bool flatten_heads() const;      // hook_name ends with attn.hook_z
  // cfg.json keys Zscope does not interpret, kept verbatim (a JSON object as
  // text) so that load -> save preserves the file's other fields.
  std::string extra_json = "{}";

  // cfg.json (SAELens, old or new key names) -> config; throws InputError naming
  // `nameForErrors` for anything Zscope would otherwise silently misread.
  static SaeConfig fromJsonText(const std::string& text, const std::string& nameForErrors);
  std::string toJsonText() const;  // new-style SAELens keys
};

struct ModelSpec;

struct Sae {
  SaeConfig cfg;
  torch::Tensor W_enc;  // [d_in, d_sae]
  torch::Tensor W_dec;  // [d_sae, d_in], rows unit norm
  torch::Tensor b_enc;  // [d_sae]
  torch::Tensor b_dec;  // [d_in]

  // x [..., d_in] -> pre-activations / activations [..., d_sae]
  torch::Tensor preActivations(const torch::Tensor& x) const;
  torch::Tensor encode(const torch::Tensor& x) const;  // ReLU(pre)
  torch::Tensor decode(const torch::Tensor& f) const;  // f W_dec + b_dec
  int64_t layer() const { return cfg.hook_layer; }
  void to(torch::Device d);

  // SAELens folder: cfg.json + sae_weights.safetensors. Throws InputError.
  static std::unique_ptr<Sae> loadDir(const std::string& dir, torch::Device device = torch::kCPU);
  void saveDir(const std::string& dir) const;

  // InputError unless this SAE reads hook_z of an existing layer of `model`
  // with d_in == n_head * d_head.
  void checkAgainst(const ModelSpec& model, const std::string& nameForErrors) const;
  // Identity of the weights: "fnv1a64:<16 hex digits>" over the float32 values of
  // W_enc, W_dec, b_enc, b_dec (in that order). Feature databases record it so
  // that a database is never shown against other SAEs.
  std::string fingerprint() const;
  // Fresh SAE: W_dec rows random unit vectors, W_enc = W_dec^T, biases zero.
  static std::unique_ptr<Sae> init(const SaeConfig& cfg, uint64_t seed, torch::Device device = torch::kCPU);
};

}  // namespace zs
