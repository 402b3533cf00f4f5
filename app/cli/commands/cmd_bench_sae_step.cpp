// zscope-cli bench sae-step: seconds per SAE training step, next to the plain
// eager-PyTorch step (autograd + torch::optim::Adam, as SAELens writes it) and
// the GFLOP/s of one dense matmul of the same shape (the practical ceiling).
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <iostream>

#include "app/cli/command.h"
#include "core/base/error.h"
#include "core/base/runtime.h"
#include "core/sae/sae.h"
#include "core/train/sae_train.h"

namespace zs::cli {
namespace {

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

int runBenchSaeStep(const Args& a) {
  const int64_t dIn = a.getInt("d-in", 256), dSae = a.getInt("d-sae", 4096), B = a.getInt("batch", 4096);
  const int64_t steps = a.getInt("steps", 10), warm = a.getInt("warmup", 2);
  const double targetL0 = a.getDouble("l0", 20);
  const bool skipEager = a.has("no-eager");
  const std::string arch = a.get("architecture", "standard");
  if (arch != "standard" && arch != "topk" && arch != "batchtopk" && arch != "jumprelu")
    throw UsageError("--architecture must be standard, topk, batchtopk or jumprelu");
  const int64_t kSel = a.getInt("k", std::max<int64_t>(1, static_cast<int64_t>(targetL0)));
  if (kSel < 1 || kSel > dSae) throw UsageError("--k must be in 1..d_sae");
  if (dIn < 1 || dSae < 1 || B < 1 || steps < 1) throw UsageError("--d-in, --d-sae, --batch, --steps must be positive");
  if (targetL0 <= 0 || targetL0 > dSae) throw UsageError("--l0 must be in (0, d_sae]");
  torch::Device device(runtime::resolveDevice(a.get("device", "auto")));
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
  std::vector<std::string> modes = {"auto", "dense", "sparse"};
  if (arch != "standard") modes = {"auto"};  // the other architectures have one (dense) step
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
  if (a.has("json")) {
    printJson(out);
  } else {
    std::cout << out.dump(2) << "\n";
  }
  return 0;
}

Registrar reg({"bench sae-step",
               "[--d-in N] [--d-sae M] [--batch B] [--steps K] [--warmup W] [--l0 X] [--no-eager] "
               "[--architecture standard|topk|batchtopk|jumprelu] [--k N] "
               "[--device auto|cpu|cuda] [--threads T] [--json]",
               "Time one SAE training step (hand-written, sparse-aware) against eager PyTorch and a matmul",
               {"json", "no-eager"},
               &runBenchSaeStep});

}  // namespace
}  // namespace zs::cli
