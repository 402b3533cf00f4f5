// One PCRE2 match-data block, match context and JIT stack per thread, shared
// by every PCRE2 user in core/text (the GPT-2 pre-tokenizer and tokenizer.json
// regexes) and reused across calls, so tokenizing many short documents does
// not allocate per call. Include after defining PCRE2_CODE_UNIT_WIDTH 8.
#pragma once

#include <pcre2.h>

namespace zs::text {

struct Pcre2MatchState {
  pcre2_match_data* data = nullptr;
  pcre2_jit_stack* stack = nullptr;
  pcre2_match_context* ctx = nullptr;
  Pcre2MatchState() {
    data = pcre2_match_data_create(4, nullptr);
    // Long whitespace runs make `\s+(?!\S)` backtrack: give JIT room to grow (to 16 MB).
    stack = pcre2_jit_stack_create(64 * 1024, 16 * 1024 * 1024, nullptr);
    ctx = pcre2_match_context_create(nullptr);
    if (ctx && stack) pcre2_jit_stack_assign(ctx, nullptr, stack);
  }
  ~Pcre2MatchState() {
    pcre2_match_context_free(ctx);
    pcre2_jit_stack_free(stack);
    pcre2_match_data_free(data);
  }
  Pcre2MatchState(const Pcre2MatchState&) = delete;
  Pcre2MatchState& operator=(const Pcre2MatchState&) = delete;
};

// This thread's state (one per thread for the whole program: an inline function's
// thread_local is shared across translation units).
inline Pcre2MatchState& pcre2ThreadState() {
  thread_local Pcre2MatchState s;
  return s;
}

}  // namespace zs::text
