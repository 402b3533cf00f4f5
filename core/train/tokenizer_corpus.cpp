#include "core/train/tokenizer_corpus.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "core/data/corpus.h"
#include "core/base/error.h"

namespace zs::tokcorpus {
namespace fs = std::filesystem;
namespace {

constexpr size_t kChunk = 4 << 20;



uint64_t fileSize(const std::string& f) {
  std::error_code ec;
  auto n = fs::file_size(f, ec);
  return ec ? 0 : n;
}

// Last safe cut in buf: just before a '\n' preceded by a printable ASCII byte.
size_t safeCut(const std::string& buf) {
  for (size_t p = buf.size(); p-- > 1;) {
    unsigned char prev = static_cast<unsigned char>(buf[p - 1]);
    if (buf[p] == '\n' && prev >= 0x21 && prev <= 0x7E) return p;
  }
  return 0;
}

void readText(const std::string& file, uint64_t& done, uint64_t total,
              const std::function<void(std::string_view)>& fn, const Progress& progress) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw InputError(file, "cannot open corpus file");
  std::string buf;
  std::vector<char> block(kChunk);
  while (in) {
    in.read(block.data(), std::streamsize(block.size()));
    std::streamsize got = in.gcount();
    if (got <= 0) break;
    buf.append(block.data(), size_t(got));
    done += uint64_t(got);
    if (buf.size() >= kChunk) {
      size_t cut = safeCut(buf);
      if (cut > 0) {  // otherwise keep growing until a safe cut appears
        fn(std::string_view(buf).substr(0, cut));
        buf.erase(0, cut);
      }
    }
    if (progress.cancelled()) throw Cancelled();
    progress(double(done), double(total), "reading corpus");
  }
  if (in.bad()) throw InputError(file, "read error");
  if (!buf.empty()) fn(buf);
}

void readJsonl(const std::string& file, uint64_t& done, uint64_t total,
               const std::function<void(std::string_view)>& fn, const Progress& progress) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw InputError(file, "cannot open corpus file");
  std::string line;
  int64_t lineNo = 0;
  while (std::getline(in, line)) {
    ++lineNo;
    done += line.size() + 1;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    fn(jsonlText(line, file, lineNo));
    if ((lineNo & 1023) == 0) {
      if (progress.cancelled()) throw Cancelled();
      progress(double(done), double(total), "reading corpus");
    }
  }
  if (in.bad()) throw InputError(file, "read error");
}

}  // namespace

std::vector<std::string> corpusFiles(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw InputError(path, "corpus path does not exist");
  if (!fs::is_directory(path, ec)) return {path};
  return corpusFolderFiles(path);
}

void forEachText(const std::string& path, const std::function<void(std::string_view)>& fn,
                 const Progress& progress) {
  std::vector<std::string> files = corpusFiles(path);
  uint64_t total = 0, done = 0;
  for (const auto& f : files) total += fileSize(f);
  for (const auto& f : files) {
    if (isJsonlFile(f))
      readJsonl(f, done, total, fn, progress);
    else
      readText(f, done, total, fn, progress);
  }
  progress(double(total), double(total), "reading corpus");
}

}  // namespace zs::tokcorpus
