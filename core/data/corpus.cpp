#include "core/data/corpus.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

#include "core/base/error.h"
#include "core/text/tokenizer.h"

namespace fs = std::filesystem;

namespace zs {
namespace {

constexpr size_t kPiece = 1 << 20;  // text is streamed in ~1 MB pieces
const std::string kEot = "<|endoftext|>";

void checkBinSize(const std::string& path, int width) {
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  if (ec) throw InputError(path, "cannot read corpus file");
  if (size % static_cast<uint64_t>(width) != 0)
    throw InputError(path, "size " + std::to_string(size) + " is not a multiple of " + std::to_string(width) +
                               " bytes (truncated, or uint16/uint32 mixed up)");
}
bool endsWith(const std::string& s, const std::string& suf) {
  return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0;
}

// One text file: documents separated by <|endoftext|>, long documents cut into
// pieces at line ends (Document::continues tells the windower they belong together).
class TextFileStream {
 public:
  explicit TextFileStream(std::string path) : path_(std::move(path)) {}
  void open() {
    in_ = std::ifstream(path_, std::ios::binary);
    if (!in_) throw InputError(path_, "cannot open corpus file");
    carry_.clear();
    eof_ = false;
    continues_ = false;
  }
  bool next(Document& doc) {
    for (;;) {
      size_t sep = carry_.find(kEot);
      if (sep != std::string::npos) {
        doc.text = carry_.substr(0, sep);
        carry_.erase(0, sep + kEot.size());
        bool cont = continues_;
        continues_ = false;
        if (doc.text.empty() && !cont) continue;  // skip empty documents
        finish(doc, cont);
        return true;
      }
      if (carry_.size() >= kPiece) {
        // Cut at the last line end that cannot be part of a separator.
        size_t limit = carry_.size() - kEot.size();
        size_t cut = carry_.rfind('\n', limit);
        cut = (cut == std::string::npos || cut == 0) ? limit : cut + 1;
        doc.text = carry_.substr(0, cut);
        carry_.erase(0, cut);
        finish(doc, continues_);
        continues_ = true;
        return true;
      }
      if (eof_) {
        if (carry_.empty()) return false;
        doc.text.swap(carry_);
        carry_.clear();
        finish(doc, continues_);
        continues_ = false;
        return true;
      }
      std::string buf(kPiece, '\0');
      in_.read(&buf[0], static_cast<std::streamsize>(buf.size()));
      std::streamsize got = in_.gcount();
      if (in_.bad()) throw InputError(path_, "read error");
      carry_.append(buf.data(), static_cast<size_t>(got));
      if (got < static_cast<std::streamsize>(buf.size())) eof_ = true;
    }
  }

 private:
  void finish(Document& doc, bool cont) {
    doc.tokenized = false;
    doc.ids.clear();
    doc.source = path_;
    doc.continues = cont;
  }
  std::string path_;
  std::ifstream in_;
  std::string carry_;
  bool eof_ = false;
  bool continues_ = false;
};

class TextReader : public DocumentReader {
 public:
  explicit TextReader(std::vector<std::string> files) : files_(std::move(files)) { rewind(); }
  bool next(Document& doc) override {
    while (cur_) {
      if (cur_->next(doc)) return true;
      if (++index_ >= files_.size()) {
        cur_.reset();
        return false;
      }
      cur_ = std::make_unique<TextFileStream>(files_[index_]);
      cur_->open();
    }
    return false;
  }
  void rewind() override {
    index_ = 0;
    cur_.reset();
    if (files_.empty()) return;
    cur_ = std::make_unique<TextFileStream>(files_[0]);
    cur_->open();
  }
  bool pretokenized() const override { return false; }

