#define PCRE2_CODE_UNIT_WIDTH 8
#include "core/text/tokenizer_pretok.h"

#include "core/text/pcre2_match_state.h"

#include <memory>
#include <stdexcept>
#include <string>

namespace zs {
namespace {

pcre2_code* code(void* p) { return static_cast<pcre2_code*>(p); }

}  // namespace

const char* PreTokenizer::pattern() {
  return R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
}

PreTokenizer::PreTokenizer() {
  int err = 0;
  PCRE2_SIZE errOffset = 0;
  // MATCH_INVALID_UTF: invalid UTF-8 is skipped by the matcher instead of
  // making every match fail, so arbitrary bytes still tokenize.
  pcre2_code* c = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern()), PCRE2_ZERO_TERMINATED,
                                PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &err, &errOffset,
                                nullptr);
  if (!c) {
    PCRE2_UCHAR buf[256];
    pcre2_get_error_message(err, buf, sizeof(buf));
    throw std::runtime_error(std::string("PCRE2 failed to compile the GPT-2 pattern: ") +
                             reinterpret_cast<const char*>(buf));
  }
  pcre2_jit_compile(c, PCRE2_JIT_COMPLETE);  // falls back to the interpreter if JIT is unavailable
  code_ = c;
}

PreTokenizer::~PreTokenizer() { pcre2_code_free(code(code_)); }

void PreTokenizer::split(std::string_view text,
                         const std::function<void(std::string_view)>& fn) const {
  text::Pcre2MatchState& st = text::pcre2ThreadState();
  if (!st.data) throw std::runtime_error("PCRE2: out of memory");
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  const size_t n = text.size();
  size_t pos = 0;
  while (pos < n) {
    int rc = pcre2_match(code(code_), subject, n, pos, 0, st.data, st.ctx);
    if (rc < 0) {
      // No match left (only invalid UTF-8 remains) or a PCRE2 resource limit
      // on a pathological input: emit the rest as one piece so the text stays
      // lossless rather than failing.
      fn(text.substr(pos));
      return;
    }
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(st.data);
    size_t s = ov[0], e = ov[1];
    if (s > pos) fn(text.substr(pos, s - pos));  // invalid UTF-8 bytes skipped by the matcher
    if (e <= s) {  // cannot happen with this pattern; guard against an endless loop
      fn(text.substr(s));
      return;
    }
    fn(text.substr(s, e - s));
    pos = e;
  }
}

const PreTokenizer& gpt2PreTokenizer() {
  static const PreTokenizer p;
  return p;
}

}  // namespace zs
