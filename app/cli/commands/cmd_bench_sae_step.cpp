// zscope-cli bench sae-step: seconds per SAE training step, next to the plain
// eager-PyTorch step (autograd + torch::optim::Adam, as SAELens writes it) and
// the GFLOP/s of one dense matmul of the same shape (the practical ceiling).
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
