// zscope-cli bench forward: latency percentiles of a forward pass with full capture.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <iostream>

#include "core/engine/bench.h"
#include "app/cli/command.h"
#include "app/cli/common.h"
#include "core/base/error.h"
#include "core/model/load.h"
#include "core/session/session.h"
#include "core/base/paths.h"
#include "core/base/runtime.h"

namespace zs::cli {
namespace {

int runBenchForward(const Args& a) {
  auto session = Session::open(a.require("model"), sessionOptions(a));
  const std::string& dir = session->modelDir();
  const Model* model = &session->model();
  const torch::Device device = model->device();
  const ModelSpec& cfg = model->spec();
  int64_t n = a.getInt("tokens", std::min<int64_t>(128, cfg.nCtx));
  int64_t iters = a.getInt("iters", 50), warm = a.getInt("warmup", 5), batch = a.getInt("batch", 1);
  if (n < 1 || n > cfg.nCtx)
    throw UsageError("--tokens must be in 1.." + std::to_string(cfg.nCtx));
  if (iters < 1 || batch < 1) throw UsageError("--iters and --batch must be positive");
  std::string capName = a.get("capture", "all");
  ForwardOptions opts;
  opts.capture = capName == "none" ? Capture::none() : Capture::all();
  torch::InferenceMode guard;
  torch::manual_seed(0);
  torch::Tensor ids = torch::randint(0, cfg.vocab, {batch, n}, torch::kLong);
  std::vector<double> ms;
  for (int64_t i = 0; i < warm + iters; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    auto r = model->forward(ids, opts);
    if (device.is_cuda()) torch::cuda::synchronize();
    double dt = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (i >= warm) ms.push_back(dt);
  }
  double mean = 0;
  for (double x : ms) mean += x;
  mean /= ms.size();
  nlohmann::json j;
  j["benchmark"] = "forward";
  j["model"] = dir;
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
  if (a.has("json")) {
    printJson(j);
  } else {
    std::cout << "forward " << batch << "x" << n << " tokens on " << device.str() << ", " << runtime::threads()
              << " threads: p50 " << percentile(ms, 50) << " ms, p90 " << percentile(ms, 90) << " ms, "
              << j["tokens_per_second"].get<double>() << " tokens/s\n";
  }
  return 0;
}

Registrar reg({"bench forward",
               "--model DIR [--tokens N] [--batch B] [--iters K] [--warmup W] [--capture all|none] "
               "[--device auto|cpu|cuda] [--json]",
               "Benchmark: latency percentiles of a forward pass with full capture",
               {"json"},
               &runBenchForward});

}  // namespace
}  // namespace zs::cli
