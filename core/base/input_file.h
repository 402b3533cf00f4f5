#pragma once
// One way to open every file Zscope reads (issue 19). A path must name a regular
// file once symlinks are resolved: a FIFO, a device (/dev/zero), a socket or a
// folder is refused at once with an InputError naming the file, instead of
// blocking or growing without bound. Each kind of input has a size cap.
#include <cstdint>
#include <string>

namespace zs {

enum class InputKind {
  Config,     // config.json, cfg.json, training configs, state files: 16 MiB
  Prompt,     // prompt and text files given on the command line: 16 MiB
  Labels,     // labels JSONL/JSON imports: 256 MiB
  Tokenizer,  // tokenizer.json, vocab.json, merges.txt: 256 MiB
  Weights,    // safetensors, .pt, .npy: 64 GiB (read as a whole or mapped)
  Corpus,     // corpora, streamed: no cap on the whole file
  Database,   // SQLite feature databases: no cap
  Other,      // anything else read whole: 1 GiB
};

uint64_t inputCap(InputKind kind);  // bytes; UINT64_MAX for "no cap"
const char* inputKindName(InputKind kind);

// Checks that `path` names a regular file (symlinks followed, loops reported)
// of at most inputCap(kind) bytes; returns its size. InputError otherwise,
// "<path>: <what is wrong><hint>".
uint64_t checkInputFile(const std::string& path, InputKind kind, const std::string& hint = {});

// checkInputFile, then the whole file. Opens without blocking (O_NONBLOCK) and
// re-checks the opened descriptor, so a file swapped for a FIFO meanwhile is
// refused too; reads at most the cap (a file that grows past it is refused).
std::string readInputFile(const std::string& path, InputKind kind, const std::string& hint = {});

// Replaces raw control bytes (and invalid UTF-8 lead bytes below 0x20 / 0x7f) by
// \xNN so that text from a file can be put into a one-line message safely;
// cuts it to at most maxBytes.
std::string printable(const std::string& s, size_t maxBytes = 200);

}  // namespace zs