 private:
  std::vector<std::string> files_;
  size_t index_ = 0;
  std::unique_ptr<TextFileStream> cur_;
};

class JsonlReader : public DocumentReader {
 public:
  explicit JsonlReader(std::string path) : path_(std::move(path)) { rewind(); }
  bool next(Document& doc) override {
    std::string line;
    while (std::getline(in_, line)) {
      ++lineNo_;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      doc.text = jsonlText(line, path_, lineNo_);
      doc.ids.clear();
      doc.tokenized = false;
      doc.continues = false;
      doc.source = path_;
      return true;
    }
    if (in_.bad()) throw InputError(path_, "read error");
    return false;
  }
  void rewind() override {
    in_ = std::ifstream(path_, std::ios::binary);
    if (!in_) throw InputError(path_, "cannot open corpus file");
    lineNo_ = 0;
  }
  bool pretokenized() const override { return false; }

 private:
  std::string path_;
  std::ifstream in_;
  int64_t lineNo_ = 0;
};

// Pre-tokenized ids, streamed in pieces of 1M ids.
class BinReader : public DocumentReader {
 public:
  BinReader(std::string path, int width, int64_t eot) : path_(std::move(path)), width_(width), eot_(eot) {
    checkBinSize(path_, width_);
    rewind();
  }
  bool next(Document& doc) override {
    for (;;) {
      // Emit up to the next end-of-text id inside what is buffered.
      if (pos_ < buf_.size()) {
        size_t end = buf_.size();
        bool sepFound = false;
        if (eot_ >= 0) {
          auto it = std::find(buf_.begin() + static_cast<long>(pos_), buf_.end(), eot_);
          if (it != buf_.end()) {
            end = static_cast<size_t>(it - buf_.begin());
            sepFound = true;
          }
        }
        if (sepFound || eof_) {
          doc.ids.assign(buf_.begin() + static_cast<long>(pos_), buf_.begin() + static_cast<long>(end));
          pos_ = sepFound ? end + 1 : buf_.size();
          bool cont = continues_;
          continues_ = false;
          if (doc.ids.empty() && !cont) continue;
          fill(doc, cont);
          return true;
        }
        // No separator in what is buffered: emit it as a piece of a longer document.
        doc.ids.assign(buf_.begin() + static_cast<long>(pos_), buf_.end());
        pos_ = buf_.size();
        fill(doc, continues_);
        continues_ = true;
        return true;
      }
      if (eof_) return false;
      readChunk();
    }
  }
  void rewind() override {
    in_ = std::ifstream(path_, std::ios::binary);
    if (!in_) throw InputError(path_, "cannot open corpus file");
    buf_.clear();
    pos_ = 0;
    eof_ = false;
    continues_ = false;
  }
  bool pretokenized() const override { return true; }

