// zscope-cli induction: induction-head scores and copy losses of a model (core/model/induction.h).
#include <cstdio>

#include "app/cli/command.h"
#include "core/base/error.h"
#include "core/model/induction.h"
#include "core/data/corpus.h"
#include "core/session/session.h"

namespace zs::cli {
namespace {

int runInduction(const Args& a) {
  InductionOptions opt;
  opt.seqLen = a.getInt("seq-len", 50);
  opt.batch = a.getInt("batch", 32);
  const int64_t seed = a.getInt("seed", 0);
  if (seed < 0) throw UsageError("--seed must be >= 0");
  opt.seed = static_cast<uint64_t>(seed);
  opt.corpus = a.get("corpus");
  opt.valTokens = a.getInt("val-tokens", 65536);
  if (opt.valTokens < 0) throw UsageError("--val-tokens must be >= 0 (0: the whole corpus)");
  SessionOptions so;
  so.needTokenizer = !opt.corpus.empty() && DocumentReader::detectFormat(opt.corpus).rfind("bin", 0) != 0;
  auto session = Session::open(a.require("model"), so);
  const std::string& dir = session->modelDir();
  InductionReport r = measureInduction(session->model(), session->tokenizer(), session->bosId(), opt);
  r.model = dir;
  nlohmann::json j = r.toJson();
  if (a.has("json")) {
    printJson(j);
    return 0;
  }
  std::printf("model %s: %lld layers x %lld heads, vocab %lld\n", dir.c_str(), static_cast<long long>(r.nLayer),
              static_cast<long long>(r.nHead), static_cast<long long>(r.vocab));
  std::printf("repeated random tokens: %lld sequences of BOS + %lld tokens x 2 (seed %llu)\n\n",
              static_cast<long long>(r.batch), static_cast<long long>(r.seqLen),
              static_cast<unsigned long long>(r.seed));
  std::printf("head    induction  prev-token\n");
  for (int64_t l = 0; l < r.nLayer; ++l)
    for (int64_t h = 0; h < r.nHead; ++h)
      std::printf("L%lldH%-4lld %9.3f  %10.3f%s\n", static_cast<long long>(l), static_cast<long long>(h),
                  r.scores[l][h], r.prevScores[l][h], (l == r.bestLayer && h == r.bestHead) ? "  <- best" : "");
  auto mark = [](bool ok) { return ok ? "ok" : "FAILED"; };
  std::printf("\nloss first copy %.3f, second copy %.3f (ratio %.3f; must be <= 0.5: %s)\n", r.lossFirst,
              r.lossSecond, r.lossFirst > 0 ? r.lossSecond / r.lossFirst : 0.0, mark(r.secondCopyOk()));
  std::printf("best induction head L%lldH%lld score %.3f (must be >= 0.5: %s)\n",
              static_cast<long long>(r.bestLayer), static_cast<long long>(r.bestHead), r.bestScore,
              mark(r.inductionHeadOk()));
  if (r.hasValLoss)
    std::printf("validation loss %.4f nats over %lld tokens (must be <= 0.6 ln vocab = %.4f: %s)\n", r.valLoss,
                static_cast<long long>(r.valTokens), r.valLossLimit(), mark(r.valLossOk()));
  return 0;
}

Registrar reg({"induction",
               "--model DIR [--json] [--seq-len N] [--batch B] [--seed S] [--corpus PATH [--val-tokens N]]",
               "Induction-head scores, copy losses on repeated random tokens and validation loss of a model",
               {"json"},
               &runInduction});

}  // namespace
}  // namespace zs::cli
