#pragma once
// Internal to the attribution code: one prompt's forward cache as plain double
// arrays plus raw views of the weights (float32, owned by torch tensors that
// `keepAlive` holds). Torch-free so that the DFA / tree maths compiles fast and
// runs without per-op dispatch overhead (nodes are small: d, d_head vectors).
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace zs::attr {

struct LayerData {
  // Activations of this prompt (batch dimension dropped).
  std::vector<double> scale;    // ln1.hook_scale [n]
  std::vector<double> v;        // hook_v [n][K][dh]
  std::vector<double> pattern;  // hook_pattern [H][n(dest)][n(src)]
  std::vector<double> z;        // hook_z [n][dz]
  std::vector<double> mlpOut;   // hook_mlp_out [n][d]
  // Weights (TransformerLens layout, contiguous float32; null where the model has none).
  const float* Wv = nullptr;     // W_V [K][d][dh]
  const float* bV = nullptr;     // b_V [K][dh]
  const float* Wo = nullptr;     // W_O [H*dh][d], row = index into z
  const float* bO = nullptr;     // b_O [d]
  const float* normW = nullptr;  // ln1's effective weight [d] (Gemma: 1 + w)
  const float* normB = nullptr;  // ln1's bias [d] (LayerNorm only)
  // Gemma 2's post-attention norm between z W_O and the residual stream, its
  // scale frozen: attn_out = (z W_O) / postScale[pos] * postW. Null/empty otherwise.
  const float* postW = nullptr;   // ln1_post's effective weight [d]
  std::vector<double> postScale;  // ln1_post.hook_scale [n]
};

struct SaeData {
  int layer = -1;
  int dSae = 0;
  bool applyBdec = true;
  // The DFA target's encoder W_t (Sae::targetEncoder; centred over dz for
  // layer_norm SAEs), so that pre_g[p] = inScale[p] * z[p] . W_t[:, g] + fbias[g].
  const float* Wenc = nullptr;  // [dz][dSae]
  const float* Wdec = nullptr;  // [dSae][dz]
  std::vector<double> benc, bdec;
  std::vector<double> fbias;    // [dSae] b_t - b_dec . W_t (second term only with apply_b_dec_to_input)
  std::vector<double> inScale;  // [n] input normalisation factor, frozen per token (1 without)
  std::vector<double> outScale, outShift;  // [n] decoded vector -> hook_z space: x * outScale + outShift
  std::vector<double> decCoef;  // [dSae] f_g's coefficient on W_dec[g] (1 / ||W_dec[g]|| with rescaling, else 1)
  // Gated SAEs: the gate's DFA is the magnitude DFA times gateCoef[g] (exp(-r_mag)) plus gateBias[g].
  bool gated = false;
  std::vector<double> gateCoef, gateBias;
  std::vector<float> pre;  // [n][dSae], float32 target pre-activations from the encoder
  std::vector<float> act;  // [n][dSae], float32 activations (the architecture's real activation)
  // Per position: active features (g, f_g) with f_g recomputed in double, by f_g descending.
  std::vector<std::vector<std::pair<int, double>>> active;
  std::vector<std::vector<double>> zhat;  // per position: reconstruction in hook_z space [dz]
};

struct Data {
  // d: residual width; dz = H*dh: hook_z width (an SAE's d_in; == d for GPT-2).
  // K: key/value heads (== H without grouped-query attention).
  int n = 0, L = 0, H = 0, K = 0, dh = 0, d = 0, dz = 0;
  bool centre = true;  // ln1 subtracts the mean (LayerNorm); RMSNorm does not
  std::vector<int64_t> tokens;
  std::vector<std::string> tokenLabels;  // optional display strings
  std::vector<uint8_t> blank;            // optional: token at each position is whitespace only
  bool blankAt(int pos) const { return static_cast<size_t>(pos) < blank.size() && blank[pos]; }
  std::vector<double> embed, posEmbed;   // [n][d]; posEmbed empty without learned positions
  std::vector<LayerData> layers;
  std::vector<int> saeOfLayer;  // layer -> index into saes, -1 if none
  std::vector<SaeData> saes;
  std::shared_ptr<void> keepAlive;  // owns the tensors the raw pointers view

  const SaeData& sae(int layer) const;  // InputError when absent
  std::string tok(int pos) const;       // "'text'" for labels
  // W_V of query head h's key/value group (d x dh) times u (dh) -> out (d).
  void wvTimes(int l, int h, const double* u, double* out) const;
  int kvOf(int h) const { return h / (H / K); }
  double pat(int l, int h, int dest, int src) const {
    return layers[l].pattern[(static_cast<size_t>(h) * n + dest) * n + src];
  }
  // The value vector query head h reads at position s (its key/value group's).
  const double* vAt(int l, int s, int h) const { return &layers[l].v[(static_cast<size_t>(s) * K + kvOf(h)) * dh]; }
  // Exact pre-activation of feature g (layer l) at pos from hook_z, in double.
  double pre(int l, int g, int pos) const;
  // bias_g = b_t[g] - b_dec . W_t[:, g] (second term only with apply_b_dec_to_input).
  double featureBias(int l, int g) const;
};

void checkPos(const Data& D, int pos);
void checkFeature(const Data& D, int layer, int feature);

}  // namespace zs::attr
