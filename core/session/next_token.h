#pragma once
// The model's next-token distribution after a prompt: the most probable tokens, and the log-probability of
// given continuations (the indirect object against the subject of an IOI sentence, say). A continuation of
// several tokens is scored as a whole: the sum of its tokens' log-probabilities, each given the prompt and
// the continuation's tokens before it. Used by `zscope-cli predict`.
#include <cstdint>
#include <string>
#include <vector>

namespace zs {

class Session;

struct NextToken {
  int64_t id = 0;
  double logprob = 0;
};

struct ContinuationScore {
  std::string text;
  std::vector<int64_t> tokens;  // the continuation encoded alone (no BOS)
  double logprob = 0;           // summed over its tokens
  int64_t rank = 0;             // single-token continuations: 1 + the number of more probable tokens; else 0
};

struct NextTokenReport {
  std::vector<NextToken> top;  // most probable first
  std::vector<ContinuationScore> continuations;
};

// ids: the prompt as the model sees it (BOS included when wanted), non-empty. InputError for an empty
// continuation, or when the prompt and a continuation exceed the model's context.
NextTokenReport predictNext(const Session& session, const std::vector<int64_t>& ids, int top,
                            const std::vector<std::string>& continuations);

}  // namespace zs