 private:
  void fill(Document& doc, bool cont) {
    doc.text.clear();
    doc.tokenized = true;
    doc.continues = cont;
    doc.source = path_;
  }
  void readChunk() {
    const size_t n = 1 << 20;
    std::vector<char> raw(n * static_cast<size_t>(width_));
    in_.read(raw.data(), static_cast<std::streamsize>(raw.size()));
    size_t got = static_cast<size_t>(in_.gcount());
    if (in_.bad()) throw InputError(path_, "read error");
    if (got < raw.size()) eof_ = true;
    size_t count = got / static_cast<size_t>(width_);
    buf_.resize(count);
    pos_ = 0;
    const auto* p = reinterpret_cast<const unsigned char*>(raw.data());
    for (size_t i = 0; i < count; ++i) {
      if (width_ == 2) {
        buf_[i] = static_cast<int64_t>(p[2 * i] | (p[2 * i + 1] << 8));
      } else {
        uint32_t v = static_cast<uint32_t>(p[4 * i]) | (static_cast<uint32_t>(p[4 * i + 1]) << 8) |
                     (static_cast<uint32_t>(p[4 * i + 2]) << 16) | (static_cast<uint32_t>(p[4 * i + 3]) << 24);
        buf_[i] = static_cast<int64_t>(v);
      }
    }
  }
  std::string path_;
  int width_;
  int64_t eot_;
  std::ifstream in_;
  std::vector<int64_t> buf_;
  size_t pos_ = 0;
  bool eof_ = false;
  bool continues_ = false;
};

// Documents in a seeded random order (a new order on every pass). A first scan
// indexes every document as a byte range (JSONL lines; text between
// <|endoftext|> separators, long ones cut into ~1 MB pieces at line ends; .bin
// ranges between end-of-text ids, long ones cut into 1M-id pieces); documents
// are then read by seeking. Only the index (a few dozen bytes per document)
// stays in memory. Pieces of a long document become documents of their own.
class ShuffledReader : public DocumentReader {
 public:
  enum class Kind { Text, Jsonl, Bin };
  // kind Text: each file by its name, .jsonl/.ndjson as JSONL, anything else as text.
  ShuffledReader(Kind kind, std::vector<std::string> files, int width, int64_t eot, uint64_t seed)
      : kind_(kind), files_(std::move(files)), width_(width), eot_(eot), seed_(seed) {
    for (uint32_t f = 0; f < files_.size(); ++f) {
      fileKind_.push_back(kind_ == Kind::Text && isJsonlFile(files_[f]) ? Kind::Jsonl : kind_);
      if (fileKind_[f] == Kind::Jsonl) indexJsonl(f);
      else if (fileKind_[f] == Kind::Text) indexText(f);
      else indexBin(f);
    }
    rewind();
  }
  bool next(Document& doc) override {
    if (at_ >= order_.size()) return false;
    const Span& s = spans_[order_[at_++]];
    const std::string& path = files_[s.file];
    if (!in_.is_open() || openFile_ != s.file) {
      in_ = std::ifstream(path, std::ios::binary);
      if (!in_) throw InputError(path, "cannot open corpus file");
      openFile_ = s.file;
    }
    std::string bytes(static_cast<size_t>(s.end - s.begin), '\0');
    in_.clear();
    in_.seekg(static_cast<std::streamoff>(s.begin));
    in_.read(&bytes[0], static_cast<std::streamsize>(bytes.size()));
    if (static_cast<size_t>(in_.gcount()) != bytes.size()) throw InputError(path, "read error (file changed?)");
    doc.source = path;
    doc.continues = false;
    if (kind_ == Kind::Bin) {
      doc.text.clear();
      doc.tokenized = true;
      doc.ids.resize(bytes.size() / static_cast<size_t>(width_));
      const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
      for (size_t i = 0; i < doc.ids.size(); ++i) {
        uint32_t v = 0;
        for (int b = width_ - 1; b >= 0; --b) v = (v << 8) | p[i * static_cast<size_t>(width_) + static_cast<size_t>(b)];
        doc.ids[i] = static_cast<int64_t>(v);
      }
      return true;
    }
    doc.ids.clear();
    doc.tokenized = false;
    if (fileKind_[s.file] == Kind::Text) {
      doc.text = std::move(bytes);
      return true;
    }
    doc.text = jsonlText(bytes, path, s.line);
    return true;
  }
  void rewind() override {
    order_.resize(spans_.size());
    for (size_t i = 0; i < order_.size(); ++i) order_[i] = static_cast<uint32_t>(i);
    std::mt19937_64 rng(seed_ * 0x9E3779B97F4A7C15ULL + pass_++);
    std::shuffle(order_.begin(), order_.end(), rng);
    at_ = 0;
  }
  bool pretokenized() const override { return kind_ == Kind::Bin; }
  size_t documents() const { return spans_.size(); }

