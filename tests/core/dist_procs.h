#pragma once
// Processes for the distributed tests: zscope-cli ranks started with their own
// environment (RANK, WORLD_SIZE, ... as torchrun sets them), stdout and stderr
// in files, waited for with a time limit, killed by pid.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/check.h"

extern char** environ;

namespace zs::test {

struct Proc {
  pid_t pid = -1;
  std::string out, err;  // file paths
  int status = 0;
  bool exited = false;
  double seconds = 0;  // from start to exit (waitProc)
  std::chrono::steady_clock::time_point start;
};

inline std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// argv[0] is a path; env entries ("K=V") are added to (and override) this process's environment.
inline Proc spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env) {
  static int counter = 0;
  Proc p;
  const std::string base = tempDir() + "/rank-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  p.out = base + ".out";
  p.err = base + ".err";
  std::vector<std::string> envs;
  for (char** e = environ; *e; ++e) {
    std::string s = *e;
    bool overridden = false;
    for (const auto& x : env) overridden = overridden || s.substr(0, s.find('=') + 1) == x.substr(0, x.find('=') + 1);
    if (!overridden) envs.push_back(s);
  }
  envs.insert(envs.end(), env.begin(), env.end());
  std::vector<std::string> args = argv;
  std::vector<char*> av, ev;
  for (auto& s : args) av.push_back(s.data());
  av.push_back(nullptr);
  for (auto& s : envs) ev.push_back(s.data());
  ev.push_back(nullptr);
  std::string out = p.out, err = p.err;
  p.start = std::chrono::steady_clock::now();
  p.pid = ::fork();
  if (p.pid == 0) {
    FILE* o = std::freopen(out.c_str(), "w", stdout);
    FILE* e = std::freopen(err.c_str(), "w", stderr);
    FILE* i = std::freopen("/dev/null", "r", stdin);
    (void)o, (void)e, (void)i;
    ::execve(av[0], av.data(), ev.data());
    ::_exit(127);
  }
  return p;
}

// Waits up to timeoutS; false (and the process killed) on timeout.
inline bool waitProc(Proc& p, double timeoutS) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeoutS);
  for (;;) {
    pid_t r = ::waitpid(p.pid, &p.status, WNOHANG);
    if (r == p.pid) {
      p.exited = true;
      p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - p.start).count();
      return true;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(p.pid, SIGKILL);
      ::waitpid(p.pid, &p.status, 0);
      p.exited = true;
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

inline int exitCode(const Proc& p) { return WIFEXITED(p.status) ? WEXITSTATUS(p.status) : -WTERMSIG(p.status); }

// kill -9 of rank 1, then: rank 0 stops by itself within 20 s, exit 1, with one
// message naming rank 1 as dead.
inline void killRankOneAndExpectItNamed(Proc& r0, Proc& r1) {
  ::kill(r1.pid, SIGKILL);
  const auto killed = std::chrono::steady_clock::now();
  ZS_CHECK(waitProc(r0, 60));
  waitProc(r1, 5);
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count();
  const std::string err = slurp(r0.err);
  ZS_CONTEXT(err);
  ZS_CHECK_EQ(exitCode(r0), 1);
  ZS_CHECK(err.find("rank 1 died") != std::string::npos);
  ZS_CHECK_LT(took, 20.0);
}

// The torchrun-style environment of one rank on 127.0.0.1.
inline std::vector<std::string> rankEnv(int rank, int world, int port, double timeoutS) {
  return {"RANK=" + std::to_string(rank), "WORLD_SIZE=" + std::to_string(world),
          "LOCAL_RANK=" + std::to_string(rank), "MASTER_ADDR=127.0.0.1", "MASTER_PORT=" + std::to_string(port),
          "ZSCOPE_DIST_TIMEOUT=" + std::to_string(timeoutS)};
}

// Children of `parent` (the ranks a --nproc launcher started).
inline std::vector<pid_t> childrenOf(pid_t parent) {
  std::vector<pid_t> out;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string stat = slurp(e.path().string() + "/stat");
    auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream s(stat.substr(close + 2));
    char state;
    long ppid = 0;
    s >> state >> ppid;
    if (ppid == parent) out.push_back(static_cast<pid_t>(std::stol(name)));
  }
  return out;
}

}  // namespace zs::test

namespace zs::test {
// The RANK in a process's environment (-1 when none).
inline int rankOfProcess(pid_t pid) {
  std::string env = slurp("/proc/" + std::to_string(pid) + "/environ");
  size_t start = 0;
  while (start < env.size()) {
    size_t end = env.find('\0', start);
    if (end == std::string::npos) end = env.size();
    if (env.compare(start, 5, "RANK=") == 0) return std::stoi(env.substr(start + 5, end - start - 5));
    start = end + 1;
  }
  return -1;
}
}  // namespace zs::test
