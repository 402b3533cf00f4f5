#pragma once
// Induction-head measurements for any GPT-2 (`zscope-cli induction`), torch-free.
//
// Sequences: BOS + n random tokens + the same n tokens again (2n+1 tokens),
// `batch` of them from a seeded generator. For a token of the second copy at
// position i (its first occurrence at i-n), an induction head attends to the
// token just after the first occurrence, position i-n+1. Per head:
//   induction score  = mean attention from every second-copy position i to i-n+1
//   previous-token score = mean attention from every position i >= 1 to i-1
// Losses (next-token cross-entropy, nats) are averaged over the copies' tokens
// 2..n, whose first token cannot be predicted in either copy:
//   loss_first_copy, loss_second_copy.
// With a corpus, val_loss is the mean next-token cross-entropy over BOS-started
// windows of n_positions tokens.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace zs {

class Model;
class Tokenizer;

struct InductionOptions {
  int64_t seqLen = 50;      // n: length of each copy (2n+1 must fit the context)
  int64_t batch = 32;
  uint64_t seed = 0;
  std::string corpus;       // optional: validation corpus for val_loss
  int64_t valTokens = 65536;  // at most this many corpus tokens; 0 = the whole corpus
};

struct InductionReport {
  std::string model;
  int64_t nLayer = 0, nHead = 0, vocab = 0, seqLen = 0, batch = 0;
  uint64_t seed = 0;
  std::vector<std::vector<double>> scores;      // [layer][head] induction scores
  std::vector<std::vector<double>> prevScores;  // [layer][head] previous-token scores
  int64_t bestLayer = -1, bestHead = -1;
  double bestScore = 0;
  double lossFirst = 0, lossSecond = 0;
  bool hasValLoss = false;
  double valLoss = 0;
  int64_t valTokens = 0;

  // The quality bar of the shipped model (issue 3).
  double valLossLimit() const;  // 0.6 * ln(vocab)
  bool valLossOk() const { return hasValLoss && valLoss <= valLossLimit(); }
  bool secondCopyOk() const { return lossSecond <= 0.5 * lossFirst; }
  bool inductionHeadOk() const { return bestScore >= 0.5; }
  nlohmann::json toJson() const;
};

// tok is needed only when opt.corpus is a text corpus (may be null otherwise).
// bosId: the session's BOS (Session::bosId), -1 for none.
InductionReport measureInduction(const Model& model, const Tokenizer* tok, int64_t bosId, const InductionOptions& opt);

}  // namespace zs
