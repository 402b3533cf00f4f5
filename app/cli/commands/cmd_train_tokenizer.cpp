// zscope-cli train-tokenizer: learn a GPT-2-style byte-level BPE from a corpus
// and write vocab.json + merges.txt that Tokenizer::loadDir reads.
#include <iostream>

#include "core/train/bpe_trainer.h"
#include "app/cli/command.h"
#include "core/base/error.h"

namespace zs::cli {
namespace {

int runTrainTokenizer(const Args& a) {
  if (!a.positional().empty()) throw UsageError("unexpected argument '" + a.positional()[0] + "'");
  const std::string corpus = a.require("corpus");
  const std::string out = a.require("out");
  if (!a.has("vocab-size")) throw UsageError("missing required option --vocab-size");
  const int64_t vocab = a.getInt("vocab-size", 0);
  if (vocab < 257 || vocab > 1'000'000)
    throw UsageError("--vocab-size must be between 257 (256 bytes + <|endoftext|>) and 1000000");
  BpeTrainStats s = trainBpeTokenizer(corpus, vocab, out, terminalProgress("train-tokenizer"));
  if (s.vocabSize < vocab)
    std::cerr << "note: the corpus ran out of pairs to merge; vocabulary has " << s.vocabSize << " entries, not "
              << vocab << "\n";
  if (a.has("json")) {
    nlohmann::json j;
    j["out"] = out;
    j["vocab_size"] = s.vocabSize;
    j["merges"] = s.merges;
    j["end_of_text_id"] = s.vocabSize - 1;
    j["corpus_bytes"] = s.corpusBytes;
    j["words"] = s.words;
    j["unique_words"] = s.uniqueWords;
    j["count_seconds"] = s.countSeconds;
    j["merge_seconds"] = s.mergeSeconds;
    printJson(j);
  } else {
    std::cerr << "wrote " << out << "/vocab.json and merges.txt: " << s.vocabSize << " tokens (" << s.merges
              << " merges, <|endoftext|> = " << s.vocabSize - 1 << ") from " << s.corpusBytes << " bytes, "
              << s.uniqueWords << " distinct words, in " << s.countSeconds + s.mergeSeconds << " s\n";
  }
  return 0;
}

Registrar reg({"train-tokenizer", "--corpus PATH --vocab-size N --out DIR [--json]",
               "Train a GPT-2-style byte-level BPE tokenizer (vocab.json + merges.txt) on a corpus", {"json"},
               &runTrainTokenizer});

}  // namespace
}  // namespace zs::cli
