#include "core/train/sae_train.h"

#include <algorithm>
#include <cmath>

#include "core/base/error.h"
#include "core/train/sae_kernels.h"

namespace zs {

SaeTrainer::SaeTrainer(const Sae& sae, SaeTrainOptions opts) : opts_(std::move(opts)) {
  if (opts_.mode != "auto" && opts_.mode != "dense" && opts_.mode != "sparse")
    throw UsageError("SAE step mode must be auto, dense or sparse");
  applyBDec_ = sae.cfg.apply_b_dec_to_input;
  encT = sae.W_enc.t().contiguous().clone();
  dec = sae.W_dec.contiguous().clone();
  benc = sae.b_enc.contiguous().clone();
  bdec = sae.b_dec.contiguous().clone();
  for (auto* t : {&mEnc_, &vEnc_}) *t = torch::zeros_like(encT);
  for (auto* t : {&mDec_, &vDec_}) *t = torch::zeros_like(dec);
  for (auto* t : {&mBenc_, &vBenc_}) *t = torch::zeros_like(benc);
  for (auto* t : {&mBdec_, &vBdec_}) *t = torch::zeros_like(bdec);
  sinceFired_ = torch::zeros({dec.size(0)}, torch::kInt64);
  fireCount_ = torch::zeros({dec.size(0)}, torch::kFloat64);
  const std::string& a = opts_.architecture;
  if (a != "standard" && a != "topk" && a != "batchtopk" && a != "jumprelu")
    throw UsageError("--architecture must be standard, topk, batchtopk or jumprelu (not " + a + ")");
  if ((a == "topk" || a == "batchtopk") && (opts_.k <= 0 || opts_.k > dec.size(0)))
    throw UsageError("--k must be between 1 and d_sae = " + std::to_string(dec.size(0)));
  if (a == "jumprelu") {
    // The SAE's thresholds when it has positive ones (fine-tuning), else initThreshold.
    logThreshold = sae.threshold.defined() && sae.threshold.numel() == dec.size(0) &&
                           sae.threshold.min().item<double>() > 0
                       ? sae.threshold.log().contiguous().clone()
                       : torch::full({dec.size(0)}, std::log(opts_.initThreshold), dec.options());
    mThr_ = torch::zeros_like(logThreshold);
    vThr_ = torch::zeros_like(logThreshold);
  }
}

torch::Tensor SaeTrainer::thresholdsForL0(const Sae& sae, const torch::Tensor& rowsIn, double targetL0) {
  torch::NoGradGuard ng;
  auto rows = rowsIn.to(sae.W_enc.device(), torch::kFloat32);
  const int64_t N = rows.size(0), S = sae.W_enc.size(1);
  if (N < 1 || targetL0 <= 0 || targetL0 > S) throw UsageError("initial L0 must be in (0, d_sae]");
  auto xc = sae.cfg.apply_b_dec_to_input ? rows - sae.b_dec : rows;
  auto pre = torch::addmm(sae.b_enc, xc, sae.W_enc);  // [N, S]
  // n rows above the threshold per feature: the threshold is the (n+1)-th largest.
  const int64_t n = std::clamp<int64_t>(std::llround(static_cast<double>(N) * targetL0 / static_cast<double>(S)), 0, N - 1);
  auto t = std::get<0>(pre.topk(n + 1, 0)).select(0, n);
  return t.clamp_min(1e-6).contiguous();
}

double SaeTrainer::lrAt(int64_t step) const {
  double lr = opts_.lr;
  if (opts_.warmupSteps > 0 && step < opts_.warmupSteps) lr *= static_cast<double>(step + 1) / opts_.warmupSteps;
  if (opts_.decayFraction > 0 && opts_.totalSteps > 0) {
    double decayStart = opts_.totalSteps * (1.0 - opts_.decayFraction);
    if (step >= decayStart)
      lr *= std::max(0.0, (opts_.totalSteps - step) / (opts_.totalSteps - decayStart));
  }
  return lr;
}

namespace {
void fillStats(SaeStepStats& s, const torch::Tensor& x, double sqErr, double l1Sum, double nnz, double l1Coeff) {
  const double B = static_cast<double>(x.size(0));
  s.sq_err = sqErr / B;
  s.l1 = l1Sum / B;
  s.loss = s.sq_err + l1Coeff * s.l1;
  s.mse = sqErr / (B * static_cast<double>(x.size(1)));
  s.l0 = nnz / B;
  double var = (x - x.mean(0, true)).pow(2).sum().item<double>();
  s.explained_variance = var > 0 ? 1.0 - sqErr / var : 0.0;
}
}  // namespace

SaeStepStats SaeTrainer::dense(const torch::Tensor& x, SaeGrads& g, torch::Tensor* fired) {
  const double B = static_cast<double>(x.size(0));
  auto xc = applyBDec_ ? x - bdec : x;
  auto pre = torch::addmm(benc, xc, encT.t());
  auto active = pre > 0;
  auto f = pre.clamp_min(0);
  auto xhat = torch::addmm(bdec, f, dec);
  auto e = xhat - x;
  auto G = e * (2.0 / B);
  g.W_dec = f.t().mm(G);
  auto dpre = (G.mm(dec.t()).add_(opts_.l1 / B)).mul_(active);
  g.W_encT = dpre.t().mm(xc);
  g.b_enc = dpre.sum(0);
  g.b_dec = G.sum(0);
  if (applyBDec_) g.b_dec -= g.b_enc.matmul(encT);
  if (fired) *fired = active.sum(0).to(torch::kCPU, torch::kInt64);
  SaeStepStats s;
  fillStats(s, x, e.pow(2).sum().item<double>(), f.sum().item<double>(), active.sum().item<double>(), opts_.l1);
  s.sparse = false;
  return s;
}

SaeStepStats SaeTrainer::sparse(const torch::Tensor& x0, SaeGrads& g, torch::Tensor* fired) {
  if (!x0.device().is_cpu()) return dense(x0, g, fired);
  auto x = x0.to(torch::kFloat32).contiguous();
  const int64_t B = x.size(0), d = x.size(1), S = dec.size(0);
  auto xc = applyBDec_ ? (x - bdec).contiguous() : x;
  auto pre = torch::addmm(benc, xc, encT.t()).contiguous();
  auto G = torch::empty_like(x);
  g.W_dec = torch::empty_like(dec);
  g.W_encT = torch::empty_like(encT);
  g.b_enc = torch::empty_like(benc);
  auto fr = torch::empty({S}, torch::kInt32);
  auto r = kernels::sparseStep(x.data_ptr<float>(), xc.data_ptr<float>(), pre.data_ptr<float>(), dec.data_ptr<float>(),
                               bdec.data_ptr<float>(), B, d, S, static_cast<float>(opts_.l1), G.data_ptr<float>(),
                               g.W_dec.data_ptr<float>(), g.W_encT.data_ptr<float>(), g.b_enc.data_ptr<float>(),
                               fr.data_ptr<int32_t>());
  g.b_dec = G.sum(0);
  if (applyBDec_) g.b_dec -= g.b_enc.matmul(encT);
  if (fired) *fired = fr.to(torch::kInt64);
  SaeStepStats s;
  fillStats(s, x, r.sqErr, r.l1, static_cast<double>(r.nnz), opts_.l1);
  s.sparse = true;
  return s;
}

SaeStepStats SaeTrainer::gradients(const torch::Tensor& x, SaeGrads& g, bool useSparse) {
  torch::NoGradGuard ng;
  if (!plainRelu()) return useSparse ? archSparse(x, g, nullptr, &g.log_threshold) : archStep(x, g, nullptr, &g.log_threshold);
  return useSparse ? sparse(x, g, nullptr) : dense(x, g, nullptr);
}

void SaeTrainer::adam(torch::Tensor& p, torch::Tensor& m, torch::Tensor& v, const torch::Tensor& g, double lr) {
  const double t = static_cast<double>(step_ + 1);
  const double bc1 = 1.0 - std::pow(opts_.beta1, t), bc2 = 1.0 - std::pow(opts_.beta2, t);
  if (p.device().is_cpu()) {
    auto gc = g.contiguous();
    kernels::adamUpdate(p.data_ptr<float>(), m.data_ptr<float>(), v.data_ptr<float>(), gc.data_ptr<float>(),
                        p.numel(), static_cast<float>(lr), static_cast<float>(opts_.beta1),
                        static_cast<float>(opts_.beta2), static_cast<float>(opts_.eps), static_cast<float>(bc1),
                        static_cast<float>(bc2));
    return;
  }
  m.mul_(opts_.beta1).add_(g, 1.0 - opts_.beta1);
  v.mul_(opts_.beta2).addcmul_(g, g, 1.0 - opts_.beta2);
  auto denom = (v.sqrt() / std::sqrt(bc2)).add_(opts_.eps);
  p.addcdiv_(m, denom, -lr / bc1);
}

SaeStepStats SaeTrainer::step(const torch::Tensor& xIn) {
  torch::NoGradGuard ng;
  auto x = xIn.to(dec.device(), torch::kFloat32).contiguous();
  if (x.dim() != 2 || x.size(1) != dec.size(1))
    throw InputError("SAE training", "batch must be [B, d_in] with d_in " + std::to_string(dec.size(1)));
  bool useSparse = opts_.mode == "sparse" || (opts_.mode == "auto" && lastDensity_ < opts_.sparseThreshold);
  SaeGrads g;
  torch::Tensor fired, gThr;
  SaeStepStats s = !plainRelu() ? (useSparse ? archSparse(x, g, &fired, &gThr) : archStep(x, g, &fired, &gThr))
                   : useSparse   ? sparse(x, g, &fired)
                                 : dense(x, g, &fired);
  // AuxK's weight for the next step: the energy of the input about b_dec over the
  // squared reconstruction error (a sum over the ranks' shares, like the error).
  const bool norm = opts_.auxkNormalize && topkLike();
  double energy = norm ? (x - bdec).pow(2).sum().item<double>() : 0.0;
  const double batchTokens = opts_.sync ? reduceStep(x, g, fired, gThr, s, energy) : static_cast<double>(x.size(0));
  lastDensity_ = s.l0 / static_cast<double>(dec.size(0));
  // Remove the gradient component parallel to each (unit) decoder row.
  g.W_dec -= (g.W_dec * dec).sum(1, true) * dec;
  const double lr = lrAt(step_);
  adam(encT, mEnc_, vEnc_, g.W_encT, lr);
  adam(dec, mDec_, vDec_, g.W_dec, lr);
  adam(benc, mBenc_, vBenc_, g.b_enc, lr);
  adam(bdec, mBdec_, vBdec_, g.b_dec, lr);
  if (gThr.defined()) adam(logThreshold, mThr_, vThr_, gThr, lr);
  dec.div_(dec.norm(2, {1}, true).clamp_min(1e-12));
  auto counts = fired.to(torch::kCPU, torch::kInt64);
  sinceFired_ = torch::where(counts > 0, torch::zeros_like(sinceFired_), sinceFired_ + 1);
  fireCount_ += counts.to(torch::kFloat64);
  windowTokens_ += batchTokens;
  // Every rank has the same (reduced) statistics, so the same weight.
  const double sqErr = s.sq_err * batchTokens;
  if (norm) auxNorm_ = sqErr > 0 ? std::clamp(energy / sqErr, 1.0, 100.0) : 100.0;
  ++step_;
  return s;
}

double SaeTrainer::auxkCoef(int64_t nDead, int64_t kAuxFull) const {
  return opts_.auxkCoeff * std::min(1.0, static_cast<double>(nDead) / kAuxFull) * (opts_.auxkNormalize ? auxNorm_ : 1.0);
}

double SaeTrainer::reduceStep(const torch::Tensor& x, SaeGrads& g, torch::Tensor& fired, torch::Tensor& gThr,
                              SaeStepStats& s, double& energy) {
  // One all-reduce per step: each rank's gradients times its batch size (the
  // mean over the global batch after dividing by the summed size), its firing
  // counts, and the sums behind the statistics.
  const double B = static_cast<double>(x.size(0));
  const double sqErr = s.sq_err * B;
  const double var = (x - x.mean(0, true)).pow(2).sum().item<double>();
  std::vector<torch::Tensor> parts{g.W_encT.flatten() * B, g.W_dec.flatten() * B, g.b_enc.flatten() * B,
                                   g.b_dec.flatten() * B};
  if (gThr.defined()) parts.push_back(gThr.flatten() * B);
  parts.push_back(fired.to(dec.device(), torch::kFloat32));
  parts.push_back(torch::tensor({static_cast<float>(B), static_cast<float>(sqErr), static_cast<float>(s.l1 * B),
                                 static_cast<float>(s.l0 * B), static_cast<float>(s.aux * B), static_cast<float>(var),
                                 static_cast<float>(energy)},
                                dec.options()));
  auto flat = torch::cat(parts);
  opts_.sync->allReduceSum(flat);
  const double Bg = flat[-7].item<double>();
  int64_t off = 0;
  auto take = [&](const torch::Tensor& like, bool scale) {
    auto t = flat.slice(0, off, off + like.numel()).view_as(like);
    off += like.numel();
    return scale ? t / Bg : t;
  };
  g.W_encT = take(g.W_encT, true);
  g.W_dec = take(g.W_dec, true);
  g.b_enc = take(g.b_enc, true);
  g.b_dec = take(g.b_dec, true);
  if (gThr.defined()) gThr = take(gThr, true);
  fired = take(fired, false).round().to(torch::kCPU, torch::kInt64);
  auto tail = flat.slice(0, flat.size(0) - 7, flat.size(0)).to(torch::kCPU, torch::kFloat64).contiguous();
  const double* v = tail.data_ptr<double>();
  const double d = static_cast<double>(x.size(1));
  s.sq_err = v[1] / Bg;
  s.l1 = v[2] / Bg;
  s.l0 = v[3] / Bg;
  s.aux = v[4] / Bg;
  s.loss = s.sq_err + (opts_.architecture == "standard" || opts_.architecture == "jumprelu" ? opts_.l1 * s.l1 : 0.0) + s.aux;
  s.mse = v[1] / (Bg * d);
  s.explained_variance = v[5] > 0 ? 1.0 - v[1] / v[5] : 0.0;  // variance within each rank's batch, summed
  energy = v[6];
  return Bg;
}

void SaeTrainer::syncFrom(int root) {
  if (!opts_.sync) return;
  torch::NoGradGuard ng;
  for (auto* t : {&encT, &dec, &benc, &bdec, &mEnc_, &vEnc_, &mDec_, &vDec_, &mBenc_, &vBenc_, &mBdec_, &vBdec_,
                  &sinceFired_, &fireCount_})
    opts_.sync->broadcast(*t, root);
  if (logThreshold.defined())
    for (auto* t : {&logThreshold, &mThr_, &vThr_}) opts_.sync->broadcast(*t, root);
  auto scalars =
      torch::tensor({static_cast<double>(step_), lastDensity_, windowTokens_, batchThreshold, auxNorm_}, torch::kFloat64);
  opts_.sync->broadcast(scalars, root);
  step_ = static_cast<int64_t>(scalars[0].item<double>());
  lastDensity_ = scalars[1].item<double>();
  windowTokens_ = scalars[2].item<double>();
  batchThreshold = scalars[3].item<double>();
  auxNorm_ = scalars[4].item<double>();
}

void SaeTrainer::resample(const std::vector<int64_t>& features, const torch::Tensor& candidatesIn, uint64_t seed) {
  torch::NoGradGuard ng;
  if (features.empty()) return;
  auto cand = candidatesIn.to(dec.device(), torch::kFloat32);
  // Squared reconstruction loss of every candidate under the current SAE.
  std::vector<torch::Tensor> losses;
  for (int64_t i = 0; i < cand.size(0); i += 4096) {
    auto xb = cand.slice(0, i, std::min(cand.size(0), i + 4096));
    auto xc = applyBDec_ ? xb - bdec : xb;
    auto f = torch::addmm(benc, xc, encT.t());
    if (topkLike()) {  // TopK / BatchTopK: the k largest per token (BatchTopK's average)
      auto [v, ix] = f.topk(std::min(opts_.k, f.size(1)), 1);
      f = torch::zeros_like(f).scatter_(1, ix, v.clamp_min(0));
    } else {
      f.clamp_min_(0);
    }
    auto xhat = torch::addmm(bdec, f, dec);
    losses.push_back((xhat - xb).pow(2).sum(1));
  }
  auto loss = torch::cat(losses).to(torch::kCPU, torch::kFloat64);
  if (loss.sum().item<double>() <= 0) loss = torch::ones_like(loss);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const int64_t n = static_cast<int64_t>(features.size());
  const int64_t positive = (loss > 0).sum().item<int64_t>();
  auto picks = at::multinomial(loss, n, /*replacement=*/positive < n, gen);
  auto idx = torch::tensor(features, torch::kInt64).to(dec.device());
  // Mean encoder norm of the live (not resampled) features.
  auto live = torch::ones({dec.size(0)}, torch::kBool);
  live.index_fill_(0, idx.to(torch::kCPU), false);
  auto encNorms = encT.norm(2, {1});
  double meanLive = live.any().item<bool>() ? encNorms.index({live.to(dec.device())}).mean().item<double>() : 1.0;
  auto z = cand.index_select(0, picks.to(dec.device()));
  auto dir = z - bdec;
  dir = dir / dir.norm(2, {1}, true).clamp_min(1e-12);
  dec.index_copy_(0, idx, dir);
  // ReLU: 0.2 of the live norm (Anthropic); TopK has no L1 to shrink the new
  // latent, which must win a top-k place on inputs like its own: the live norm.
  encT.index_copy_(0, idx, dir * ((topkLike() ? 1.0 : 0.2) * meanLive));
  benc.index_fill_(0, idx, 0.0);
  for (auto* t : {&mEnc_, &vEnc_, &mDec_, &vDec_}) t->index_fill_(0, idx, 0.0);
  for (auto* t : {&mBenc_, &vBenc_}) t->index_fill_(0, idx, 0.0);
  sinceFired_.index_fill_(0, idx.to(torch::kCPU), 0);
  // Data-parallel: every rank chose the same features (from global counts) but
  // drew directions from its own candidates: rank 0's are the ones kept.
  if (opts_.sync)
    for (auto* t : {&dec, &encT, &benc}) opts_.sync->broadcast(*t, 0);
}

torch::Tensor SaeTrainer::windowDensity() const {
  return windowTokens_ > 0 ? fireCount_ / windowTokens_ : torch::zeros_like(fireCount_);
}

void SaeTrainer::resetDensityWindow() {
  fireCount_.zero_();
  windowTokens_ = 0;
}

int64_t SaeTrainer::resampleByDensity(const torch::Tensor& candidates, double minDensity, double minWindowTokens,
                                      uint64_t seed) {
  if (windowTokens_ < minWindowTokens) return 0;  // too short a window to tell
  auto low = (windowDensity() < minDensity).nonzero().flatten();
  std::vector<int64_t> feats(low.data_ptr<int64_t>(), low.data_ptr<int64_t>() + low.numel());
  resample(feats, candidates, seed);
  resetDensityWindow();
  return static_cast<int64_t>(feats.size());
}

int64_t SaeTrainer::resampleDead(const torch::Tensor& candidates, int64_t deadAfterSteps, uint64_t seed) {
  auto dead = (sinceFired_ >= deadAfterSteps).nonzero().flatten();
  std::vector<int64_t> feats(dead.data_ptr<int64_t>(), dead.data_ptr<int64_t>() + dead.numel());
  resample(feats, candidates, seed);
  return static_cast<int64_t>(feats.size());
}

void SaeTrainer::syncToSae(Sae& sae) const {
  sae.W_enc = encT.t().contiguous().clone();
  sae.W_dec = dec.clone();
  sae.b_enc = benc.clone();
  sae.b_dec = bdec.clone();
  const std::string& a = opts_.architecture;
  sae.cfg.architecture = a == "batchtopk" ? "jumprelu" : a;
  if (a == "topk") {
    sae.cfg.k = opts_.k;
    sae.cfg.rescale_acts_by_decoder_norm = false;  // decoder rows are kept at unit norm
  }
  if (a == "jumprelu") sae.threshold = logThreshold.exp().contiguous();
  // BatchTopK for inference: JumpReLU with one threshold for every feature.
  if (a == "batchtopk") sae.threshold = torch::full({dec.size(0)}, batchThreshold, dec.options());
}

std::vector<std::pair<std::string, torch::Tensor>> SaeTrainer::state(const std::string& p) const {
  auto st = stateBase(p);
  if (logThreshold.defined()) {
    st.emplace_back(p + "log_threshold", logThreshold);
    st.emplace_back(p + "m.log_threshold", mThr_);
    st.emplace_back(p + "v.log_threshold", vThr_);
  }
  st.emplace_back(p + "fire_count", fireCount_);
  st.emplace_back(p + "window_tokens", torch::tensor({windowTokens_}, torch::kFloat64));
  if (opts_.architecture == "batchtopk") st.emplace_back(p + "batch_threshold", torch::tensor({batchThreshold}, torch::kFloat64));
  st.emplace_back(p + "aux_norm", torch::tensor({auxNorm_}, torch::kFloat64));
  return st;
}

std::vector<std::pair<std::string, torch::Tensor>> SaeTrainer::stateBase(const std::string& p) const {
  return {{p + "W_encT", encT},    {p + "W_dec", dec},       {p + "b_enc", benc},      {p + "b_dec", bdec},
          {p + "m.W_encT", mEnc_}, {p + "v.W_encT", vEnc_},  {p + "m.W_dec", mDec_},   {p + "v.W_dec", vDec_},
          {p + "m.b_enc", mBenc_}, {p + "v.b_enc", vBenc_},  {p + "m.b_dec", mBdec_},  {p + "v.b_dec", vBdec_},
          {p + "since_fired", sinceFired_},
          {p + "step", torch::tensor({step_}, torch::kInt64)},
          {p + "density", torch::tensor({lastDensity_}, torch::kFloat64)}};
}

void SaeTrainer::loadState(const std::map<std::string, torch::Tensor>& t, const std::string& p) {
  auto get = [&](const std::string& name, const torch::Tensor& like) {
    auto it = t.find(p + name);
    if (it == t.end()) throw InputError("checkpoint", "tensor " + p + name + " is missing");
    if (it->second.sizes() != like.sizes()) throw InputError("checkpoint", "tensor " + p + name + " has the wrong shape");
    return it->second.to(like.device(), like.scalar_type()).contiguous().clone();
  };
  encT = get("W_encT", encT);
  dec = get("W_dec", dec);
  benc = get("b_enc", benc);
  bdec = get("b_dec", bdec);
  mEnc_ = get("m.W_encT", mEnc_);
  vEnc_ = get("v.W_encT", vEnc_);
  mDec_ = get("m.W_dec", mDec_);
  vDec_ = get("v.W_dec", vDec_);
  mBenc_ = get("m.b_enc", mBenc_);
  vBenc_ = get("v.b_enc", vBenc_);
  mBdec_ = get("m.b_dec", mBdec_);
  vBdec_ = get("v.b_dec", vBdec_);
  sinceFired_ = get("since_fired", sinceFired_);
  step_ = get("step", torch::zeros({1}, torch::kInt64)).item<int64_t>();
  lastDensity_ = get("density", torch::zeros({1}, torch::kFloat64)).item<double>();
  if (logThreshold.defined()) {
    logThreshold = get("log_threshold", logThreshold);
    mThr_ = get("m.log_threshold", mThr_);
    vThr_ = get("v.log_threshold", vThr_);
  }
  if (t.count(p + "fire_count")) {
    fireCount_ = get("fire_count", fireCount_);
    windowTokens_ = get("window_tokens", torch::zeros({1}, torch::kFloat64)).item<double>();
  }
  if (opts_.architecture == "batchtopk")
    batchThreshold = get("batch_threshold", torch::zeros({1}, torch::kFloat64)).item<double>();
  if (t.count(p + "aux_norm")) auxNorm_ = get("aux_norm", torch::zeros({1}, torch::kFloat64)).item<double>();
}

}  // namespace zs
