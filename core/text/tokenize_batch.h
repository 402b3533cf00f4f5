#pragma once
// `zscope-cli tokenize --batch FILE.jsonl` (no torch): one request per input
// line, one JSON answer per output line, in order.
//   {"text": "...", "add_special_tokens": true|false (default true)} -> {"ids": [...]}
//   {"ids": [...], "skip_special_tokens": true|false (default false)} -> {"text": "..."}
//   anything else, an empty line, or a failing request            -> {"error": "line N: ..."}
#include <iosfwd>

namespace zs {

class Tokenizer;

// Returns the number of lines that failed (the run goes on after a failure).
int tokenizeBatch(const Tokenizer& tok, std::istream& in, std::ostream& out);

}  // namespace zs
