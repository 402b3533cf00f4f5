#pragma once
// Training a GPT-2-style byte-level BPE tokenizer (no torch, no Qt).
//
// Algorithm (GPT-2 / Hugging Face BpeTrainer): pre-tokenize with GPT-2's
// pattern, count word frequencies, start from the 256 byte symbols (ids
// 0..255 in GPT-2's bytes_to_unicode order), then repeatedly merge the most
// frequent adjacent pair, counted over word frequencies. Ties are broken by
// the pair's raw bytes, (left, right) compared lexicographically, so the
// result is deterministic for a corpus. <|endoftext|> gets the last id and is
// never learned from the text (occurrences in the corpus are cut out).
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/base/progress.h"

namespace zs {

struct BpeModel {
  std::vector<std::string> tokens;                 // id -> raw bytes; last is "<|endoftext|>"
  std::vector<std::pair<int32_t, int32_t>> merges;  // in rank order: (left id, right id)
  int64_t endOfTextId() const { return int64_t(tokens.size()) - 1; }
  // Writes dir/vocab.json (keys in id order) and dir/merges.txt ("#version: 0.2"
  // header), GPT-2's format; creates dir. Throws InputError if it cannot.
  void save(const std::string& dir) const;
};

struct BpeTrainStats {
  uint64_t corpusBytes = 0;
  uint64_t words = 0;        // pre-tokens counted
  uint64_t uniqueWords = 0;
  int64_t vocabSize = 0;     // reached (smaller than asked only if the corpus ran out of pairs)
  int64_t merges = 0;
  double countSeconds = 0, mergeSeconds = 0;
};

class BpeTrainer {
 public:
  // Pre-tokenizes text and adds its words to the counts.
  void addText(std::string_view text);
  // Reads a corpus (text file, .jsonl with "text", or a folder of them).
  // Throws InputError (missing/malformed), Cancelled.
  void addCorpus(const std::string& path, const Progress& progress = {});
  // Learns merges until the vocabulary (256 bytes + merges + <|endoftext|>)
  // has vocabSize entries. Throws UsageError if vocabSize < 257, Cancelled.
  BpeModel train(int64_t vocabSize, const Progress& progress = {});

  const BpeTrainStats& stats() const { return stats_; }

 private:
  std::unordered_map<std::string, uint64_t> wordCounts_;
  BpeTrainStats stats_;
};

// Convenience for the CLI and GUI: corpus -> outDir/vocab.json + merges.txt.
BpeTrainStats trainBpeTokenizer(const std::string& corpusPath, int64_t vocabSize, const std::string& outDir,
                                const Progress& progress = {});

}  // namespace zs
