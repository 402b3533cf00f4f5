#include "core/corpus.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/tokenizer.h"

namespace fs = std::filesystem;

namespace zs {
namespace {

constexpr size_t kPiece = 1 << 20;  // text is streamed in ~1 MB pieces
const std::string kEot = "<|endoftext|>";

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
      nlohmann::json j;
      try {
        j = nlohmann::json::parse(line);
      } catch (const std::exception& e) {
        throw InputError(path_, "line " + std::to_string(lineNo_) + " is not valid JSON");
      }
      if (!j.is_object() || !j.contains("text") || !j["text"].is_string())
        throw InputError(path_, "line " + std::to_string(lineNo_) + " has no string field \"text\"");
      doc.text = j["text"].get<std::string>();
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
    std::error_code ec;
    auto size = fs::file_size(path_, ec);
    if (ec) throw InputError(path_, "cannot read corpus file");
    if (size % static_cast<uint64_t>(width_) != 0)
      throw InputError(path_, "size " + std::to_string(size) + " is not a multiple of " + std::to_string(width_) +
                                  " bytes (truncated, or uint16/uint32 mixed up)");
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

bool hiddenBelow(const fs::path& root, const fs::path& p) {
  for (const auto& part : fs::relative(p, root))
    if (!part.empty() && part.string()[0] == '.') return true;
  return false;
}

}  // namespace

std::string DocumentReader::detectFormat(const std::string& path) {
  if (fs::is_directory(path)) return "folder";
  if (endsWith(path, ".u32.bin") || endsWith(path, ".uint32.bin")) return "bin32";
  if (endsWith(path, ".bin")) return "bin16";
  if (endsWith(path, ".jsonl") || endsWith(path, ".ndjson")) return "jsonl";
  return "text";
}

std::unique_ptr<DocumentReader> DocumentReader::open(const std::string& path, const std::string& format,
                                                     int64_t eotId) {
  if (!fs::exists(path)) throw InputError(path, "corpus not found");
  std::string f = format == "auto" || format.empty() ? detectFormat(path) : format;
  if (f == "text") return std::make_unique<TextReader>(std::vector<std::string>{path});
  if (f == "jsonl") return std::make_unique<JsonlReader>(path);
  if (f == "bin16") return std::make_unique<BinReader>(path, 2, eotId);
  if (f == "bin32") return std::make_unique<BinReader>(path, 4, eotId);
  if (f == "folder") {
    if (!fs::is_directory(path)) throw InputError(path, "not a folder");
    std::vector<std::string> files;
    for (auto it = fs::recursive_directory_iterator(path, fs::directory_options::skip_permission_denied);
         it != fs::recursive_directory_iterator(); ++it) {
      if (it->is_regular_file() && !hiddenBelow(path, it->path())) files.push_back(it->path().string());
    }
    std::sort(files.begin(), files.end());
    if (files.empty()) throw InputError(path, "folder holds no files");
    return std::make_unique<TextReader>(std::move(files));
  }
  throw UsageError("unknown corpus format '" + format + "' (auto, text, folder, jsonl, bin16, bin32)");
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
  return std::make_unique<TokenWindows>(DocumentReader::open(path, format, opts.bosId), tok, opts);
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
