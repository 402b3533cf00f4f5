#pragma once
// One way to write every file Zscope produces (issue 19): whatever is at the
// path is replaced only if it is a regular file (a device, FIFO, socket or
// folder is refused); a symlink is followed and its target replaced; the new
// content goes to a uniquely named temporary file next to the target, is
// fsynced and renamed over it, and nothing is left behind on failure.
#include <functional>
#include <string>

namespace zs {

// The path that will be written: symlinks resolved (a dangling one names its
// target); InputError when what exists there is not a regular file, or when the
// symlinks loop.
std::string resolveOutputPath(const std::string& path);

// Atomically writes what `write` produces. `write(fd)` writes into the open
// temporary file (use writeAllFd). Throws InputError naming the file.
void writeFileAtomic(const std::string& path, const std::function<void(int fd)>& write);
void writeFileAtomic(const std::string& path, const std::string& bytes);

// write(2) until done (EINTR retried); InputError naming `what` on failure.
void writeAllFd(int fd, const void* data, size_t n, const std::string& what);

}  // namespace zs