 private:
  std::vector<Kind> fileKind_;
  struct Span {
    uint64_t begin, end;
    uint32_t file;
    int64_t line;  // JSONL line number (messages)
  };
  void add(uint32_t f, uint64_t b, uint64_t e, int64_t line = 0) {
    if (e > b) spans_.push_back({b, e, f, line});
  }
  // Calls fn(buffer, base offset, eof) on the file's bytes in 1 MB blocks; fn
  // returns how many leading bytes it consumed (the rest is kept for the next call).
  template <class Fn>
  void scan(uint32_t f, Fn fn) {
    std::ifstream in(files_[f], std::ios::binary);
    if (!in) throw InputError(files_[f], "cannot open corpus file");
    std::string buf;
    uint64_t base = 0;
    bool eof = false;
    while (!eof) {
      const size_t old = buf.size();
      buf.resize(old + kPiece);
      in.read(&buf[old], static_cast<std::streamsize>(kPiece));
      if (in.bad()) throw InputError(files_[f], "read error");
      const size_t got = static_cast<size_t>(in.gcount());
      buf.resize(old + got);
      eof = got < kPiece;
      const size_t used = std::min(fn(buf, base, eof), buf.size());
      buf.erase(0, used);
      base += used;
    }
  }
  void indexJsonl(uint32_t f) {
    uint64_t start = 0;
    int64_t line = 0;
    bool blank = true;
    scan(f, [&](const std::string& b, uint64_t base, bool eof) {
      for (size_t i = 0; i < b.size(); ++i) {
        const char c = b[i];
        if (c == '\n') {
          ++line;
          if (!blank) add(f, start, base + i, line);
          start = base + i + 1;
          blank = true;
        } else if (c != ' ' && c != '\t' && c != '\r') {
          blank = false;
        }
      }
      if (eof && !blank) add(f, start, base + b.size(), line + 1);
      return b.size();
    });
  }
  void indexText(uint32_t f) {
    const size_t L = kEot.size();
    uint64_t seg = 0;
    scan(f, [&](const std::string& b, uint64_t base, bool eof) {
      const size_t limit = eof ? b.size() : (b.size() >= L ? b.size() - (L - 1) : 0);
      size_t i = 0;
      while (i < limit) {
        const uint64_t at = base + i;
        if (b[i] == '<' && b.compare(i, L, kEot) == 0) {
          add(f, seg, at);
          seg = at + L;
          i += L;
          continue;
        }
        if ((b[i] == '\n' && at + 1 - seg >= kPiece) || at + 1 - seg >= 4 * kPiece) {
          add(f, seg, at + 1);
          seg = at + 1;
        }
        ++i;
      }
      if (eof) add(f, seg, base + b.size());
      return i;
    });
  }
  void indexBin(uint32_t f) {
    const size_t w = static_cast<size_t>(width_);
    const uint64_t maxIds = 1 << 20;
    uint64_t seg = 0;
    scan(f, [&](const std::string& b, uint64_t base, bool eof) {
      const size_t whole = b.size() / w * w;
      const auto* p = reinterpret_cast<const unsigned char*>(b.data());
      for (size_t i = 0; i < whole; i += w) {
        uint32_t v = 0;
        for (size_t k = w; k-- > 0;) v = (v << 8) | p[i + k];
        const uint64_t at = base + i;
        if (eot_ >= 0 && static_cast<int64_t>(v) == eot_) {
          add(f, seg, at);
          seg = at + w;
        } else if ((at + w - seg) / w >= maxIds) {
          add(f, seg, at + w);
          seg = at + w;
        }
      }
      if (eof) add(f, seg, base + whole);
      return whole;
    });
  }

  Kind kind_;
  std::vector<std::string> files_;
  int width_;
  int64_t eot_;
  uint64_t seed_;
  uint64_t pass_ = 0;
  std::vector<Span> spans_;
  std::vector<uint32_t> order_;
  size_t at_ = 0;
  std::ifstream in_;
  uint32_t openFile_ = 0;
};

// Several readers one after the other (a folder of text and JSONL files).
class ChainReader : public DocumentReader {
 public:
  explicit ChainReader(std::vector<std::unique_ptr<DocumentReader>> parts) : parts_(std::move(parts)) {}
  bool next(Document& doc) override {
    for (; at_ < parts_.size(); ++at_)
      if (parts_[at_]->next(doc)) return true;
    return false;
  }
  void rewind() override {
    for (auto& p : parts_) p->rewind();
    at_ = 0;
  }
  bool pretokenized() const override { return false; }

