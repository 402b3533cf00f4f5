#pragma once
// Corpus streaming for harvesting, evaluation and the feature database; no torch.
//
// A corpus is one of:
//   - a text file (.txt or anything else): documents separated by the literal
//     "<|endoftext|>"; a file without separators is one document, streamed in
//     pieces of about 1 MB cut at line ends so that huge files never sit in memory;
//   - a folder: every regular file below it (sorted by path, hidden files skipped)
//     read as a text file;
//   - JSONL (.jsonl / .json lines): one document per line, its "text" field;
//   - a pre-tokenized .bin: little-endian uint16 ids (default) or uint32 ids
//     (name ending in .u32.bin / .uint32.bin, or format "bin32"); documents are
//     separated by the end-of-text id when it is given.
// Windows of `context` tokens always start with BOS (prepended; never taken from
// the data), so every window's position 0 is a BOS position.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace zs {

class Tokenizer;

struct Document {
  std::string text;           // text formats
  std::vector<int64_t> ids;   // .bin formats (already tokens)
  bool tokenized = false;
  bool continues = false;     // a further piece of the previous (long) document
  std::string source;         // file the document came from (for messages)
};

// The files of a folder corpus, one rule for every reader (SAE training, the
// feature database, tokenizer training): every regular file below it,
// recursively, hidden files and folders skipped, in name order; .jsonl/.ndjson
// files are read as JSONL, all others as text. InputError when there are none
// or it cannot be listed.
std::vector<std::string> corpusFolderFiles(const std::string& dir);
bool isJsonlFile(const std::string& path);  // .jsonl / .ndjson

// The "text" field of one JSONL line (InputError naming the file and line otherwise).
std::string jsonlText(const std::string& line, const std::string& path, int64_t lineNo);

class DocumentReader {
 public:
  // format: "auto" (from the path), "text", "folder", "jsonl", "bin16", "bin32".
  // eotId separates documents inside .bin files (-1: the whole file is one document).
  // Throws InputError when the path is missing or unreadable.
  static std::unique_ptr<DocumentReader> open(const std::string& path, const std::string& format = "auto",
                                              int64_t eotId = -1);
  // The same documents in a seeded random order, a new order on every rewind()
  // (one pass = every document once). Indexes the corpus first (one read of it;
  // only byte ranges are kept); pieces of long documents (~1 MB of text, 1M ids)
  // are shuffled as documents of their own. For training on corpora that are
  // stored by source (all of one kind, then all of the next).
  static std::unique_ptr<DocumentReader> openShuffled(const std::string& path, const std::string& format,
                                                      int64_t eotId, uint64_t seed);
  virtual ~DocumentReader() = default;
  // Next document; false at the end. Throws InputError on malformed input
  // (bad JSON line, missing "text", truncated .bin).
  virtual bool next(Document& doc) = 0;
  virtual void rewind() = 0;
  virtual bool pretokenized() const = 0;
  static std::string detectFormat(const std::string& path);
};

struct WindowOptions {
  int64_t context = 128;   // tokens per window including the BOS
  int64_t bosId = -1;      // prepended to every window (required, >= 0)
  // pack = true: documents are concatenated (separated by bosId, as GPT-2's
  // <|endoftext|> does) and cut into equal windows: what harvesting wants.
  // pack = false: every document is cut on its own; its last window may be
  // shorter (at least minTokens tokens including BOS): what dashboards want.
  bool pack = true;
  int64_t minTokens = 2;
  // Start again from the first document at the end of the corpus.
  bool loop = false;
  int64_t vocabSize = -1;  // when > 0, ids >= vocabSize in .bin files are an InputError
  // Read documents in a seeded random order (DocumentReader::openShuffled).
  bool shuffle = false;
  uint64_t shuffleSeed = 0;
};

// Cuts a document stream into token windows.
class TokenWindows {
 public:
  // tok may be null only for pre-tokenized corpora.
  TokenWindows(std::unique_ptr<DocumentReader> reader, const Tokenizer* tok, WindowOptions opts);
  // Convenience: open + construct.
  static std::unique_ptr<TokenWindows> open(const std::string& path, const Tokenizer* tok, WindowOptions opts,
                                            const std::string& format = "auto");
  // Next window (window[0] == bosId); false when the corpus is exhausted (never with loop).
  bool next(std::vector<int64_t>& window);
  // Skips n windows (resume); returns how many were actually skipped.
  int64_t skip(int64_t n);
  int64_t windowsProduced() const { return produced_; }
  int64_t passes() const { return passes_; }  // completed passes over the corpus
  const WindowOptions& options() const { return opts_; }

 private:
  std::unique_ptr<DocumentReader> reader_;
  const Tokenizer* tok_;
  WindowOptions opts_;
  std::vector<int64_t> pending_;
  size_t pendingPos_ = 0;
  bool firstDoc_ = true;
  int64_t produced_ = 0;
  int64_t passes_ = 0;
  int64_t tokensThisPass_ = 0;
};

}  // namespace zs
