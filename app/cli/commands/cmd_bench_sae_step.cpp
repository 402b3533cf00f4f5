// zscope-cli bench sae-step: seconds per SAE training step, next to the plain
// eager-PyTorch step (autograd + torch::optim::Adam, as SAELens writes it) and
// the GFLOP/s of one dense matmul of the same shape (the practical ceiling).
#include <cstdio>
#include <iostream>

#include "app/cli/command.h"
#include "core/engine/benchmarks.h"

namespace zs::cli {
namespace {

int runBenchSaeStep(const Args& a) {
  BenchSaeStepOptions o;
  o.dIn = a.getInt("d-in", o.dIn);
  o.dSae = a.getInt("d-sae", o.dSae);
  o.batch = a.getInt("batch", o.batch);
  o.steps = a.getInt("steps", o.steps);
  o.warmup = a.getInt("warmup", o.warmup);
  o.l0 = a.getDouble("l0", o.l0);
  o.k = a.getInt("k", 0);
  o.architecture = a.get("architecture", "standard");
  o.device = a.get("device", "auto");
  o.eager = !a.has("no-eager");
  const nlohmann::json out = benchSaeStep(o);
  if (a.has("json")) {
    printJson(out);
  } else {
    // ms per step: Zscope's step (auto, dense and sparse-aware paths) against eager PyTorch.
    auto ms = [&](const char* key) {
      return out.contains(key) ? out[key]["seconds_per_step"].get<double>() * 1000.0 : -1.0;
    };
    std::printf("sae-step %s: d_in %lld, d_sae %lld, batch %lld, %lld thread(s), %s, L0 %.1f\n",
                out["architecture"].get<std::string>().c_str(), static_cast<long long>(o.dIn),
                static_cast<long long>(o.dSae), static_cast<long long>(o.batch), out["threads"].get<long long>(),
                out["device"].get<std::string>().c_str(), out["zscope"]["l0"].get<double>());
    std::printf("  zscope (auto, %s)  %9.1f ms/step\n", out["zscope"]["sparse_path"].get<bool>() ? "sparse" : "dense",
                ms("zscope"));
    std::printf("  zscope dense        %9.1f ms/step\n", ms("zscope_dense"));
    std::printf("  zscope sparse       %9.1f ms/step\n", ms("zscope_sparse"));
    if (out.contains("eager_torch"))
      std::printf("  eager PyTorch       %9.1f ms/step   speed-up %.2fx\n", ms("eager_torch"),
                  out["speedup_vs_eager"].get<double>());
    std::printf("  matmul ceiling      %9.1f GFLOP/s\n", out["matmul_gflops"].get<double>());
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
