// main() of every plain (Qt-free) test executable: runs the ZS_TEST cases.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <thread>

#include "tests/support/check.h"

extern char** environ;

namespace zs::test {

std::string tempDir() {
  static struct Dir {
    std::string path;
    Dir() {
      std::random_device rd;
      auto base = std::filesystem::temp_directory_path();
      for (int i = 0; i < 100 && path.empty(); ++i) {
        auto p = base / ("zscope-test-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
        std::error_code ec;
        if (std::filesystem::create_directory(p, ec)) path = p.string();
      }
      if (path.empty()) throw std::runtime_error("cannot create a temporary folder");
    }
    ~Dir() {
      std::error_code ec;
      if (!path.empty()) std::filesystem::remove_all(path, ec);
    }
  } dir;
  return dir.path;
}

namespace {
std::string readWhole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}
}  // namespace

ProcessResult runProcess(const std::vector<std::string>& args, double timeoutSeconds) {
  static std::atomic<int> counter{0};
  if (args.empty()) throw std::invalid_argument("runProcess: no program");
  const std::string base = tempDir() + "/proc-" + std::to_string(counter++);
  const std::string outPath = base + ".out", errPath = base + ".err";
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, outPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&fa, 2, errPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, args[0].c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) throw std::runtime_error("cannot start " + args[0] + ": " + std::strerror(rc));
  ProcessResult r;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeoutSeconds);
  int status = 0;
  for (;;) {
    const pid_t w = waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) throw std::runtime_error("waitpid failed for " + args[0]);
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      r.timedOut = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (WIFEXITED(status) && !r.timedOut) {
    r.code = WEXITSTATUS(status);
  } else {
    r.crashed = true;
  }
  r.out = readWhole(outPath);
  r.err = readWhole(errPath);
  if (r.timedOut) r.err += "\n[timed out after " + std::to_string(timeoutSeconds) + " s]";
  std::remove(outPath.c_str());
  std::remove(errPath.c_str());
  return r;
}

}  // namespace zs::test

int main(int argc, char** argv) {
  const std::string filter = argc > 1 ? argv[1] : "";
  int passed = 0, failed = 0, skipped = 0;
  for (const auto& c : zs::test::registry()) {
    if (!filter.empty() && c.name.find(filter) == std::string::npos) continue;
    const auto t0 = std::chrono::steady_clock::now();
    std::string outcome;
    try {
      c.fn();
      ++passed;
      outcome = "PASS";
    } catch (const zs::test::Skipped& s) {
      ++skipped;
      outcome = "SKIP (" + s.why + ")";
    } catch (const zs::test::Failure& f) {
      ++failed;
      outcome = std::string("FAIL ") + f.what();
    } catch (const std::exception& e) {
      ++failed;
      outcome = std::string("FAIL uncaught exception: ") + e.what();
    } catch (...) {
      ++failed;
      outcome = "FAIL uncaught non-standard exception";
    }
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    std::cout << outcome << "  " << c.name << " (" << static_cast<long>(ms) << " ms)" << std::endl;
  }
  std::cout << passed << " passed, " << failed << " failed, " << skipped << " skipped" << std::endl;
  return failed == 0 ? 0 : 1;
}
