// Attribution on the tiny GPT-2 checkpoint agrees with independent torch
// computations from captured activations: SAE pre-activations from hook_z, DFA
// by patching value vectors, and every residual component of a DFA edge by
// re-running ln1 (scale frozen) without that component.
#include "test_attribution_util.h"
#include "tests/support/check.h"

using namespace zs;
using torch::indexing::Slice;

namespace {

struct Tiny {
  std::unique_ptr<Gpt2> model;
  std::unique_ptr<Sae> sae0, sae1;
  std::vector<int64_t> tokens = {376, 10, 200, 35, 10, 200, 7, 99, 35, 150, 3};
  ActivationCache cache;  // everything, double, batch dropped
};

Tiny loadTiny(const std::string& shared) {
  Tiny t;
  t.model = Gpt2::loadDir(shared + "/testdata/tiny-gpt2");
  t.sae0 = test::randomSae(0, 64, 128, true, 11);
  t.sae1 = test::randomSae(1, 64, 128, false, 12);
  torch::NoGradGuard ng;
  ForwardOptions o;
  o.capture = Capture::all();
  auto fr = t.model->forward(torch::tensor(t.tokens).unsqueeze(0), o);
  for (auto& [k, v] : fr.cache) t.cache[k] = v.select(0, 0).to(torch::kDouble);
  return t;
}

torch::Tensor dbl(const torch::Tensor& x) { return x.detach().to(torch::kDouble); }

// SAE pre-activations in double: z [..., 64] -> [..., d_sae].
torch::Tensor preOf(const Sae& s, const torch::Tensor& z) {
  torch::Tensor x = s.cfg.apply_b_dec_to_input ? z - dbl(s.b_dec) : z;
  return torch::matmul(x, dbl(s.W_enc)) + dbl(s.b_enc);
}

// v of head h at layer l from a residual vector x with the ln1 scale frozen at sigma.
torch::Tensor frozenV(const Gpt2& m, int l, int h, const torch::Tensor& x, double sigma) {
  const auto& lw = m.weights().layers[l];
  torch::Tensor xn = (x - x.mean()) / sigma * dbl(lw.ln1_w) + dbl(lw.ln1_b);
  return torch::matmul(xn, dbl(m.W_V(l)[h])) + dbl(m.b_V(l)[h]);
}

double rel(double a, double b, double scale) { return std::fabs(a - b) / std::max(scale, 1e-6); }

void sourceComponentsRow(const std::string& shared, bool layer0Sae) {
  Tiny t = loadTiny(shared);
  std::vector<const Sae*> saes = {t.sae1.get()};
  if (layer0Sae) saes.push_back(t.sae0.get());
  Attribution a(*t.model, saes, t.tokens);
  const int dest = 10;
  int g = -1;
  for (const auto& af : a.activeFeatures(dest))
    if (af.layer == 1 && g < 0) g = af.feature;
  ZS_CHECK(g >= 0);
  AttrNode root = a.tree(1, g, dest, 2, 0);
  torch::Tensor w = dbl(t.sae1->W_enc).index({Slice(), g}).reshape({4, 16});
  int checkedSources = 0;
  for (const AttrNode& src : root.children) {
    if (src.kind != "source" || checkedSources >= 6) continue;
    const int s = src.pos, h = src.head;
    const double A = t.cache["blocks.1.attn.hook_pattern"][h][dest][s].item<double>();
    const double sigma = t.cache["blocks.1.ln1.hook_scale"][s][0].item<double>();
    torch::Tensor resid = t.cache["blocks.1.hook_resid_pre"][s];
    // The premises: the residual is the sum of its components; frozen ln1 gives hook_v.
    torch::Tensor sum = t.cache["hook_embed"][s] + t.cache["hook_pos_embed"][s] + t.cache["blocks.0.hook_attn_out"][s] +
                        t.cache["blocks.0.hook_mlp_out"][s];
    ZS_CHECK((sum - resid).abs().max().item<double>() < 1e-5);
    ZS_CHECK((frozenV(*t.model, 1, h, resid, sigma) - t.cache["blocks.1.attn.hook_v"][s][h]).abs().max().item<double>() < 1e-5);
    auto brute = [&](const torch::Tensor& o) {
      torch::Tensor dv = frozenV(*t.model, 1, h, resid, sigma) - frozenV(*t.model, 1, h, resid - o, sigma);
      return A * torch::dot(dv, w[h]).item<double>();
    };
    const double scale = std::max(1e-3, std::fabs(src.value));
    double attn0 = 0, lnBias = 0, embed = 0, pos = 0, mlp = 0;
    for (const AttrNode& c : src.children) {
      if (c.kind == "embed") embed = c.value;
      else if (c.kind == "pos_embed") pos = c.value;
      else if (c.kind == "mlp") mlp = c.value;
      else if (c.kind == "bias" && c.layer == 1) lnBias = c.value;
      else attn0 += c.value;  // attn_feature / attn_error / attn_head / layer-0 attn bias
    }
    ZS_CHECK(rel(embed, brute(t.cache["hook_embed"][s]), scale) < 1e-5);
    ZS_CHECK(rel(pos, brute(t.cache["hook_pos_embed"][s]), scale) < 1e-5);
    ZS_CHECK(rel(mlp, brute(t.cache["blocks.0.hook_mlp_out"][s]), scale) < 1e-5);
    ZS_CHECK(rel(attn0, brute(t.cache["blocks.0.hook_attn_out"][s]), scale) < 1e-5);
    const double constant = A * torch::dot(frozenV(*t.model, 1, h, torch::zeros({64}, torch::kDouble), sigma), w[h]).item<double>();
    ZS_CHECK(rel(lnBias, constant, scale) < 1e-5);
    // The finest split: each upstream feature / head on its own.
    torch::Tensor WO = dbl(t.model->W_O(0));  // [H, dh, d]
    for (const AttrNode& c : src.children) {
      torch::Tensor o;
      if (c.kind == "attn_feature") {
        torch::Tensor zg = c.activation * dbl(t.sae0->W_dec[c.feature]).reshape({4, 16});
        o = torch::einsum("hk,hkd->d", {zg, WO});
        ZS_CHECK(std::fabs(c.activation - a.preActivation(0, c.feature, s)) < 1e-12);
      } else if (c.kind == "attn_head") {
        o = torch::matmul(t.cache["blocks.0.attn.hook_z"][s][c.head], WO[c.head]);
      } else {
        continue;
      }
      ZS_CHECK_MSG(rel(c.value, brute(o), scale) < 1e-5, c.label);
    }
    ++checkedSources;
  }
  ZS_CHECK_EQ(checkedSources, 6);
}

}  // namespace

