#include "core/base/output_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "core/base/error.h"
#include "core/base/input_file.h"

namespace zs {
namespace {

std::string sysErr(const std::string& what) { return what + ": " + std::strerror(errno); }

std::string dirOf(const std::string& p) {
  const auto slash = p.find_last_of('/');
  return slash == std::string::npos ? "." : (slash == 0 ? "/" : p.substr(0, slash));
}
std::string baseOf(const std::string& p) {
  const auto slash = p.find_last_of('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

}  // namespace

std::string resolveOutputPath(const std::string& path) {
  const std::string shown = printable(path, 4096);
  if (path.empty()) throw InputError("(empty path)", "no output file named");
  std::string p = path;
  for (int hops = 0;; ++hops) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0) {
      if (errno == ENOENT) break;  // a new file
      throw InputError(shown, sysErr("cannot write there"));
    }
    if (S_ISLNK(st.st_mode)) {
      if (hops > 40) throw InputError(shown, "too many levels of symbolic links (a symlink loop?)");
      char buf[PATH_MAX + 1];
      const ssize_t n = ::readlink(p.c_str(), buf, PATH_MAX);
      if (n < 0) throw InputError(shown, sysErr("cannot read the symlink"));
      std::string target(buf, static_cast<size_t>(n));
      p = (!target.empty() && target[0] == '/') ? target : dirOf(p) + "/" + target;
      continue;
    }
    if (S_ISDIR(st.st_mode)) throw InputError(shown, "is a folder; give a file name");
    if (!S_ISREG(st.st_mode))
      throw InputError(shown, "exists and is not a regular file (a device, FIFO or socket); refusing to replace it");
    break;
  }
  return p;
}

void writeAllFd(int fd, const void* data, size_t n, const std::string& what) {
  const char* c = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd, c, n > (1u << 30) ? (1u << 30) : n);
    if (w < 0) {
      if (errno == EINTR) continue;
      throw InputError(printable(what, 4096), sysErr("write failed"));
    }
    c += w;
    n -= static_cast<size_t>(w);
  }
}

void writeFileAtomic(const std::string& path, const std::function<void(int fd)>& write) {
  const std::string target = resolveOutputPath(path);
  const std::string dir = dirOf(target), base = baseOf(target);
  static std::atomic<unsigned> counter{0};
  std::string tmp;
  int fd = -1;
  for (int attempt = 0; fd < 0; ++attempt) {
    tmp = dir + "/." + base + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" +
          std::to_string(std::rand() & 0xffff);
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0666);
    if (fd < 0 && (errno != EEXIST || attempt > 100))
      throw InputError(printable(path, 4096), sysErr("cannot create a file in folder '" + printable(dir, 4096) + "'"));
  }
  try {
    write(fd);
    if (::fsync(fd) != 0) throw InputError(printable(path, 4096), sysErr("fsync failed"));
    const int rc = ::close(fd);
    fd = -1;
    if (rc != 0) throw InputError(printable(path, 4096), sysErr("close failed"));
    // Re-check just before replacing: never rename over a device or FIFO.
    resolveOutputPath(target);
    if (::rename(tmp.c_str(), target.c_str()) != 0)
      throw InputError(printable(path, 4096), sysErr("cannot replace the file"));
  } catch (...) {
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

void writeFileAtomic(const std::string& path, const std::string& bytes) {
  writeFileAtomic(path, [&](int fd) { writeAllFd(fd, bytes.data(), bytes.size(), path); });
}

}  // namespace zs
