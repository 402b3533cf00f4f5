#include "core/dist/launch.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <mutex>
#include <thread>

#include "core/base/error.h"

extern char** environ;

namespace zs::dist {

std::vector<std::string> selfArguments() {
  std::ifstream f("/proc/self/cmdline", std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::vector<std::string> out;
  size_t start = 0;
  while (start < all.size()) {
    size_t end = all.find('\0', start);
    if (end == std::string::npos) end = all.size();
    out.push_back(all.substr(start, end - start));
    start = end + 1;
  }
  if (!out.empty()) out.erase(out.begin());  // argv[0]
  return out;
}

std::vector<std::string> withoutOption(const std::vector<std::string>& args, const std::string& name) {
  std::vector<std::string> out;
  const std::string flag = "--" + name;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == flag) {
      ++i;  // and its value
      continue;
    }
    if (args[i].rfind(flag + "=", 0) == 0) continue;
    out.push_back(args[i]);
  }
  return out;
}

int freePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("cannot open a socket to find a free port");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot find a free TCP port on 127.0.0.1");
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

namespace {

std::mutex g_errMu;

void writeAll(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::write(fd, s.data() + off, s.size() - off);
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

// Copies fd to stderr, each line ('\n' or '\r' ended) prefixed.
void pump(int fd, std::string prefix) {
  std::string line;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    for (ssize_t i = 0; i < n; ++i) {
      line.push_back(buf[i]);
      if (buf[i] == '\n' || buf[i] == '\r') {
        // A progress bar's "\rtext": the carriage return alone, then the prefixed text.
        std::lock_guard<std::mutex> lock(g_errMu);
        writeAll(2, line.size() == 1 ? line : prefix + line);
        line.clear();
      }
    }
  }
  if (!line.empty()) {
    std::lock_guard<std::mutex> lock(g_errMu);
    writeAll(2, prefix + line + "\n");
  }
  ::close(fd);
}

std::string describe(int status) {
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    int s = WTERMSIG(status);
    const char* name = ::strsignal(s);
    return "was killed by signal " + std::to_string(s) + (name ? std::string(" (") + name + ")" : std::string());
  }
  return "ended (status " + std::to_string(status) + ")";
}

}  // namespace

int launchLocal(const LaunchOptions& o) {
  if (o.nproc < 1) throw UsageError("--nproc must be at least 1");
  char exe[4096];
  ssize_t len = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (len <= 0) throw std::runtime_error("cannot find this program (/proc/self/exe)");
  exe[len] = 0;
  const int port = freePort();
  struct Child {
    pid_t pid = -1;
    bool done = false;
    int status = 0;
    std::thread reader;
  };
  std::vector<Child> kids(static_cast<size_t>(o.nproc));
  const pid_t parent = ::getpid();
  const int devnull = o.discardStdout ? ::open("/dev/null", O_WRONLY | O_CLOEXEC) : -1;
  for (int r = 0; r < o.nproc; ++r) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("cannot create a pipe for rank " + std::to_string(r));
    // Everything the child needs is prepared before fork (no allocation after it).
    std::vector<std::string> envs;
    for (char** e = environ; *e; ++e) {
      std::string s = *e;
      bool ours = false;
      for (const char* k : {"RANK=", "WORLD_SIZE=", "LOCAL_RANK=", "LOCAL_WORLD_SIZE=", "MASTER_ADDR=", "MASTER_PORT=",
                            "TORCHELASTIC_USE_AGENT_STORE="})
        ours = ours || s.rfind(k, 0) == 0;
      if (!ours) envs.push_back(s);
    }
    envs.push_back("RANK=" + std::to_string(r));
    envs.push_back("WORLD_SIZE=" + std::to_string(o.nproc));
    envs.push_back("LOCAL_RANK=" + std::to_string(r));
    envs.push_back("LOCAL_WORLD_SIZE=" + std::to_string(o.nproc));
    envs.push_back("MASTER_ADDR=127.0.0.1");
    envs.push_back("MASTER_PORT=" + std::to_string(port));
    if (o.gpuPerRank && !std::getenv("CUDA_VISIBLE_DEVICES")) envs.push_back("CUDA_VISIBLE_DEVICES=" + std::to_string(r));
    std::vector<char*> envp, argv;
    for (auto& s : envs) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::vector<std::string> args = o.args;
    argv.push_back(exe);
    for (auto& s : args) argv.push_back(s.data());
    argv.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("cannot start rank " + std::to_string(r));
    if (pid == 0) {
      ::setpgid(0, 0);  // Ctrl+C reaches the launcher only, which passes it on once
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != parent) ::_exit(1);
      ::dup2(fds[1], 2);
      if (devnull >= 0) ::dup2(devnull, 1);
      ::close(fds[0]);
      ::close(fds[1]);
      ::execve(exe, argv.data(), envp.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    kids[r].pid = pid;
    kids[r].reader = std::thread(pump, fds[0], "[rank " + std::to_string(r) + "] ");
  }

  int remaining = o.nproc, failed = -1, rc = 0;
  bool interrupted = false;
  auto failedAt = std::chrono::steady_clock::now();
  bool killed = false;
  while (remaining > 0) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      for (int r = 0; r < o.nproc; ++r) {
        if (kids[r].pid != pid || kids[r].done) continue;
        kids[r].done = true;
        kids[r].status = status;
        --remaining;
        const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (!ok && failed < 0 && !interrupted) {
          failed = r;
          failedAt = std::chrono::steady_clock::now();
          rc = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
        }
      }
      continue;
    }
    if (!interrupted && o.cancel && o.cancel->load()) {
      interrupted = true;
      ::alarm(0);  // the CLI's 20 s hard stop: the ranks save a checkpoint first
      for (auto& k : kids)
        if (!k.done) ::kill(k.pid, SIGINT);
    }
    if (failed >= 0 && !killed &&
        std::chrono::duration<double>(std::chrono::steady_clock::now() - failedAt).count() > o.graceS) {
      killed = true;
      for (auto& k : kids)
        if (!k.done) ::kill(k.pid, SIGKILL);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (auto& k : kids) k.reader.join();
  if (devnull >= 0) ::close(devnull);
  if (failed >= 0) {
    std::string others;
    for (int r = 0; r < o.nproc; ++r)
      if (r != failed && !(WIFEXITED(kids[r].status) && WEXITSTATUS(kids[r].status) == 0))
        others += (others.empty() ? "" : ", ") + std::to_string(r);
    std::lock_guard<std::mutex> lock(g_errMu);
    std::string msg = "zscope-cli: rank " + std::to_string(failed) + " of " + std::to_string(o.nproc) + " " +
                      describe(kids[failed].status) +
                      (others.empty() ? std::string() : "; stopped the other rank(s) " + others) + "\n";
    writeAll(2, msg);
    return rc == 0 ? 1 : rc;
  }
  if (interrupted) return 130;
  return 0;
}

}  // namespace zs::dist
