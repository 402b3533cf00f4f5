// The sparse-aware training step of TopK, BatchTopK and JumpReLU SAEs (CPU):
// one dense encoder matmul picks the active entries by the architecture's rule;
// the decoder product, dLoss/dpre, the W_dec / W_enc / b_enc gradients, AuxK's
// auxiliary reconstruction and JumpReLU's threshold gradient then touch only the
// listed (token, feature) entries (kernels::maskedStep). Mathematically the
// same step as archStep (sae_train_arch.cpp), which stays the reference and the
// GPU path; test_sae_train checks one step's gradients against it.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>
#include <tuple>

#include "core/train/sae_kernels.h"
#include "core/train/sae_train.h"

namespace zs {

namespace {
struct Csr {
  std::vector<int64_t> row;
  std::vector<int32_t> col;
  std::vector<float> val;
};

// Row-sorted (b, j, value) triples from [B, n] indices into columns `cols` (or
// identity) where keep is true.
Csr fromTopk(const torch::Tensor& vals, const torch::Tensor& idx, const torch::Tensor& colMap, bool positiveOnly) {
  const int64_t B = vals.size(0), n = vals.size(1);
  auto v = vals.contiguous();
  auto ix = idx.to(torch::kInt64).contiguous();
  const float* pv = v.data_ptr<float>();
  const int64_t* pi = ix.data_ptr<int64_t>();
  const int64_t* map = colMap.defined() ? colMap.data_ptr<int64_t>() : nullptr;
  Csr c;
  c.row.assign(static_cast<size_t>(B) + 1, 0);
  c.col.reserve(static_cast<size_t>(B * n));
  c.val.reserve(static_cast<size_t>(B * n));
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t k = 0; k < n; ++k) {
      const float x = pv[b * n + k];
      if (positiveOnly && !(x > 0.f)) continue;
      const int64_t j = map ? map[pi[b * n + k]] : pi[b * n + k];
      c.col.push_back(static_cast<int32_t>(j));
      c.val.push_back(x);
    }
    c.row[b + 1] = static_cast<int64_t>(c.col.size());
  }
  return c;
}
}  // namespace

