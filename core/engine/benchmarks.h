#pragma once
// The measurements behind `zscope-cli bench forward|attribute|sae-step`
// (torch-free header: the CLI parses options and prints; the work is here).
// Each returns the figures as JSON; UsageError / InputError for bad options.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace zs {

struct BenchForwardOptions {
  std::string model, device = "auto", dtype = "auto";
  std::string capture = "all";  // all | none
  int64_t tokens = 0;           // 0: min(128, context)
  int64_t iters = 50, warmup = 5, batch = 1;
};
// Load time, peak RSS, forward latency percentiles and CPU time per pass.
nlohmann::json benchForward(const BenchForwardOptions& o);

struct BenchAttributeOptions {
  std::string model, device = "auto", dtype = "auto";
  std::vector<std::string> saes;  // none: one random SAE per layer (~32 active features per token)
  int64_t tokens = 0;             // 0: min(64, context)
  int64_t iters = 30, warmup = 3;
  int64_t dSae = 0;               // random SAEs' width; 0: 8 x d_in
  int depth = 3, top = 6;
};
// Prompt analysis and attributing one feature with its RDFA tree.
nlohmann::json benchAttribute(const BenchAttributeOptions& o);

struct BenchSaeStepOptions {
  int64_t dIn = 256, dSae = 4096, batch = 4096, steps = 10, warmup = 2;
  double l0 = 20;
  int64_t k = 0;  // 0: round(l0)
  std::string architecture = "standard", device = "auto";
  bool eager = true;  // also time the plain eager-PyTorch step
};
// One SAE training step (hand-written, sparse-aware) against eager PyTorch and a matmul.
nlohmann::json benchSaeStep(const BenchSaeStepOptions& o);

}  // namespace zs
