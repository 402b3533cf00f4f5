// zscope-cli bench tokenize: tokenizer load time and encode/decode speed (MB/s)
// on a mixed-text corpus (or --text-file F), single thread.
#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "app/cli/command.h"
#include "core/base/error.h"
#include "core/base/paths.h"
#include "core/text/tokenizer.h"

namespace zs::cli {
namespace {

using Clock = std::chrono::steady_clock;
double secondsSince(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
// CPU time of this thread: on a shared, loaded machine wall time mostly measures the neighbours.
double cpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

// Documents of the built-in corpus: prose, code, numbers, whitespace runs,
// accents, CJK, Korean, Cyrillic, Arabic, emoji and special-token look-alikes.
const char* kDocs[] = {
    "The quick brown fox jumps over the lazy dog. She's sure they'll arrive before noon, isn't she? "
    "Our little robot waters the tomato plants every morning before the sun gets too hot.",
    "def fib(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n\n"
    "int main() { std::vector<int> v{1, 2, 3}; return v.size() > 2 ? 0 : 1; }\n",
    "Prices rose 3.14159% to $1,000,000.25 on 2024-05-17; 6.02e23 molecules, 42 apples and 123456 pears.",
    "   leading spaces, trailing spaces   \n\n\n\tTabs\tand\r\nCRLF lines\n                                    wide gap",
    "Caf\xC3\xA9 na\xC3\xAFve r\xC3\xA9sum\xC3\xA9 \xE2\x80\x94 Vi\xE1\xBB\x87t Nam, \xC5\x81\xC3\xB3" "d\xC5\xBA, Stra\xC3\x9F" "e.",
    "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE3\x81\xAE\xE6\x96\x87\xE7\xAB\xA0\xE3\x81\xA8\xE4\xB8\xAD\xE6\x96\x87\xE5"
    "\xAD\x97\xE7\xAC\xA6\xE3\x80\x82\xED\x95\x9C\xEA\xB5\xAD\xEC\x96\xB4 \xED\x85\x8D\xEC\x8A\xA4\xED\x8A\xB8. "
    "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82, \xD0\xBC\xD0\xB8\xD1\x80! \xD9\x85\xD8\xB1\xD8\xAD\xD8\xA8"
    "\xD8\xA7 \xD8\xA8\xD8\xA7\xD9\x84\xD8\xB9\xD8\xA7\xD9\x84\xD9\x85",
    "Emoji \xF0\x9F\x98\x80\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD \xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x92\xBB and "
    "<|endoftext|> <s> </s> <bos> <|im_start|> look-alikes, https://example.com/a?b=c&d=e user@example.org",
};

std::string builtinCorpus(size_t bytes) {
  std::string s;
  for (size_t i = 0; s.size() < bytes; ++i) {
    s += kDocs[i % (sizeof kDocs / sizeof kDocs[0])];
    s += " (" + std::to_string(i) + ")\n\n";
  }
  return s;
}

// Splits a corpus into documents of about 2 KB at line breaks.
std::vector<std::string> documents(const std::string& text) {
  std::vector<std::string> docs;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = std::min(text.size(), pos + 2048);
    size_t nl = text.find('\n', end);
    end = nl == std::string::npos ? text.size() : nl + 1;
    docs.push_back(text.substr(pos, end - pos));
    pos = end;
  }
  return docs;
}

int runBenchTokenize(const Args& a) {
  const std::string dir = paths::resolveModel(a.require("model"));
  std::string corpus;
  if (a.has("text-file")) {
    std::ifstream f(a.get("text-file"), std::ios::binary);
    if (!f) throw InputError(a.get("text-file"), "cannot open text file");
    std::ostringstream ss;
    ss << f.rdbuf();
    corpus = ss.str();
    if (corpus.empty()) throw InputError(a.get("text-file"), "empty text file");
  } else {
    const int64_t mb = a.getInt("mb", 4);
    if (mb < 1 || mb > 1024) throw UsageError("--mb must be in 1..1024");
    corpus = builtinCorpus(size_t(mb) << 20);
  }
  const int64_t repeats = a.getInt("repeat", 1);
  if (repeats < 1) throw UsageError("--repeat must be positive");

  auto t0 = Clock::now();
  double c0 = cpuSeconds();
  auto tok = Tokenizer::loadDir(dir);
  const double loadS = secondsSince(t0), loadCpu = cpuSeconds() - c0;

  const auto docs = documents(corpus);
  std::vector<std::vector<int64_t>> ids(docs.size());
  size_t tokens = 0;
  t0 = Clock::now();
  c0 = cpuSeconds();
  for (int64_t r = 0; r < repeats; ++r)
    for (size_t i = 0; i < docs.size(); ++i) ids[i] = tok->encode(docs[i], false);
  const double encS = secondsSince(t0), encCpu = cpuSeconds() - c0;
  for (const auto& v : ids) tokens += v.size();
  t0 = Clock::now();
  size_t decodedBytes = 0;
  for (const auto& v : ids) decodedBytes += tok->decode(v, false).size();
  const double decS = secondsSince(t0);

  const double mb = double(corpus.size()) * double(repeats) / 1e6;
  nlohmann::json j = {{"benchmark", "tokenize"},
                      {"model", dir},
                      {"format", tok->format()},
                      {"vocab_size", tok->vocabSize()},
                      {"load_seconds", loadS},
                      {"load_cpu_seconds", loadCpu},
                      {"corpus_bytes", corpus.size()},
                      {"corpus", a.has("text-file") ? a.get("text-file") : std::string("built-in mixed text")},
                      {"documents", docs.size()},
                      {"repeat", repeats},
                      {"tokens", tokens},
                      {"bytes_per_token", tokens ? double(corpus.size()) / double(tokens) : 0.0},
                      {"encode_seconds", encS},
                      {"encode_mb_per_second", encS > 0 ? mb / encS : 0.0},
                      {"encode_cpu_seconds", encCpu},
                      {"encode_mb_per_cpu_second", encCpu > 0 ? mb / encCpu : 0.0},
                      {"decode_seconds", decS},
                      {"decode_mb_per_second", decS > 0 ? double(decodedBytes) / 1e6 / decS : 0.0}};
  if (a.has("json")) {
    printJson(j);
    return 0;
  }
  std::printf("tokenizer   %s (%s, %lld tokens)\n", dir.c_str(), tok->format().c_str(),
              static_cast<long long>(tok->vocabSize()));
  std::printf("load        %.3f s (%.3f s CPU)\n", loadS, loadCpu);
  std::printf("corpus      %.2f MB x %lld, %zu documents, %zu tokens (%.2f bytes/token)\n",
              double(corpus.size()) / 1e6, static_cast<long long>(repeats), docs.size(), tokens,
              j["bytes_per_token"].get<double>());
  std::printf("encode      %.2f MB/s (%.3f s); %.2f MB per CPU second\n", j["encode_mb_per_second"].get<double>(), encS,
              j["encode_mb_per_cpu_second"].get<double>());
  std::printf("decode      %.2f MB/s (%.3f s)\n", j["decode_mb_per_second"].get<double>(), decS);
  return 0;
}

Registrar reg({"bench tokenize", "--model DIR [--text-file F | --mb N (4)] [--repeat N (1)] [--json]",
               "Tokenizer load time and encode/decode MB/s (single thread) on mixed text or a file",
               {"json"}, &runBenchTokenize});

}  // namespace
}  // namespace zs::cli