SaeStepStats SaeTrainer::archSparse(const torch::Tensor& x0, SaeGrads& g, torch::Tensor* fired, torch::Tensor* gThr) {
  if (!x0.device().is_cpu()) return archStep(x0, g, fired, gThr);
  auto x = x0.to(torch::kFloat32).contiguous();
  const int64_t Bn = x.size(0), S = dec.size(0), d = dec.size(1);
  const double B = static_cast<double>(Bn);
  const std::string& a = opts_.architecture;
  auto xc = applyBDec_ ? (x - bdec).contiguous() : x;
  auto pre = torch::addmm(benc, xc, encT.t()).contiguous();  // [B, S]
  const float* pp = pre.data_ptr<float>();
  Csr act, thrEnt;
  torch::Tensor thr;
  if (a == "topk") {
    auto [v, idx] = pre.topk(std::min(opts_.k, S), 1);
    act = fromTopk(v, idx, {}, true);
  } else if (a == "batchtopk") {
    // The K = k * B largest positive pre-activations of the batch: nth_element
    // finds the K-th largest value, then one row-major scan keeps the entries
    // above it and, of those equal to it, the first ones up to K (a full
    // topk + sort over B * d_sae entries costs twice the rest of the step).
    const int64_t n = Bn * S, K = std::min<int64_t>(opts_.k * Bn, n);
    std::vector<float> v(pp, pp + n);
    std::nth_element(v.begin(), v.begin() + (n - K), v.end());
    const float kth = v[n - K];
    int64_t greater = 0;
    for (int64_t i = 0; i < n; ++i) greater += pp[i] > kth;
    int64_t ties = K - greater;  // entries equal to kth still to take
    act.row.assign(static_cast<size_t>(Bn) + 1, 0);
    act.col.reserve(static_cast<size_t>(K));
    act.val.reserve(static_cast<size_t>(K));
    float minKept = std::numeric_limits<float>::infinity();
    for (int64_t b = 0; b < Bn; ++b) {
      const float* p = pp + b * S;
      for (int64_t j = 0; j < S; ++j) {
        const float x = p[j];
        bool take = x > kth;
        if (!take && x == kth && ties > 0) take = true, --ties;
        if (take && x > 0.f) {  // ReLU: only positive entries are active
          act.col.push_back(static_cast<int32_t>(j));
          act.val.push_back(x);
          minKept = std::min(minKept, x);
        }
      }
      act.row[b + 1] = static_cast<int64_t>(act.col.size());
    }
    if (fired) {  // a real step: track the inference threshold (as archStep)
      double lowest = act.col.empty() ? std::numeric_limits<double>::infinity() : static_cast<double>(minKept);
      if (opts_.sync) lowest = opts_.sync->allReduceMin(lowest);  // data-parallel: over the global batch
      if (std::isfinite(lowest)) {
        const double lr = opts_.batchTopkThresholdLr;
        batchThreshold = (1 - lr) * batchThreshold + lr * lowest;
      }
    }
  } else {  // jumprelu: pre > t active; |pre - t| < eps / 2 in the kernel's support
    thr = logThreshold.exp().contiguous();
    const float* pt = thr.data_ptr<float>();
    const float eps = static_cast<float>(opts_.bandwidth);
    act.row.assign(static_cast<size_t>(Bn) + 1, 0);
    thrEnt.row.assign(static_cast<size_t>(Bn) + 1, 0);
    for (int64_t b = 0; b < Bn; ++b) {
      const float* p = pp + b * S;
      for (int64_t j = 0; j < S; ++j) {
        if (p[j] > pt[j]) {
          act.col.push_back(static_cast<int32_t>(j));
          act.val.push_back(p[j]);
        }
        // The same float arithmetic as archStep's K = |(pre - thr) / eps| < 0.5.
        if (std::abs((p[j] - pt[j]) / eps) < 0.5f) thrEnt.col.push_back(static_cast<int32_t>(j));
      }
      act.row[b + 1] = static_cast<int64_t>(act.col.size());
      thrEnt.row[b + 1] = static_cast<int64_t>(thrEnt.col.size());
    }
  }
  // AuxK: the top kAux dead latents per token (by pre-activation, no ReLU).
  Csr auxE;
  SaeStepStats s;
  double coef = 0;
  if (a == "topk" || a == "batchtopk") {
    auto deadIdx = (sinceFired_ >= opts_.deadSteps).nonzero().flatten().to(torch::kInt64).contiguous();
    const int64_t nDead = deadIdx.numel();
    s.dead = nDead;
    if (nDead > 0 && opts_.auxkCoeff > 0) {
      const int64_t kAuxFull = opts_.auxkK > 0 ? opts_.auxkK : std::max<int64_t>(1, d / 2);
      const int64_t kAux = std::min(kAuxFull, nDead);
      coef = auxkCoef(nDead, kAuxFull);
      auto [av, ai] = pre.index_select(1, deadIdx).topk(kAux, 1);
      auxE = fromTopk(av, ai, deadIdx, false);
    }
  }
  kernels::MaskedStepInput in;
  in.x = x.data_ptr<float>();
  in.xc = xc.data_ptr<float>();
  in.dec = dec.data_ptr<float>();
  in.bdec = bdec.data_ptr<float>();
  in.B = Bn;
  in.d = d;
  in.S = S;
  in.aRow = act.row.data();
  in.aCol = act.col.data();
  in.aVal = act.val.data();
  if (!auxE.row.empty()) {
    in.xRow = auxE.row.data();
    in.xCol = auxE.col.data();
    in.xVal = auxE.val.data();
    in.auxCoef = static_cast<float>(coef);
  }
  torch::Tensor gt;
  if (a == "jumprelu") {
    in.tRow = thrEnt.row.data();
    in.tCol = thrEnt.col.data();
    in.thr = thr.data_ptr<float>();
    in.bandwidth = static_cast<float>(opts_.bandwidth);
    in.l0Coeff = static_cast<float>(opts_.l1);
    gt = torch::empty({S}, torch::kFloat32);
  }
  auto G = torch::empty_like(x);
  g.W_dec = torch::empty_like(dec);
  g.W_encT = torch::empty_like(encT);
  g.b_enc = torch::empty_like(benc);
  auto fr = torch::empty({S}, torch::kInt32);
  kernels::MaskedStepOutput out;
  out.G = G.data_ptr<float>();
  out.gdec = g.W_dec.data_ptr<float>();
  out.gencT = g.W_encT.data_ptr<float>();
  out.gbenc = g.b_enc.data_ptr<float>();
  out.fired = fr.data_ptr<int32_t>();
  if (gt.defined()) out.gthr = gt.data_ptr<float>();
  const auto r = kernels::maskedStep(in, out);
  g.b_dec = G.sum(0);
  if (applyBDec_) g.b_dec -= g.b_enc.matmul(encT);
  if (gThr && gt.defined()) *gThr = gt * thr;  // log-parametrised threshold
  if (fired) *fired = fr.to(torch::kInt64);
  const double l0Sum = static_cast<double>(r.nnz);
  s.aux = coef * r.auxSq / B;
  s.sq_err = r.sqErr / B;
  s.l1 = (a == "jumprelu" ? l0Sum : r.fSum) / B;
  s.loss = s.sq_err + (a == "jumprelu" ? opts_.l1 : 0.0) * s.l1 + s.aux;
  s.mse = r.sqErr / (B * static_cast<double>(d));
  s.l0 = l0Sum / B;
  const double var = (x - x.mean(0, true)).pow(2).sum().item<double>();
  s.explained_variance = var > 0 ? 1.0 - r.sqErr / var : 0.0;
  s.sparse = true;
  return s;
}

}  // namespace zs
