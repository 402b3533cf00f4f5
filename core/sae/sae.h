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
  // standard | gated | jumprelu | topk (SAE-FORMATS.md). BatchTopK SAEs load as
  // jumprelu with one threshold for all features.
  std::string architecture = "standard";
  int64_t k = 0;                              // topk: features kept per token
  bool rescale_acts_by_decoder_norm = false;  // topk: select on pre * ||W_dec[j]||
  // none | constant_norm_rescale | layer_norm | expected_average_only_in (the
  // last needs nothing at inference: a training checkpoint's activation_scaler.json
  // is folded into the weights on load).
  std::string normalize_activations = "none";
  std::string layout = "legacy";   // cfg.json layout written by saveDir: legacy (flat) | saelens6
  std::string model_name;
  std::string dtype = "float32";
  int64_t context_size = 0;
  bool flatten_heads() const;      // hook_name ends with attn.hook_z
  // cfg.json keys Zscope does not interpret, kept verbatim (a JSON object as
  // text) so that load -> save preserves the file's other fields (for the
  // saelens6 layout, the metadata block's other fields under "metadata").
  std::string extra_json = "{}";

  // cfg.json (SAELens, legacy flat or SAELens 6 layout) -> config; throws InputError
  // naming `nameForErrors` for anything Zscope would otherwise silently misread.
  static SaeConfig fromJsonText(const std::string& text, const std::string& nameForErrors);
  std::string toJsonText() const;  // in `layout`
};

struct ModelSpec;

// One forward pass through the SAE with every SAELens hook point (HookedSAETransformer
// names: hook_sae_input, _acts_pre, _acts_post, _recons, _output, _error), [..., d_in|d_sae].
struct SaeForward {
  torch::Tensor input;     // x as given (before normalisation)
  torch::Tensor actsPre;   // what SAELens's hook_sae_acts_pre sees (topk: before the rescale)
  torch::Tensor target;    // the DFA target pre-activation (equals acts_post where a feature fires)
  torch::Tensor actsPost;  // feature activations f
  torch::Tensor recons;    // f W_dec + b_dec (normalised space)
  torch::Tensor output;    // recons with the normalisation undone
  torch::Tensor error;     // input - output
};

struct Sae {
  SaeConfig cfg;
  torch::Tensor W_enc;  // [d_in, d_sae]
  torch::Tensor W_dec;  // [d_sae, d_in]
  torch::Tensor b_enc;  // [d_sae]; gated: b_gate (the gate's bias)
  torch::Tensor b_dec;  // [d_in]
  torch::Tensor threshold;     // jumprelu: [d_sae]
  torch::Tensor b_mag, r_mag;  // gated: [d_sae] each (b_enc holds b_gate)
  torch::Tensor sparsity;      // log10 feature density [d_sae] from sparsity.safetensors; undefined when absent

  // x [..., d_in] -> [..., d_sae]. preActivations is the DFA target: the affine
  // pre-activation that equals the activation wherever the feature fires
  // (standard/jumprelu/topk: x'W_enc + b_enc, times ||W_dec[j]|| with rescaling;
  // gated: the magnitude path).
  torch::Tensor preActivations(const torch::Tensor& x) const;
  torch::Tensor encode(const torch::Tensor& x) const;  // feature activations
  // Activations from target pre-activations (and, for gated SAEs, gate pre-activations).
  torch::Tensor activate(const torch::Tensor& target, const torch::Tensor& gatePre = {}) const;
  torch::Tensor decode(const torch::Tensor& f) const;  // f W_dec + b_dec (rescaled SAEs divide f by ||W_dec[j]||)
  // decode(encode(x)) with the input normalisation undone.
  torch::Tensor reconstruct(const torch::Tensor& x) const;
  // d output / d f_j on inputs x [..., d_in] -> [..., d_in]: how the reconstruction
  // (in the input's space) moves per unit of feature j's activation. W_dec[j]
  // (over ||W_dec[j]|| for rescaled topk SAEs) with the per-token input
  // normalisation undone. output is affine in f, so editing f_j by d changes it
  // by exactly d * decoderDirection (interventions, core/intervention).
  torch::Tensor decoderDirection(const torch::Tensor& x, int64_t j) const;
  SaeForward forward(const torch::Tensor& x) const;
  // Input normalisation: x' = (x - shift) * scale per token ([..., 1] each;
  // shift is zero except for layer_norm). Frozen per token for attribution.
  void normalisation(const torch::Tensor& x, torch::Tensor& scale, torch::Tensor& shift) const;
  // The target pre-activation is x' W_t + b_t - (b_dec . W_t when applied):
  torch::Tensor targetEncoder() const;  // W_t [d_in, d_sae]
  torch::Tensor targetBias() const;     // b_t [d_sae]
  // The gate of a gated SAE: gate = x' W_enc + b_enc (b_gate); it scales the
  // magnitude path's per-input terms by exp(-r_mag).
  bool gated() const { return cfg.architecture == "gated"; }
  int64_t layer() const { return cfg.hook_layer; }
  void to(torch::Device d);
  // Throws InputError (naming nameForErrors) when extras are missing or misshaped, k > d_sae, ...
  void validate(const std::string& nameForErrors) const;

  // SAELens folder (cfg.json + sae_weights.safetensors [+ sparsity.safetensors,
  // activation_scaler.json]) or a Gemma Scope folder / params.npz. Throws InputError.
  // `hook` overrides the hook for Gemma Scope files whose path does not name it.
  static std::unique_ptr<Sae> loadDir(const std::string& dir, torch::Device device = torch::kCPU,
                                      const std::string& hook = "");
  static std::unique_ptr<Sae> loadGemmaScope(const std::string& npzPath, const std::string& hook = "");
  void saveDir(const std::string& dir) const;

  // InputError unless this SAE reads hook_z of an existing layer of `model`
  // with d_in == n_head * d_head.
  void checkAgainst(const ModelSpec& model, const std::string& nameForErrors) const;
  // Identity of the weights: "fnv1a64:<16 hex digits>" over the float32 values of
  // W_enc, W_dec, b_enc, b_dec (in that order), then any extras (threshold, b_mag,
  // r_mag). Feature databases record it so that a database is never shown
  // against other SAEs.
  std::string fingerprint() const;
  // Fresh SAE: W_dec rows random unit vectors, W_enc = W_dec^T, biases zero
  // (jumprelu: threshold 0; gated: b_mag, r_mag 0).
  static std::unique_ptr<Sae> init(const SaeConfig& cfg, uint64_t seed, torch::Device device = torch::kCPU);
};

}  // namespace zs