 private:
  std::vector<std::unique_ptr<DocumentReader>> parts_;
  size_t at_ = 0;
};

}  // namespace

std::string jsonlText(const std::string& line, const std::string& path, int64_t lineNo) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(line);
  } catch (const std::exception&) {
    throw InputError(path, "line " + std::to_string(lineNo) + " is not valid JSON");
  }
  if (!j.is_object() || !j.contains("text") || !j["text"].is_string())
    throw InputError(path, "line " + std::to_string(lineNo) + " has no string field \"text\"");
  return j["text"].get<std::string>();
}

std::string DocumentReader::detectFormat(const std::string& path) {
  if (fs::is_directory(path)) return "folder";
  if (endsWith(path, ".u32.bin") || endsWith(path, ".uint32.bin")) return "bin32";
  if (endsWith(path, ".bin")) return "bin16";
  if (endsWith(path, ".jsonl") || endsWith(path, ".ndjson")) return "jsonl";
  return "text";
}

bool isJsonlFile(const std::string& path) { return endsWith(path, ".jsonl") || endsWith(path, ".ndjson"); }

std::vector<std::string> corpusFolderFiles(const std::string& path) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) throw InputError(path, "not a folder");
  std::vector<std::string> files;
  for (auto it = fs::recursive_directory_iterator(path, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!name.empty() && name[0] == '.') {  // hidden files and folders
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file(ec)) files.push_back(it->path().string());
  }
  if (ec) throw InputError(path, "cannot list the folder: " + ec.message());
  std::sort(files.begin(), files.end());
  if (files.empty()) throw InputError(path, "folder holds no files");
  return files;
}

namespace {

std::string resolveFormat(const std::string& path, const std::string& format) {
  if (!fs::exists(path)) throw InputError(path, "corpus not found");
  const std::string f = format == "auto" || format.empty() ? DocumentReader::detectFormat(path) : format;
  if (f != "text" && f != "jsonl" && f != "bin16" && f != "bin32" && f != "folder")
    throw UsageError("unknown corpus format '" + format + "' (auto, text, folder, jsonl, bin16, bin32)");
  return f;
}

}  // namespace

std::unique_ptr<DocumentReader> DocumentReader::open(const std::string& path, const std::string& format,
                                                     int64_t eotId) {
  const std::string f = resolveFormat(path, format);
  if (f == "text") return std::make_unique<TextReader>(std::vector<std::string>{path});
  if (f == "jsonl") return std::make_unique<JsonlReader>(path);
  if (f == "bin16") return std::make_unique<BinReader>(path, 2, eotId);
  if (f == "bin32") return std::make_unique<BinReader>(path, 4, eotId);
  // A folder: its files in name order, each read by its own format.
  std::vector<std::unique_ptr<DocumentReader>> parts;
  for (const std::string& f : corpusFolderFiles(path))
    parts.push_back(isJsonlFile(f) ? std::unique_ptr<DocumentReader>(std::make_unique<JsonlReader>(f))
                                   : std::make_unique<TextReader>(std::vector<std::string>{f}));
  return std::make_unique<ChainReader>(std::move(parts));
}

std::unique_ptr<DocumentReader> DocumentReader::openShuffled(const std::string& path, const std::string& format,
                                                             int64_t eotId, uint64_t seed) {
  using K = ShuffledReader::Kind;
  const std::string f = resolveFormat(path, format);
  if (f == "bin16" || f == "bin32") {
    const int width = f == "bin16" ? 2 : 4;
    checkBinSize(path, width);
    return std::make_unique<ShuffledReader>(K::Bin, std::vector<std::string>{path}, width, eotId, seed);
  }
  if (f == "jsonl") return std::make_unique<ShuffledReader>(K::Jsonl, std::vector<std::string>{path}, 0, -1, seed);
  std::vector<std::string> files = f == "folder" ? corpusFolderFiles(path) : std::vector<std::string>{path};
  return std::make_unique<ShuffledReader>(K::Text, std::move(files), 0, -1, seed);
}

