// The training step of the sparse architectures beside ReLU + L1: TopK and
// BatchTopK (with the AuxK loss on dead latents, Gao et al. 2024) and JumpReLU
// (L0 penalty, straight-through threshold gradients with a rectangle kernel,
// Rajamanoharan et al. 2024). Gradients by hand, like the ReLU step, so that
// the same Adam / decoder-norm machinery applies.
#include <algorithm>
#include <cmath>
#include <limits>

#include "core/train/sae_train.h"

namespace zs {

SaeStepStats SaeTrainer::archStep(const torch::Tensor& x, SaeGrads& g, torch::Tensor* fired, torch::Tensor* gThr) {
  const int64_t Bn = x.size(0), S = dec.size(0), d = dec.size(1);
  const double B = static_cast<double>(Bn);
  const std::string& a = opts_.architecture;
  auto xc = applyBDec_ ? x - bdec : x;
  auto pre = torch::addmm(benc, xc, encT.t());  // [B, S]
  torch::Tensor mask;                           // where f = pre (df/dpre = 1)
  torch::Tensor thr;
  if (a == "topk") {
    const int64_t k = std::min(opts_.k, S);
    auto [v, idx] = pre.topk(k, 1);
    mask = torch::zeros_like(pre, torch::kBool).scatter_(1, idx, v > 0);
  } else if (a == "batchtopk") {
    auto r = torch::relu(pre).flatten();
    const int64_t k = std::min<int64_t>(opts_.k * Bn, r.numel());
    auto [v, idx] = r.topk(k);
    mask = torch::zeros_like(r, torch::kBool).scatter_(0, idx, v > 0).view_as(pre);
    if (fired) {  // a real step: track the inference threshold
      auto pos = v.masked_select(v > 0);
      double lowest = pos.numel() > 0 ? pos.min().item<double>() : std::numeric_limits<double>::infinity();
      if (opts_.sync) lowest = opts_.sync->allReduceMin(lowest);  // data-parallel: over the global batch
      if (std::isfinite(lowest)) {
        const double lr = opts_.batchTopkThresholdLr;
        batchThreshold = (1 - lr) * batchThreshold + lr * lowest;
      }
    }
  } else {  // jumprelu
    thr = logThreshold.exp();
    mask = pre > thr;
  }
  auto maskF = mask.to(pre.dtype());
  auto f = pre * maskF;
  auto xhat = torch::addmm(bdec, f, dec);
  auto e = xhat - x;
  auto G = e * (2.0 / B);
  auto dF = G.mm(dec.t());  // dL/df
  g.W_dec = f.t().mm(G);
  auto dpre = dF * maskF;
  SaeStepStats s;
  // AuxK: the top kAux dead latents (by pre-activation) reconstruct the residual.
  if (a == "topk" || a == "batchtopk") {
    auto dead = (sinceFired_ >= opts_.deadSteps).to(pre.device());
    const int64_t nDead = dead.sum().item<int64_t>();
    s.dead = nDead;
    if (nDead > 0 && opts_.auxkCoeff > 0) {
      const int64_t kAuxFull = opts_.auxkK > 0 ? opts_.auxkK : std::max<int64_t>(1, d / 2);
      const int64_t kAux = std::min(kAuxFull, nDead);
      // No ReLU on the auxiliary activations (as SAELens): a dead latent whose
      // pre-activation is negative everywhere still gets a gradient.
      auto masked = pre.masked_fill(dead.logical_not().unsqueeze(0), -std::numeric_limits<float>::infinity());
      auto aidx = std::get<1>(masked.topk(kAux, 1));
      auto amask = torch::zeros_like(pre).scatter_(1, aidx, 1.0);
      auto fa = pre * amask;
      auto ea = fa.mm(dec) + e;  // ehat - residual, residual = x - xhat (detached)
      const double coef = auxkCoef(nDead, kAuxFull);
      s.aux = coef * ea.pow(2).sum().item<double>() / B;
      auto Ga = ea * (2.0 * coef / B);
      g.W_dec += fa.t().mm(Ga);
      dpre += Ga.mm(dec.t()) * amask;
    }
  }
  double l0Sum = mask.sum().item<double>();
  double sparsitySum = f.sum().item<double>();
  double coeff = 0;
  if (a == "jumprelu") {
    // f = pre * H(pre - t), L0 = sum H(pre - t). Pseudo-derivatives w.r.t. t
    // (rectangle kernel K(u) = 1 for |u| < 1/2): df/dt = -(t/eps) K((pre - t)/eps),
    // dL0/dt = -(1/eps) K((pre - t)/eps). The log-parametrised threshold gets dt * t.
    const double eps = opts_.bandwidth;
    auto K = (((pre - thr) / eps).abs() < 0.5).to(pre.dtype());
    auto gt = ((dF * (-thr / eps)) - (opts_.l1 / (B * eps))) * K;
    if (gThr) *gThr = gt.sum(0) * thr;
    sparsitySum = l0Sum;
    coeff = opts_.l1;
  }
  g.W_encT = dpre.t().mm(xc);
  g.b_enc = dpre.sum(0);
  g.b_dec = G.sum(0);
  if (applyBDec_) g.b_dec -= g.b_enc.matmul(encT);
  if (fired) *fired = mask.sum(0).to(torch::kCPU, torch::kInt64);
  const double sqErr = e.pow(2).sum().item<double>();
  s.sq_err = sqErr / B;
  s.l1 = sparsitySum / B;
  s.loss = s.sq_err + coeff * s.l1 + s.aux;
  s.mse = sqErr / (B * static_cast<double>(d));
  s.l0 = l0Sum / B;
  const double var = (x - x.mean(0, true)).pow(2).sum().item<double>();
  s.explained_variance = var > 0 ? 1.0 - sqErr / var : 0.0;
  s.sparse = false;
  return s;
}

}  // namespace zs
