// Finishing the feature database: the stored examples are re-run through the
// model (hook_z, hook_pattern, hook_v) for per-token activations and DFA; then
// logit effects, head attribution and family suggestions; everything written.
// Maths: ../shared/docs/ATTRIBUTION.md (DFA, head attribution, families).
#include <algorithm>
#include <cmath>
#include <set>

#include "core/attribution/attribution.h"
#include "core/attribution/dfa_kernel.h"
#include "core/db/family_numbers.h"
#include "core/db/builder_internal.h"
#include "core/db/db.h"
#include "core/db/features.h"
#include "core/text/tokenizer.h"

namespace zs::db {
namespace {

using torch::indexing::Slice;

struct ExampleRef {
  size_t layerIdx = 0;
  int64_t feature = 0;
  FeatureExample ex;  // kind, bucket, rank, window, activation filled from the pass
};

// Family numbers of the top examples: zs::DfaMass and zs::FamilyAccumulator, the
// rule the explorer applies (core/attribution.h).
std::string display(const Tokenizer* tok, int64_t id) {
  return tok ? tok->displayString(id) : "<" + std::to_string(id) + ">";
}

// Fills per-token activations and the DFA argmax for examples of one layer in one batch of windows.
void examplesOfLayer(std::vector<ExampleRef*>& refs, const LayerState& ls, const ForwardResult& r,
                     const std::map<int64_t, int64_t>& rowOfWindow, int64_t B, int64_t T, const ModelSpec& cfg,
                     std::vector<FamilyAccumulator>& fam, const std::map<int64_t, std::vector<int32_t>>& windows,
                     const Tokenizer* tok) {
  const std::string p = "blocks." + std::to_string(ls.layer) + ".attn.";
  const int64_t H = cfg.nHead, dh = cfg.dHead;
  torch::Tensor f = ls.sae->encode(r.cache.at(p + "hook_z").reshape({B, T, -1}));  // [B, T, dSae]
  torch::Tensor v = r.cache.at(p + "hook_v").to(torch::kCPU, torch::kFloat32).contiguous();        // [B, T, K, dh]
  torch::Tensor pat = r.cache.at(p + "hook_pattern").to(torch::kCPU, torch::kFloat32).contiguous();  // [B, H, T, T]
  const int64_t K = v.size(2);
  const int64_t chunk = 256;
  for (size_t c0 = 0; c0 < refs.size(); c0 += chunk) {
    const size_t c1 = std::min(refs.size(), c0 + chunk);
    const int64_t E = static_cast<int64_t>(c1 - c0);
    std::vector<int64_t> bi, ji;
    for (size_t k = c0; k < c1; ++k) {
      bi.push_back(rowOfWindow.at(refs[k]->ex.window));
      ji.push_back(refs[k]->feature);
    }
    auto dev = f.device();
    torch::Tensor b = torch::tensor(bi, torch::kInt64).to(dev), j = torch::tensor(ji, torch::kInt64).to(dev);
    torch::Tensor acts = f.permute({0, 2, 1}).index({b, j}).clone();  // [E, T]
    acts.index_put_({Slice(), 0}, 0.0f);                              // BOS is not shown as firing
    torch::Tensor maxPos = acts.index({Slice(), Slice(1)}).argmax(1) + 1;  // [E]
    // DFA of the architecture's target pre-activation (SAE-FORMATS.md): W_t =
    // targetEncoder(), centred for layer_norm inputs; the per-token input scale
    // is a positive factor at the destination and changes neither shares nor argmax.
    torch::Tensor wt = ls.sae->targetEncoder();
    if (ls.sae->cfg.normalize_activations == "layer_norm") wt = wt - wt.mean(0, true);
    torch::Tensor wSel = wt.index({Slice(), j}).t().to(torch::kCPU, torch::kDouble).contiguous();  // [E, H*dh]
    torch::Tensor actsC = acts.cpu(), mpC = maxPos.cpu();
    auto mA = mpC.accessor<int64_t, 1>();
    std::vector<double> dfaBuf(static_cast<size_t>(T) * H);
    for (int64_t e = 0; e < E; ++e) {
      FeatureExample& x = refs[c0 + e]->ex;
      x.activations.assign(actsC[e].data_ptr<float>(), actsC[e].data_ptr<float>() + T);
      x.maxPos = static_cast<int>(mA[e]);
      const int d = x.maxPos;
      // DFA[s, h] at the max position: the one DFA kernel (core/attribution/dfa_kernel.h).
      const float* vb = v.data_ptr<float>() + static_cast<size_t>(bi[e]) * T * K * dh;
      const float* pb = pat.data_ptr<float>() + static_cast<size_t>(bi[e]) * H * T * T;
      attr::dfaTermsInto<float>(
          d, static_cast<int>(H), static_cast<int>(K), static_cast<int>(dh),
          [&](int s, int k) { return vb + (static_cast<size_t>(s) * K + k) * dh; },
          [&](int h, int dd, int s) { return pb[(static_cast<size_t>(h) * T + dd) * T + s]; },
          wSel[e].data_ptr<double>(), 1.0, dfaBuf.data());
      float best = -INFINITY;
      DfaMass m;
      const auto& toks = windows.at(x.window);
      const bool destBlank = tok && tok->isBlank(toks[d]);
      for (int s = 0; s <= d; ++s) {
        double ms = 0;
        for (int h = 0; h < H; ++h) {
          const float val = static_cast<float>(dfaBuf[static_cast<size_t>(s) * H + h]);
          if (val > best) {
            best = val;
            x.dfaSource = s;
            x.dfaHead = h;
          }
          ms += std::fabs(val);
        }
        m.add(ms, s, d, inductionSource(toks, s, d, destBlank));
      }
      x.dfaValue = best;
      if (x.kind == "top") {
        FamilyAccumulator& acc = fam[static_cast<size_t>(refs[c0 + e]->feature)];
        acc.add(m, x.activation);
        acc.addPosition(d, x.activation);
        acc.addExampleTokens(toks[d], x.dfaSource >= 0 ? toks[x.dfaSource] : -1);
      }
    }
  }
}

void classify(const FamilyAccumulator& a, FeatureStats& s) {
  if (a.n == 0) {
    s.family = "";
    s.familyNumbers = nullptr;
    return;
  }
  const FamilySuggestion f = a.result();
  s.family = f.family;
  s.familyNumbers = familyNumbersJson(f, a.n);
}

}  // namespace

void finishBuild(Db& db, const BuildState& st, const BuildInputs& in, const BuildOptions& opts,
                 const Progress& progress) {
  torch::InferenceMode guard;
  const Model& model = *in.model;
  const auto& cfg = model.spec();
  const int64_t H = cfg.nHead, dh = cfg.dHead;

  // 1. The examples to store, best first per feature.
  std::vector<ExampleRef> exs;
  for (size_t li = 0; li < st.layers.size(); ++li) {
    const auto& ls = st.layers[li];
    for (int64_t j = 0; j < ls.dSae; ++j) {
      auto top = ls.top[static_cast<size_t>(j)];
      std::sort(top.begin(), top.end(), better);
      for (size_t r = 0; r < top.size(); ++r) {
        ExampleRef e{li, j, {}};
        e.ex.kind = "top";
        e.ex.rank = static_cast<int>(r);
        e.ex.window = top[r].window;
        e.ex.activation = top[r].act;
        exs.push_back(e);
      }
    }
    for (int64_t k = 0; k < static_cast<int64_t>(ls.quant.size()); ++k) {
      auto q = ls.quant[static_cast<size_t>(k)];
      std::sort(q.begin(), q.end(), better);  // shown largest first within a bucket
      for (size_t r = 0; r < q.size(); ++r) {
        ExampleRef e{li, k / kQuantBuckets, {}};
        e.ex.kind = "quantile";
        e.ex.bucket = static_cast<int>(k % kQuantBuckets);
        e.ex.rank = static_cast<int>(r);
        e.ex.window = q[r].window;
        e.ex.activation = q[r].act;
        exs.push_back(e);
      }
    }
  }
  // 2. Re-run the windows they come from, a batch at a time.
  std::map<int64_t, std::vector<ExampleRef*>> byWindow;
  for (auto& e : exs) byWindow[e.ex.window].push_back(&e);
  std::vector<int64_t> winIds;
  for (const auto& kv : byWindow) winIds.push_back(kv.first);
  std::vector<std::vector<FamilyAccumulator>> fam(st.layers.size());
  for (size_t li = 0; li < st.layers.size(); ++li) fam[li].resize(static_cast<size_t>(st.layers[li].dSae));
  std::vector<std::string> capture;
  for (const auto& ls : st.layers)
    for (const char* h : {"hook_z", "hook_v", "hook_pattern"})
      capture.push_back("blocks." + std::to_string(ls.layer) + ".attn." + h);
  ForwardOptions fo;
  fo.capture = Capture(capture);
  fo.stopAfterZOfLayer = st.layers.back().layer;
  const int64_t T = opts.context;
  for (size_t w0 = 0; w0 < winIds.size(); w0 += static_cast<size_t>(opts.batch)) {
    const size_t w1 = std::min(winIds.size(), w0 + static_cast<size_t>(opts.batch));
    const int64_t B = static_cast<int64_t>(w1 - w0);
    std::vector<int64_t> flat;
    std::map<int64_t, int64_t> row;
    for (size_t i = w0; i < w1; ++i) {
      const auto& toks = st.windows.at(winIds[i]);
      flat.insert(flat.end(), toks.begin(), toks.end());
      row[winIds[i]] = static_cast<int64_t>(i - w0);
    }
    ForwardResult r = model.forward(torch::from_blob(flat.data(), {B, T}, torch::kInt64).clone(), fo);
    for (size_t li = 0; li < st.layers.size(); ++li) {
      std::vector<ExampleRef*> refs;
      for (size_t i = w0; i < w1; ++i)
        for (ExampleRef* e : byWindow[winIds[i]])
          if (e->layerIdx == li) refs.push_back(e);
      examplesOfLayer(refs, st.layers[li], r, row, B, T, cfg, fam[li], st.windows, in.tokenizer);
    }
    progress(static_cast<double>(w1), static_cast<double>(winIds.size()), "example windows (DFA)");
  }

  // 3. Per feature: stats, head attribution, logits, family; then write.
  std::set<int64_t> shownTokens;
  FeatureWriter writer(db);
  for (size_t li = 0; li < st.layers.size(); ++li) {
    const auto& ls = st.layers[li];
    const int L = ls.layer;
    for (const char* t : {"features", "histograms", "examples"}) {
      Stmt d(db, std::string("DELETE FROM ") + t + " WHERE layer=?");
      d.bind(1, L).run();
    }
    torch::Tensor Wdec = ls.sae->W_dec;  // [dSae, d]
    const std::vector<float> headAttr = headAttributionAll(*ls.sae, static_cast<int>(H));  // [dSae][H]
    // Logit effect: (W_dec[j] as [H, dh] . W_O[h], summed over heads) * ln_f weight, then . W_U.
    torch::Tensor WO = model.W_O(L).reshape({H * dh, cfg.dModel});
    torch::Tensor WU = model.W_U();
    torch::Tensor lnw = model.normWeight("ln_final");
    torch::Tensor fire = ls.fire.cpu(), mx = ls.max.cpu(), hist = ls.hist.cpu().contiguous();
    auto fireA = fire.accessor<int64_t, 1>();
    auto mxA = mx.accessor<float, 1>();
    auto histA = hist.accessor<int64_t, 2>();
    const int64_t k = std::min<int64_t>(10, cfg.vocab);
    const int64_t chunk = 512;
    for (int64_t j0 = 0; j0 < ls.dSae; j0 += chunk) {
      const int64_t j1 = std::min(ls.dSae, j0 + chunk);
      torch::Tensor eff = torch::matmul(torch::matmul(Wdec.index({Slice(j0, j1)}), WO) * lnw, WU);  // [c, V]
      auto top = eff.topk(k, 1, true, true);
      auto bot = eff.topk(k, 1, false, true);
      torch::Tensor tv = std::get<0>(top).cpu(), ti = std::get<1>(top).cpu();
      torch::Tensor bv = std::get<0>(bot).cpu(), bix = std::get<1>(bot).cpu();
      auto tvA = tv.accessor<float, 2>(), bvA = bv.accessor<float, 2>();
      auto tiA = ti.accessor<int64_t, 2>(), biA = bix.accessor<int64_t, 2>();
      for (int64_t j = j0; j < j1; ++j) {
        FeatureStats s;
        s.layer = L;
        s.feature = j;
        s.fireCount = fireA[j];
        s.tokens = st.tokensDone;
        s.density = st.tokensDone > 0 ? double(s.fireCount) / st.tokensDone : 0;
        s.meanActivation = s.fireCount > 0 ? fixedToDouble(ls.sum[static_cast<size_t>(j)]) / s.fireCount : 0;
        s.maxActivation = mxA[j];
        s.dead = s.fireCount == 0;
        s.headAttribution.assign(headAttr.begin() + j * H, headAttr.begin() + (j + 1) * H);
        for (int64_t i = 0; i < k; ++i) {
          const int64_t a = tiA[j - j0][i], b = biA[j - j0][i];
          s.logitsTop.push_back({a, display(in.tokenizer, a), tvA[j - j0][i]});
          s.logitsBottom.push_back({b, display(in.tokenizer, b), bvA[j - j0][i]});
          shownTokens.insert(a);
          shownTokens.insert(b);
        }
        classify(fam[li][static_cast<size_t>(j)], s);
        writer.stats(s);
        // Stored counts: [zero, below, bins..., at/above]; they sum to the tokens seen.
        std::vector<int64_t> counts(1 + kHistSlots);
        counts[0] = st.tokensDone - s.fireCount;
        for (int b = 0; b < kHistSlots; ++b) counts[1 + b] = histA[j][b];
        writer.histogram(L, j, counts);
      }
    }
  }
  for (auto& e : exs) {
    const auto& toks = st.windows.at(e.ex.window);
    e.ex.tokenIds = toks;
    shownTokens.insert(toks.begin(), toks.end());
    writer.example(st.layers[e.layerIdx].layer, e.feature, e.ex);
  }
  Stmt t(db, "INSERT OR REPLACE INTO token_strings(id, display) VALUES(?,?)");
  for (int64_t id : shownTokens) {
    t.reset();
    t.bind(1, id).bind(2, display(in.tokenizer, id)).run();
  }
  metaSet(db, "tokens_done", std::to_string(st.tokensDone));
  metaSet(db, "windows_done", std::to_string(st.windowsDone));
}

}  // namespace zs::db
