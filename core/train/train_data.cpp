// Training data: the tokenized corpus cache and the deterministic batches.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/data/corpus.h"
#include "core/base/error.h"
#include "core/base/util.h"
#include "core/text/tokenizer.h"
#include "core/train/train_internal.h"

namespace fs = std::filesystem;

namespace zs {
namespace {

using nlohmann::json;

// Identity of the corpus files and the tokenizer: the cache is valid only for these.
json fingerprint(const std::string& corpus, const std::string& tokenizerDir) {
  json files = json::array();
  auto add = [&](const fs::path& p) {
    auto t = fs::last_write_time(p).time_since_epoch();
    files.push_back({p.string(), fs::file_size(p),
                     std::chrono::duration_cast<std::chrono::seconds>(t).count()});
  };
  if (fs::is_directory(corpus)) {
    std::vector<fs::path> all;
    for (const auto& e : fs::recursive_directory_iterator(corpus))
      if (e.is_regular_file()) all.push_back(e.path());
    std::sort(all.begin(), all.end());
    for (const auto& p : all) add(p);
  } else {
    add(corpus);
  }
  uint64_t h = fnv1a(readWholeFile((fs::path(tokenizerDir) / "vocab.json").string()));
  h = fnv1a(readWholeFile((fs::path(tokenizerDir) / "merges.txt").string()), h);
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return {{"format", 1}, {"corpus", fs::absolute(corpus).lexically_normal().string()}, {"files", files},
          {"tokenizer", hex}};
}

void writeBin(const std::string& path, const std::vector<uint16_t>& v) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(v.data()), static_cast<std::streamsize>(v.size() * 2));
    if (!out) throw std::runtime_error("cannot write " + tmp);
  }
  fs::rename(tmp, path);
}

std::vector<uint16_t> readBin(const std::string& path) {
  std::string s = readWholeFile(path);
  if (s.size() % 2) throw InputError(path, "token cache has an odd number of bytes");
  std::vector<uint16_t> v(s.size() / 2);
  std::memcpy(v.data(), s.data(), s.size());
  return v;
}

class Appender {
 public:
  Appender(const Tokenizer& tok, int64_t eot) : tok_(tok), eot_(eot) {}
  void add(std::vector<uint16_t>& out, const std::string& text, bool continues) {
    if (!out.empty() && !continues) out.push_back(static_cast<uint16_t>(eot_));
    for (int64_t id : tok_.encode(text)) out.push_back(static_cast<uint16_t>(id));
  }

 private:
  const Tokenizer& tok_;
  int64_t eot_;
};

void tokenizeStream(DocumentReader& r, Appender& app, std::vector<uint16_t>* fixed, TokenCorpus* split,
                    const Progress& progress, double& doneBytes, double totalBytes) {
  Document doc;
  bool toVal = false;
  while (r.next(doc)) {
    if (progress.cancelled()) throw Cancelled();
    std::vector<uint16_t>* out = fixed;
    if (!out) {
      // Generic corpora: ~2% of documents (by a hash of their text) validate.
      if (!doc.continues) toVal = fnv1a(doc.text) % 100 < 2;
      out = toVal ? &split->validation : &split->train;
    }
    app.add(*out, doc.text, doc.continues);
    doneBytes += static_cast<double>(doc.text.size());
    progress(doneBytes, totalBytes, "tokenizing");
  }
}

}  // namespace

TokenCorpus loadTokenCorpus(const std::string& corpus, const Tokenizer& tok, const std::string& tokenizerDir,
                            const std::string& cacheDir, const Progress& progress) {
  if (!fs::exists(corpus)) throw InputError(corpus, "corpus not found");
  const int64_t eot = tok.endOfTextId();
  if (eot < 0) throw InputError(tokenizerDir, "tokenizer has no <|endoftext|> token");
  if (tok.vocabSize() > 65536) throw InputError(tokenizerDir, "vocabulary too large for the uint16 token cache");
  const json fp = fingerprint(corpus, tokenizerDir);
  const fs::path cache(cacheDir), meta = cache / "meta.json";
  TokenCorpus tc;
  if (fs::exists(meta) && fs::exists(cache / "train.bin") && fs::exists(cache / "validation.bin")) {
    json old;
    try {
      old = json::parse(readWholeFile(meta.string()));
    } catch (const std::exception&) {
      old = nullptr;  // unreadable meta: rebuild
    }
    if (old == fp) {
      tc.train = readBin((cache / "train.bin").string());
      tc.validation = readBin((cache / "validation.bin").string());
      return tc;
    }
  }
  Appender app(tok, eot);
  double done = 0, total = 0;
  const fs::path trainJ = fs::path(corpus) / "train.jsonl", valJ = fs::path(corpus) / "validation.jsonl";
  if (fs::is_directory(corpus) && fs::exists(trainJ) && fs::exists(valJ)) {
    total = static_cast<double>(fs::file_size(trainJ) + fs::file_size(valJ));
    auto rt = DocumentReader::open(trainJ.string(), "jsonl");
    tokenizeStream(*rt, app, &tc.train, nullptr, progress, done, total);
    auto rv = DocumentReader::open(valJ.string(), "jsonl");
    tokenizeStream(*rv, app, &tc.validation, nullptr, progress, done, total);
  } else {
    for (const auto& f : fp["files"]) total += f[1].get<double>();
    auto r = DocumentReader::open(corpus);
    if (r->pretokenized()) throw InputError(corpus, "train-model needs a text corpus (JSONL, text or folder)");
    tokenizeStream(*r, app, nullptr, &tc, progress, done, total);
  }
  progress(total, total, "tokenized");
  if (tc.train.empty()) throw InputError(corpus, "corpus has no training text");
  if (tc.validation.empty())
    throw InputError(corpus, "corpus has no validation documents (give a folder with train.jsonl and validation.jsonl)");
  fs::create_directories(cache);
  writeBin((cache / "train.bin").string(), tc.train);
  writeBin((cache / "validation.bin").string(), tc.validation);
  std::ofstream(meta) << fp.dump(1) << "\n";
  return tc;
}

