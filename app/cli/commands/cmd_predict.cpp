// zscope-cli predict: the model's next-token predictions after a prompt, and the log-probability of given
// continuations (core/session/next_token.h).
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "app/cli/command.h"
#include "app/cli/common.h"
#include "core/base/error.h"
#include "core/session/next_token.h"
#include "core/session/session.h"
#include "core/text/tokenizer.h"

namespace zs::cli {
namespace {

// Splits "a|b|c" on '|' (continuations usually start with a space, so commas are kept as text).
std::vector<std::string> splitBars(const std::string& s) {
  std::vector<std::string> out;
  size_t from = 0;
  for (;;) {
    const size_t bar = s.find('|', from);
    out.push_back(s.substr(from, bar == std::string::npos ? std::string::npos : bar - from));
    if (bar == std::string::npos) break;
    from = bar + 1;
  }
  return out;
}

int runPredict(const Args& a) {
  const int top = static_cast<int>(a.getIntIn("top", 10, 1, 1000));
  auto session = Session::open(a.require("model"), sessionOptions(a));
  const Session& s = *session;
  const Tokenizer& tok = s.requireTokenizer();
  const std::vector<int64_t> ids = promptIds(a, s);
  const NextTokenReport r =
      predictNext(s, ids, top, a.has("candidates") ? splitBars(a.get("candidates")) : std::vector<std::string>{});

  nlohmann::json j;
  j["tokens"] = ids.size();
  j["top"] = nlohmann::json::array();
  for (const NextToken& t : r.top)
    j["top"].push_back({{"id", t.id}, {"token", tok.tokenString(t.id)}, {"display", tok.displayString(t.id)},
                        {"logprob", t.logprob}, {"prob", std::exp(t.logprob)}});
  j["candidates"] = nlohmann::json::array();
  for (const ContinuationScore& c : r.continuations)
    j["candidates"].push_back({{"text", c.text}, {"token_ids", c.tokens}, {"logprob", c.logprob},
                               {"prob", std::exp(c.logprob)},
                               {"rank", c.rank > 0 ? nlohmann::json(c.rank) : nlohmann::json(nullptr)}});
  if (a.has("json")) {
    printJson(j);
    return 0;
  }
  std::printf("next token after %zu tokens:\n", ids.size());
  for (const NextToken& t : r.top)
    std::printf("  %-20s %7.3f%%\n", tok.displayString(t.id).c_str(), 100 * std::exp(t.logprob));
  for (const ContinuationScore& c : r.continuations) {
    std::printf("candidate '%s' (%zu token%s): log p %.4f, p %.4g", oneLine(c.text).c_str(), c.tokens.size(),
                c.tokens.size() == 1 ? "" : "s", c.logprob, std::exp(c.logprob));
    if (c.rank > 0) std::printf(", rank %lld", static_cast<long long>(c.rank));
    std::printf("\n");
  }
  return 0;
}

Registrar reg({"predict",
               "--model DIR (--prompt TEXT | --prompt-file F | --tokens IDS) [--top K (10)] "
               "[--candidates ' Mary| John'] [--no-bos] [--truncate] [--device D] [--dtype T] [--json]",
               "Next-token predictions after a prompt, and the log-probability of given continuations",
               {"json", "no-bos", "truncate"}, &runPredict});

}  // namespace
}  // namespace zs::cli
