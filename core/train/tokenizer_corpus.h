#pragma once
// Streams the text of a tokenizer-training corpus (core-internal, no torch).
// A corpus is a text file, a .jsonl file (one JSON object per line, its "text"
// field), or a folder whose .txt and .jsonl files (recursively, sorted by
// path, hidden ones skipped) are read in turn.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/progress.h"

namespace zs::tokcorpus {

// The files a corpus path stands for. Throws InputError when the path is
// missing or a folder holds no .txt/.jsonl file.
std::vector<std::string> corpusFiles(const std::string& path);

// Calls fn with pieces of text that can be pre-tokenized independently: plain
// text is cut only at a '\n' that follows a printable ASCII character, where
// GPT-2's pattern always ends a pre-token, so the word counts equal those of
// the whole file while memory stays bounded (pieces of ~4 MB). JSONL yields
// one document per call. progress(done bytes, total bytes); throws Cancelled
// when progress is cancelled and InputError on unreadable or malformed input.
void forEachText(const std::string& path, const std::function<void(std::string_view)>& fn,
                 const Progress& progress = {});

}  // namespace zs::tokcorpus
