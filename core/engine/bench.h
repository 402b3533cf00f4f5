#pragma once
// Shared by the benchmarks (zscope-cli bench …, zscope --bench-latency). Torch-free.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace zs {

class Tokenizer;

// Ordinary text in the default model's domain, cut to exactly `tokens` tokens
// (counting the BOS when `bos`): the prompt of the prompt-latency benchmarks.
std::string benchPromptText(const Tokenizer& tok, int64_t tokens, bool bos);

// Percentile p (0..100) of v with linear interpolation; v must not be empty.
double percentile(std::vector<double> v, double p);
// {"mean", "p50", "p90", "p99", "max"} of latencies.
nlohmann::json latencyStats(const std::vector<double>& ms);

}  // namespace zs
