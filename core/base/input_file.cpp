#include "core/base/input_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>

#include "core/base/error.h"

namespace zs {
namespace {

std::string kindOf(const struct stat& st) {
  if (S_ISDIR(st.st_mode)) return "is a folder, not a file";
  if (S_ISFIFO(st.st_mode)) return "is a FIFO (named pipe), not a regular file";
  if (S_ISCHR(st.st_mode)) return "is a character device, not a regular file";
  if (S_ISBLK(st.st_mode)) return "is a block device, not a regular file";
  if (S_ISSOCK(st.st_mode)) return "is a socket, not a regular file";
  return "is not a regular file";
}

std::string errnoText(int e) {
  switch (e) {
    case ENOENT: return "no such file";
    case ELOOP: return "too many levels of symbolic links (a symlink loop?)";
    case EACCES: return "permission denied";
    case ENOTDIR: return "a component of the path is not a folder";
    case ENAMETOOLONG: return "path too long";
    default: return std::strerror(e);
  }
}

std::string mib(uint64_t b) { return std::to_string(b >> 20) + " MiB"; }

void checkStat(const std::string& path, const struct stat& st, InputKind kind, const std::string& hint) {
  if (!S_ISREG(st.st_mode)) throw InputError(printable(path, 4096), kindOf(st) + hint);
  const uint64_t cap = inputCap(kind);
  if (static_cast<uint64_t>(st.st_size) > cap)
    throw InputError(printable(path, 4096), std::string("is ") + mib(static_cast<uint64_t>(st.st_size)) + ", more than the " +
                                          mib(cap) + " allowed for a " + inputKindName(kind) + hint);
}

}  // namespace

uint64_t inputCap(InputKind kind) {
  switch (kind) {
    case InputKind::Config: return 16ull << 20;
    case InputKind::Prompt: return 16ull << 20;
    case InputKind::Labels: return 256ull << 20;
    case InputKind::Tokenizer: return 256ull << 20;
    case InputKind::Weights: return 64ull << 30;
    case InputKind::Corpus: return std::numeric_limits<uint64_t>::max();
    case InputKind::Database: return std::numeric_limits<uint64_t>::max();
    case InputKind::Other: return 1ull << 30;
  }
  return 1ull << 30;
}

const char* inputKindName(InputKind kind) {
  switch (kind) {
    case InputKind::Config: return "config file";
    case InputKind::Prompt: return "prompt or text file";
    case InputKind::Labels: return "labels file";
    case InputKind::Tokenizer: return "tokenizer file";
    case InputKind::Weights: return "weights file";
    case InputKind::Corpus: return "corpus file";
    case InputKind::Database: return "database";
    case InputKind::Other: return "input file";
  }
  return "input file";
}

uint64_t checkInputFile(const std::string& path, InputKind kind, const std::string& hint) {
  if (path.empty()) throw InputError("(empty path)", "no file named" + hint);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw InputError(printable(path, 4096), errnoText(errno) + hint);
  checkStat(path, st, kind, hint);
  return static_cast<uint64_t>(st.st_size);
}

std::string readInputFile(const std::string& path, InputKind kind, const std::string& hint) {
  checkInputFile(path, kind, hint);
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw InputError(printable(path, 4096), "cannot open: " + errnoText(errno) + hint);
  std::string out;
  try {
    struct stat st {};
    if (::fstat(fd, &st) != 0) throw InputError(printable(path, 4096), "cannot stat: " + errnoText(errno));
    checkStat(path, st, kind, hint);
    const uint64_t cap = inputCap(kind);
    out.reserve(static_cast<size_t>(st.st_size));
    char buf[1 << 16];
    for (;;) {
      const ssize_t r = ::read(fd, buf, sizeof buf);
      if (r < 0) {
        if (errno == EINTR) continue;
        throw InputError(printable(path, 4096), "read error: " + errnoText(errno));
      }
      if (r == 0) break;
      if (out.size() + static_cast<uint64_t>(r) > cap)
        throw InputError(printable(path, 4096), std::string("grew past the ") + mib(cap) + " allowed for a " +
                                              inputKindName(kind));
      out.append(buf, static_cast<size_t>(r));
    }
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  return out;
}

std::string printable(const std::string& s, size_t maxBytes) {
  std::string out;
  const size_t n = std::min(s.size(), maxBytes);
  out.reserve(n);
  static const char* hex = "0123456789abcdef";
  for (size_t i = 0; i < n; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > maxBytes) out += "...";
  return out;
}

}  // namespace zs
