#include "core/engine/bench.h"

#include <algorithm>

#include "core/base/error.h"
#include "core/text/tokenizer.h"

namespace zs {

namespace {
const char* kText =
    "And it came to pass, when the men of the city saw that the king was come, that they went out to meet him. "
    "The cat sat on the mat, and the cat sat on the mat again. def read_config(path):\n    with open(path) as f:\n"
    "        return json.load(f)\nThe Lord is my shepherd; I shall not want. He maketh me to lie down in green "
    "pastures: he leadeth me beside the still waters. A fool and his money are soon parted, said the fortune.";
}  // namespace

std::string benchPromptText(const Tokenizer& tok, int64_t tokens, bool bos) {
  const int64_t body = tokens - (bos ? 1 : 0);
  if (body < 1) throw UsageError("a benchmark prompt needs at least one token besides the BOS");
  std::string text;
  while (static_cast<int64_t>(tok.encode(text).size()) < body) text += kText;
  std::vector<int64_t> ids = tok.encode(text);
  ids.resize(static_cast<size_t>(body));
  return tok.decode(ids);
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  const double idx = p / 100.0 * static_cast<double>(v.size() - 1);
  const size_t lo = static_cast<size_t>(idx), hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (idx - static_cast<double>(lo));
}

nlohmann::json latencyStats(const std::vector<double>& ms) {
  double mean = 0;
  for (double x : ms) mean += x;
  mean /= static_cast<double>(ms.size());
  return {{"mean", mean}, {"p50", percentile(ms, 50)}, {"p90", percentile(ms, 90)}, {"p99", percentile(ms, 99)},
          {"max", percentile(ms, 100)}};
}

}  // namespace zs