torch::Tensor sampleBatch(const std::vector<uint16_t>& data, const TrainConfig& cfg, int64_t vocab, int64_t bos,
                          int64_t step) {
  const int64_t B = cfg.batch, T = cfg.context, need = T - 1;
  if (static_cast<int64_t>(data.size()) < need)
    throw InputError("corpus", "training split has " + std::to_string(data.size()) + " tokens, fewer than one context");
  // Seeded by (seed, step) only: resuming at step s reproduces batch s exactly.
  std::seed_seq seq{static_cast<uint32_t>(cfg.seed), static_cast<uint32_t>(cfg.seed >> 32),
                    static_cast<uint32_t>(step), static_cast<uint32_t>(step >> 32), 0x5a5c0bu};
  std::mt19937_64 rng(seq);
  auto uniform = [&](int64_t lo, int64_t hi) {  // inclusive; modulo bias is irrelevant here
    return lo + static_cast<int64_t>(rng() % static_cast<uint64_t>(hi - lo + 1));
  };
  torch::Tensor out = torch::empty({B, T}, torch::kLong);
  auto a = out.accessor<int64_t, 2>();
  const int64_t maxOff = static_cast<int64_t>(data.size()) - need;
  for (int64_t b = 0; b < B; ++b) {
    const int64_t off = uniform(0, maxOff);
    a[b][0] = bos;
    for (int64_t t = 0; t < need; ++t) a[b][t + 1] = data[off + t];
    const bool repeat = static_cast<double>(rng() >> 11) * 0x1.0p-53 < cfg.repeatShare;
    if (!repeat) continue;
    // A span of length L at p1 appears again at p2 >= p1 + L: a token of the second
    // copy is predictable only by looking back at what followed it the first time.
    // Spans are mostly short (L = min + (max-min)*u^2): while attention is still
    // uniform, the gradient that grows an induction head is proportional to the
    // attention already on the right key, about 1/position, so short early
    // repeats bootstrap the circuit and long ones match the evaluation.
    const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;
    const int64_t maxL = (T - 1) / 2;
    const int64_t L = std::min(maxL, cfg.repeatMinLen + static_cast<int64_t>((maxL - cfg.repeatMinLen + 1) * u * u));
    const bool randomTokens = rng() & 1;
    // Random tokens go right after BOS, as in `zscope-cli induction`; copied text anywhere.
    const int64_t p1 = randomTokens ? 1 : uniform(1, T - 2 * L);
    const int64_t p2 = randomTokens ? 1 + L : uniform(p1 + L, T - L);
    for (int64_t i = 0; i < L; ++i) {
      if (randomTokens) {
        int64_t id = uniform(0, vocab - 2);
        a[b][p1 + i] = id >= bos ? id + 1 : id;  // never BOS
      }
      a[b][p2 + i] = a[b][p1 + i];
    }
  }
  return out;
}

torch::Tensor validationWindows(const std::vector<uint16_t>& data, int64_t context, int64_t bos, int64_t maxTokens) {
  const int64_t need = context - 1;
  int64_t n = std::min<int64_t>(static_cast<int64_t>(data.size()) / need, std::max<int64_t>(1, maxTokens / context));
  if (n < 1) throw InputError("corpus", "validation split has fewer tokens than one context");
  torch::Tensor out = torch::empty({n, context}, torch::kLong);
  auto a = out.accessor<int64_t, 2>();
  // Spread evenly over the split: its documents come grouped by source.
  const int64_t span = static_cast<int64_t>(data.size()) - need;
  for (int64_t w = 0; w < n; ++w) {
    const int64_t off = n > 1 ? w * span / (n - 1) : 0;
    a[w][0] = bos;
    for (int64_t t = 0; t < need; ++t) a[w][t + 1] = data[off + t];
  }
  return out;
}

}  // namespace zs