TokenWindows::TokenWindows(std::unique_ptr<DocumentReader> reader, const Tokenizer* tok, WindowOptions opts)
    : reader_(std::move(reader)), tok_(tok), opts_(opts) {
  if (opts_.context < 2) throw UsageError("context must be at least 2 tokens");
  if (opts_.bosId < 0) throw InputError("corpus", "no BOS token id: the model config needs bos_token_id");
  if (!reader_->pretokenized() && !tok_) throw UsageError("a text corpus needs a tokenizer");
  opts_.minTokens = std::max<int64_t>(2, opts_.minTokens);
}

std::unique_ptr<TokenWindows> TokenWindows::open(const std::string& path, const Tokenizer* tok, WindowOptions opts,
                                                 const std::string& format) {
  auto reader = opts.shuffle ? DocumentReader::openShuffled(path, format, opts.bosId, opts.shuffleSeed)
                             : DocumentReader::open(path, format, opts.bosId);
  return std::make_unique<TokenWindows>(std::move(reader), tok, opts);
}

bool TokenWindows::next(std::vector<int64_t>& window) {
  const size_t body = static_cast<size_t>(opts_.context - 1);
  for (;;) {
    size_t avail = pending_.size() - pendingPos_;
    if (avail >= body) {
      window.assign(1, opts_.bosId);
      window.insert(window.end(), pending_.begin() + static_cast<long>(pendingPos_),
                    pending_.begin() + static_cast<long>(pendingPos_ + body));
      pendingPos_ += body;
      if (pendingPos_ > (1u << 20)) {
        pending_.erase(pending_.begin(), pending_.begin() + static_cast<long>(pendingPos_));
        pendingPos_ = 0;
      }
      ++produced_;
      return true;
    }
    Document doc;
    if (!reader_->next(doc)) {
      if (!opts_.pack && avail + 1 >= static_cast<size_t>(opts_.minTokens)) {
        window.assign(1, opts_.bosId);
        window.insert(window.end(), pending_.begin() + static_cast<long>(pendingPos_), pending_.end());
        pending_.clear();
        pendingPos_ = 0;
        ++produced_;
        return true;
      }
      if (!opts_.loop) return false;
      if (tokensThisPass_ == 0) throw InputError("corpus", "the corpus holds no tokens");
      reader_->rewind();
      ++passes_;
      tokensThisPass_ = 0;
      if (!opts_.pack) {
        pending_.clear();
        pendingPos_ = 0;
      }
      continue;
    }
    std::vector<int64_t> ids = doc.tokenized ? std::move(doc.ids) : tok_->encode(doc.text);
    if (opts_.vocabSize > 0)
      for (int64_t id : ids)
        if (id < 0 || id >= opts_.vocabSize)
          throw InputError(doc.source, "token id " + std::to_string(id) + " is outside the vocabulary (size " +
                                           std::to_string(opts_.vocabSize) + ")");
    tokensThisPass_ += static_cast<int64_t>(ids.size());
    if (opts_.pack) {
      if (!firstDoc_ && !doc.continues) pending_.push_back(opts_.bosId);
      pending_.insert(pending_.end(), ids.begin(), ids.end());
      firstDoc_ = false;
      continue;
    }
    if (doc.continues) {
      pending_.insert(pending_.end(), ids.begin(), ids.end());
      continue;
    }
    // A new document: the previous one's short tail becomes its last window.
    std::vector<int64_t> rest(pending_.begin() + static_cast<long>(pendingPos_), pending_.end());
    pending_ = std::move(ids);
    pendingPos_ = 0;
    if (!rest.empty() && rest.size() + 1 >= static_cast<size_t>(opts_.minTokens)) {
      window.assign(1, opts_.bosId);
      window.insert(window.end(), rest.begin(), rest.end());
      ++produced_;
      return true;
    }
  }
}

int64_t TokenWindows::skip(int64_t n) {
  std::vector<int64_t> w;
  int64_t k = 0;
  while (k < n && next(w)) ++k;
  return k;
}

}  // namespace zs
