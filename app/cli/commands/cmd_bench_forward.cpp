// zscope-cli bench forward: latency percentiles of a forward pass with full capture.
#include <iostream>

#include "app/cli/command.h"
#include "core/engine/bench.h"
#include "core/engine/benchmarks.h"

namespace zs::cli {
namespace {

int runBenchForward(const Args& a) {
  BenchForwardOptions o;
  o.model = a.require("model");
  o.device = a.get("device", "auto");
  o.dtype = a.get("dtype", "auto");
  o.capture = a.get("capture", "all");
  o.tokens = a.getInt("tokens", 0);
  o.iters = a.getInt("iters", 50);
  o.warmup = a.getInt("warmup", 5);
  o.batch = a.getInt("batch", 1);
  const nlohmann::json j = benchForward(o);
  if (a.has("json")) {
    printJson(j);
  } else {
    std::cout << "forward " << j["batch"] << "x" << j["tokens"] << " tokens on " << j["device"].get<std::string>()
              << ", " << j["threads"] << " threads: p50 " << j["latency_ms"]["p50"] << " ms, p90 "
              << j["latency_ms"]["p90"] << " ms, " << j["tokens_per_second"].get<double>() << " tokens/s; "
              << j["architecture"].get<std::string>() << " " << j["dtype"].get<std::string>() << " weights loaded in "
              << j["load_s"] << " s, peak RSS " << j["peak_rss_mib"] << " MiB\n";
  }
  return 0;
}

Registrar reg({"bench forward",
               "--model DIR [--tokens N] [--batch B] [--iters K] [--warmup W] [--capture all|none] "
               "[--device auto|cpu|cuda] [--dtype auto|float32|bfloat16] [--json]",
               "Benchmark: latency percentiles of a forward pass with full capture",
               {"json"},
               &runBenchForward});

}  // namespace
}  // namespace zs::cli
