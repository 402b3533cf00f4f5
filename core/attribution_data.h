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
  std::vector<double> v;        // hook_v [n][H][dh]
  std::vector<double> pattern;  // hook_pattern [H][n(dest)][n(src)]
  std::vector<double> z;        // hook_z [n][H*dh]
  std::vector<double> attnOut;  // hook_attn_out [n][d]; empty from the deepest SAE layer on (never a component)
  std::vector<double> mlpOut;   // hook_mlp_out [n][d]
  // Weights (Hugging Face layout, contiguous float32).
  const float* cAttnW = nullptr;  // [d][3d]: W_V[h][i][k] = cAttnW[i*3d + 2d + h*dh + k]
  const float* cAttnB = nullptr;  // [3d]
  const float* cProjW = nullptr;  // [d][d]: W_O, row = index into z
  const float* cProjB = nullptr;  // [d]
  const float* ln1W = nullptr;    // gamma [d]
  const float* ln1B = nullptr;    // beta [d]
};

struct SaeData {
  int layer = -1;
  int dSae = 0;
  bool applyBdec = true;
  // The DFA target's encoder W_t (Sae::targetEncoder; centred over d for
  // layer_norm SAEs), so that pre_g[p] = inScale[p] * z[p] . W_t[:, g] + fbias[g].
  const float* Wenc = nullptr;  // [d][dSae]
  const float* Wdec = nullptr;  // [dSae][d]
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
  std::vector<std::vector<double>> zhat;  // per position: reconstruction in hook_z space [d]
};

struct Data {
  int n = 0, L = 0, H = 0, dh = 0, d = 0;
  std::vector<int64_t> tokens;
  std::vector<std::string> tokenLabels;  // optional display strings
  std::vector<double> embed, posEmbed;   // [n][d]
  std::vector<LayerData> layers;
  std::vector<int> saeOfLayer;  // layer -> index into saes, -1 if none
  std::vector<SaeData> saes;
  std::shared_ptr<void> keepAlive;  // owns the tensors the raw pointers view

  const SaeData& sae(int layer) const;  // InputError when absent
  std::string tok(int pos) const;       // "'text'" for labels
  // W_V[l][h] (d x dh) times u (dh) -> out (d).
  void wvTimes(int l, int h, const double* u, double* out) const;
  double pat(int l, int h, int dest, int src) const {
    return layers[l].pattern[(static_cast<size_t>(h) * n + dest) * n + src];
  }
  const double* vAt(int l, int s, int h) const { return &layers[l].v[(static_cast<size_t>(s) * H + h) * dh]; }
  // Exact pre-activation of feature g (layer l) at pos from hook_z, in double.
  double pre(int l, int g, int pos) const;
  // bias_g = b_t[g] - b_dec . W_t[:, g] (second term only with apply_b_dec_to_input).
  double featureBias(int l, int g) const;
};

void checkPos(const Data& D, int pos);
void checkFeature(const Data& D, int layer, int feature);

}  // namespace zs::attr
