// The benchmarks behind `zscope-cli bench forward|attribute|sae-step` (see benchmarks.h).
#include "core/engine/benchmarks.h"

#include <torch/torch.h>

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>

#include "core/attribution/attribution.h"
#include "core/base/error.h"
#include "core/base/runtime.h"
#include "core/engine/bench.h"
#include "core/model/model.h"
#include "core/sae/sae.h"
#include "core/session/session.h"
#include "core/train/sae_train.h"

namespace zs {
namespace {

// Peak resident set size of this process so far, in MiB (Linux: ru_maxrss is KiB).
double peakRssMiB() {
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024.0;
}

// User + system CPU time of this process, in seconds.
double cpuSeconds() {
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
}

// Without --sae: one random SAE per layer with thresholds set so that about
// `l0` features fire per token on this prompt (a realistic sparsity).
std::vector<std::shared_ptr<Sae>> randomSaes(const Model& m, const torch::Tensor& ids, int64_t dSae, double l0) {
  const ModelSpec& cfg = m.spec();
  ForwardOptions o;
  o.capture = Capture({"blocks.*.attn.hook_z"});
  torch::InferenceMode g;
  auto fr = m.forward(ids, o);
  std::vector<std::shared_ptr<Sae>> out;
  for (int64_t l = 0; l < cfg.nLayer; ++l) {
    SaeConfig c;
    c.d_in = cfg.dZ();
    c.d_sae = dSae;
    c.hook_name = "blocks." + std::to_string(l) + ".attn.hook_z";
    c.hook_layer = l;
    std::shared_ptr<Sae> s(Sae::init(c, 100 + l).release());
    torch::Tensor z = fr.cache.at(c.hook_name).reshape({-1, cfg.dZ()});
    torch::Tensor pre = torch::matmul(z - s->b_dec, s->W_enc);
    const double q = std::clamp(1.0 - l0 / static_cast<double>(dSae), 0.0, 1.0);
    s->b_enc = -torch::quantile(pre, q, 0);
    out.push_back(std::move(s));
  }
  return out;
}

size_t countNodes(const AttrNode& n) {
  size_t c = 1;
  for (const auto& k : n.children) c += countNodes(k);
  return c;
}

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Timed loop: `warm` untimed calls, then `steps` timed ones; returns seconds per call.
template <class F>
double timeIt(int64_t warm, int64_t steps, F&& f) {
  for (int64_t i = 0; i < warm; ++i) f(i);
  auto t0 = Clock::now();
  for (int64_t i = 0; i < steps; ++i) f(warm + i);
  return secondsSince(t0) / static_cast<double>(steps);
}

// The eager baseline, written the way SAELens / the paper's code do it.
struct EagerSae {
  torch::Tensor W_enc, W_dec, b_enc, b_dec;
  torch::Tensor logThr;
  std::unique_ptr<torch::optim::Adam> opt;
  double l1;
  std::string arch;
  int64_t k;
  EagerSae(const Sae& s, double lr, double l1c, std::string a, int64_t kk) : l1(l1c), arch(std::move(a)), k(kk) {
    W_enc = s.W_enc.clone().requires_grad_(true);
    W_dec = s.W_dec.clone().requires_grad_(true);
    b_enc = s.b_enc.clone().requires_grad_(true);
    b_dec = s.b_dec.clone().requires_grad_(true);
    logThr = torch::full({s.cfg.d_sae}, std::log(0.01), s.W_enc.options()).requires_grad_(true);
    std::vector<torch::Tensor> ps{W_enc, W_dec, b_enc, b_dec};
    if (arch == "jumprelu") ps.push_back(logThr);
    opt = std::make_unique<torch::optim::Adam>(ps, torch::optim::AdamOptions(lr).betas({0.0, 0.9999}));
  }
  // The activation as eager code writes it (TopK / BatchTopK: topk + scatter;
  // JumpReLU: a straight-through mask and a sigmoid L0 surrogate for the threshold).
  torch::Tensor act(const torch::Tensor& pre, torch::Tensor& penalty) {
    if (arch == "topk") {
      auto [v, i] = pre.topk(k, -1);
      penalty = torch::zeros({}, pre.options());
      return torch::zeros_like(pre).scatter(-1, i, torch::relu(v));
    }
    if (arch == "batchtopk") {
      auto flat = torch::relu(pre).flatten();
      auto [v, i] = flat.topk(k * pre.size(0));
      penalty = torch::zeros({}, pre.options());
      return torch::zeros_like(flat).scatter(0, i, v).view_as(pre);
    }
    if (arch == "jumprelu") {
      auto thr = logThr.exp();
      auto mask = (pre > thr).to(pre.dtype()).detach();
      penalty = torch::sigmoid((pre - thr) / 0.05).sum(-1).mean();
      return pre * mask;
    }
    auto f = torch::relu(pre);
    penalty = f.abs().sum(-1).mean();
    return f;
  }
  void step(const torch::Tensor& x) {
    opt->zero_grad();
    auto pre = (x - b_dec).matmul(W_enc) + b_enc;
    torch::Tensor penalty;
    auto f = act(pre, penalty);
    auto out = f.matmul(W_dec) + b_dec;
    auto loss = (out - x).pow(2).sum(-1).mean() + l1 * penalty;
    loss.backward();
    {
      torch::NoGradGuard ng;
      W_dec.mutable_grad() -= (W_dec.grad() * W_dec).sum(-1, true) * W_dec;
    }
    opt->step();
    torch::NoGradGuard ng;
    W_dec.div_(W_dec.norm(2, {1}, true));
  }
};

}  // namespace

nlohmann::json benchForward(const BenchForwardOptions& o) {
  const auto tLoad = std::chrono::steady_clock::now();
  const double cLoad = cpuSeconds();
  SessionOptions so;
  so.device = o.device;
  so.dtype = o.dtype;
  auto session = Session::open(o.model, so);
  const double loadS = std::chrono::duration<double>(std::chrono::steady_clock::now() - tLoad).count();
  const double rssAfterLoad = peakRssMiB();
  const double loadCpuS = cpuSeconds() - cLoad;
  const std::string& dir = session->modelDir();
  const Model* model = &session->model();
  const torch::Device device = model->device();
  const ModelSpec& cfg = model->spec();
  int64_t n = o.tokens > 0 ? o.tokens : std::min<int64_t>(128, cfg.nCtx);
  const int64_t iters = o.iters, warm = o.warmup, batch = o.batch;
  if (n < 1 || n > cfg.nCtx)
    throw UsageError("--tokens must be in 1.." + std::to_string(cfg.nCtx));
  if (iters < 1 || batch < 1) throw UsageError("--iters and --batch must be positive");
  const std::string& capName = o.capture;
  if (capName != "all" && capName != "none") throw UsageError("--capture must be all or none");
  ForwardOptions opts;
  opts.capture = capName == "none" ? Capture::none() : Capture::all();
  torch::InferenceMode guard;
  torch::manual_seed(0);
  torch::Tensor ids = torch::randint(0, cfg.vocab, {batch, n}, torch::kLong);
  std::vector<double> ms, cpuMs;
  for (int64_t i = 0; i < warm + iters; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    const double c0 = cpuSeconds();
    auto r = model->forward(ids, opts);
    if (device.is_cuda()) torch::cuda::synchronize();
    double dt = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (i >= warm) ms.push_back(dt), cpuMs.push_back((cpuSeconds() - c0) * 1000.0);
  }
  double mean = 0;
  for (double x : ms) mean += x;
  mean /= ms.size();
  nlohmann::json j;
  j["benchmark"] = "forward";
  j["model"] = dir;
  j["architecture"] = cfg.architecture;
  j["layers"] = cfg.nLayer;
  j["dtype"] = cfg.dtype;
  j["load_s"] = loadS;
  j["load_cpu_s"] = loadCpuS;
  j["peak_rss_mib_after_load"] = rssAfterLoad;
  j["peak_rss_mib"] = peakRssMiB();
  j["tokens"] = n;
  j["batch"] = batch;
  j["iters"] = iters;
  j["capture"] = capName;
  j["device"] = device.str();
  j["threads"] = runtime::threads();
  j["blas"] = runtime::blasLibrary();
  j["blas_is_reference"] = runtime::blasIsReference();
  j["latency_ms"] = {{"p50", percentile(ms, 50)}, {"p90", percentile(ms, 90)}, {"p99", percentile(ms, 99)},
                     {"min", *std::min_element(ms.begin(), ms.end())}, {"mean", mean}};
  j["tokens_per_second"] = batch * n / (mean / 1000.0);
  // Process CPU time per pass (all threads): with --threads 1 on a shared
  // machine this is the latency the pass would have with a core to itself.
  j["cpu_ms"] = {{"p50", percentile(cpuMs, 50)}, {"min", *std::min_element(cpuMs.begin(), cpuMs.end())}};
  return j;
}

nlohmann::json benchAttribute(const BenchAttributeOptions& o) {
  SessionOptions so;
  so.device = o.device;
  so.dtype = o.dtype;
  auto session = Session::open(o.model, so);
  Session& s = *session;
  s.loadSaes(o.saes);
  const ModelSpec& cfg = s.spec();
  const int64_t n = o.tokens > 0 ? o.tokens : std::min<int64_t>(64, cfg.nCtx);
  const int64_t iters = o.iters, warm = o.warmup;
  const int depth = o.depth, top = o.top;
  if (n < 1 || n > cfg.nCtx) throw UsageError("--tokens must be in 1.." + std::to_string(cfg.nCtx));
  if (iters < 1 || warm < 0) throw UsageError("--iters must be positive");
  torch::manual_seed(0);
  torch::Tensor idsT = torch::randint(0, cfg.vocab, {1, n}, torch::kLong);
  const std::vector<int64_t> ids(idsT.data_ptr<int64_t>(), idsT.data_ptr<int64_t>() + n);
  const bool random = s.saes().empty();
  if (random) s.setSaes(randomSaes(s.model(), idsT, o.dSae > 0 ? o.dSae : 8 * cfg.dZ(), 32));

  std::vector<double> analyseMs, attributeMs, totalMs;
  size_t nodes = 0;
  double l0 = 0;
  int layer = -1, feature = -1;
  for (int64_t i = 0; i < warm + iters; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    Attribution attr(s.model(), s.saePtrs(), ids);
    auto t1 = std::chrono::steady_clock::now();
    if (layer < 0) {
      // The most active feature of the deepest SAE layer at the last token.
      layer = attr.saeLayers().back();
      for (const auto& f : attr.activeFeatures(static_cast<int>(n) - 1))
        if (f.layer == layer) { feature = f.feature; break; }
      if (feature < 0) feature = 0;
      for (int p = 0; p < n; ++p) l0 += attr.activeFeatures(p).size();
      l0 /= static_cast<double>(n) * attr.saeLayers().size();
    }
    Dfa dfa = attr.dfa(layer, feature, static_cast<int>(n) - 1);
    std::vector<float> heads = attr.headAttribution(layer, feature);
    AttrNode tree = attr.tree(layer, feature, static_cast<int>(n) - 1, depth, top);
    auto t2 = std::chrono::steady_clock::now();
    nodes = countNodes(tree);
    if (i < warm) continue;
    analyseMs.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    attributeMs.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
    totalMs.push_back(std::chrono::duration<double, std::milli>(t2 - t0).count());
  }
  nlohmann::json j = {{"benchmark", "attribute"},
                      {"model", s.modelDir()},
                      {"saes", random ? "random (thresholds for ~32 active per token)" : "given"},
                      {"tokens", n},
                      {"layer", layer},
                      {"feature", feature},
                      {"depth", depth},
                      {"top", top},
                      {"tree_nodes", nodes},
                      {"mean_active_features_per_token_per_layer", l0},
                      {"iters", iters},
                      {"threads", runtime::threads()},
                      {"analyse_ms", latencyStats(analyseMs)},
                      {"attribute_ms", latencyStats(attributeMs)},
                      {"total_ms", latencyStats(totalMs)}};
  return j;
}

nlohmann::json benchSaeStep(const BenchSaeStepOptions& opt) {
  const int64_t dIn = opt.dIn, dSae = opt.dSae, B = opt.batch;
  const int64_t steps = opt.steps, warm = opt.warmup;
  const double targetL0 = opt.l0;
  const bool skipEager = !opt.eager;
  const std::string& arch = opt.architecture;
  if (arch != "standard" && arch != "topk" && arch != "batchtopk" && arch != "jumprelu")
    throw UsageError("--architecture must be standard, topk, batchtopk or jumprelu");
  const int64_t kSel = opt.k > 0 ? opt.k : std::max<int64_t>(1, static_cast<int64_t>(targetL0));
  if (kSel < 1 || kSel > dSae) throw UsageError("--k must be in 1..d_sae");
  if (dIn < 1 || dSae < 1 || B < 1 || steps < 1) throw UsageError("--d-in, --d-sae, --batch, --steps must be positive");
  if (targetL0 <= 0 || targetL0 > dSae) throw UsageError("--l0 must be in (0, d_sae]");
  torch::Device device(runtime::resolveDevice(opt.device));
  auto sync = [&] {
    if (device.is_cuda()) torch::cuda::synchronize();
  };
  torch::manual_seed(0);
  SaeConfig cfg;
  cfg.d_in = dIn;
  cfg.d_sae = dSae;
  cfg.hook_name = "blocks.0.attn.hook_z";
  cfg.hook_layer = 0;
  auto sae = Sae::init(cfg, 1, device);
  // A few batches of data; b_enc set so that each feature fires on about
  // targetL0 / d_sae of the tokens (the regime of a trained SAE).
  std::vector<torch::Tensor> xs;
  for (int i = 0; i < 4; ++i) xs.push_back(torch::randn({B, dIn}, torch::TensorOptions(device)));
  {
    torch::NoGradGuard ng;
    auto pre = xs[0].matmul(sae->W_enc);
    double q = 1.0 - targetL0 / static_cast<double>(dSae);
    auto sorted = std::get<0>(pre.sort(0));
    int64_t k = std::min<int64_t>(B - 1, static_cast<int64_t>(q * (B - 1)));
    sae->b_enc = -sorted[k].contiguous();
  }
  const double lr = 1e-4, l1 = 1.0;
  nlohmann::json out;
  out["benchmark"] = "sae-step";
  out["d_in"] = dIn;
  out["d_sae"] = dSae;
  out["architecture"] = arch;
  if (arch == "topk" || arch == "batchtopk") out["k"] = kSel;
  out["batch"] = B;
  out["steps"] = steps;
  out["threads"] = runtime::threads();
  out["device"] = device.str();
  out["blas"] = runtime::blasLibrary();
  const double denseFlops = 10.0 * B * dIn * dSae;  // 5 matmuls of B x d_in x d_sae (fwd 2, bwd 3)
  // Ceiling: one dense matmul of the encoder's shape.
  {
    torch::NoGradGuard ng;
    auto c = torch::empty({B, dSae}, torch::TensorOptions(device));
    double t = timeIt(warm, steps, [&](int64_t i) {
      torch::mm_out(c, xs[i % 4], sae->W_enc);
      sync();
    });
    out["matmul_gflops"] = 2.0 * B * dIn * dSae / t / 1e9;
  }
  // Every architecture has a dense and a sparse-aware (active entries only) step.
  const std::vector<std::string> modes = {"auto", "dense", "sparse"};
  for (const std::string& mode : modes) {
    SaeTrainOptions o;
    o.architecture = arch;
    o.k = kSel;
    o.lr = lr;
    o.l1 = l1;
    o.warmupSteps = 0;
    o.decayFraction = 0;
    o.mode = mode;
    SaeTrainer tr(*sae, o);
    double l0 = 0;
    bool sparseUsed = false;
    double t = timeIt(warm, steps, [&](int64_t i) {
      auto s = tr.step(xs[i % 4]);
      l0 = s.l0;
      sparseUsed = s.sparse;
      sync();
    });
    std::string key = mode == "auto" ? "zscope" : "zscope_" + mode;
    out[key] = {{"seconds_per_step", t},
                {"activations_per_second", B / t},
                {"gflops_dense_equivalent", denseFlops / t / 1e9},
                {"sparse_path", sparseUsed},
                {"l0", l0}};
  }
  out["seconds_per_step"] = out["zscope"]["seconds_per_step"];
  out["activations_per_second"] = out["zscope"]["activations_per_second"];
  out["achieved_gflops"] = out["zscope"]["gflops_dense_equivalent"];
  if (!skipEager) {
    EagerSae e(*sae, lr, l1, arch, kSel);
    double t = timeIt(warm, steps, [&](int64_t i) {
      e.step(xs[i % 4]);
      sync();
    });
    out["eager_torch"] = {{"seconds_per_step", t}, {"activations_per_second", B / t},
                          {"gflops_dense_equivalent", denseFlops / t / 1e9}};
    out["speedup_vs_eager"] = t / out["seconds_per_step"].get<double>();
  }
  return out;
}

}  // namespace zs