ZS_TEST(preActivationsMatchEncoder) {
  ZS_REQUIRE_SHARED(shared);
  Tiny t = loadTiny(shared);
  Attribution a(*t.model, {t.sae0.get(), t.sae1.get()}, t.tokens);
  for (int l = 0; l < 2; ++l) {
    const Sae& s = l == 0 ? *t.sae0 : *t.sae1;
    torch::Tensor ref = preOf(s, t.cache["blocks." + std::to_string(l) + ".attn.hook_z"].reshape({11, 64}));
    std::vector<float> pre = a.preActivations(l);
    double worst = 0;
    for (int p = 0; p < 11; ++p)
      for (int g = 0; g < 128; ++g) {
        const double want = ref[p][g].item<double>();
        worst = std::max(worst, std::fabs(pre[p * 128 + g] - want));
        worst = std::max(worst, std::fabs(a.preActivation(l, g, p) - want));
      }
    ZS_CHECK_MSG(worst < 1e-5, zs::test::cat(worst));
  }
}

ZS_TEST(dfaMatchesValuePatching) {
  ZS_REQUIRE_SHARED(shared);
  Tiny t = loadTiny(shared);
  Attribution a(*t.model, {t.sae0.get(), t.sae1.get()}, t.tokens);
  for (int l = 0; l < 2; ++l) {
    const Sae& s = l == 0 ? *t.sae0 : *t.sae1;
    const std::string b = "blocks." + std::to_string(l) + ".attn.";
    torch::Tensor v = t.cache[b + "hook_v"], pat = t.cache[b + "hook_pattern"];  // [T,H,dh], [H,T,T]
    for (int dest : {4, 10}) {
      const auto active = a.activeFeatures(dest);
      int g = 0;
      for (const auto& af : active)
        if (af.layer == l) { g = af.feature; break; }
      Dfa r = a.dfa(l, g, dest);
      auto zAt = [&](const torch::Tensor& vv) {  // z[dest] flattened from pattern and values
        return torch::einsum("hs,shk->hk", {pat.index({Slice(), dest}), vv}).reshape({64});
      };
      const double full = preOf(s, zAt(v))[g].item<double>();
      ZS_CHECK(rel(full, r.preActivation, 1.0) < 1e-5);
      for (const auto& term : r.terms) {
        torch::Tensor vp = v.clone();
        vp[term.pos][term.head].zero_();
        const double brute = full - preOf(s, zAt(vp))[g].item<double>();
        ZS_CHECK_MSG(rel(term.value, brute, std::max(1.0, std::fabs(full))) < 1e-6,
                 zs::test::cat("L", l, " s", term.pos, " h", term.head, ": ", term.value, " vs ", brute));
      }
    }
  }
}

ZS_TEST(sourceComponentsMatchFrozenLayerNorm) {
  ZS_REQUIRE_SHARED(shared);
  for (const auto& [name, layer0Sae] : {std::pair<const char*, bool>{"layer 0 by SAE", true},
                                        std::pair<const char*, bool>{"layer 0 by head", false}}) {
    ZS_CONTEXT(std::string("row ") + name);
    sourceComponentsRow(shared, layer0Sae);
  }
}
