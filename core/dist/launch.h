#pragma once
// `--nproc N`: a command runs itself N times as the ranks of one group on this
// machine (no torch here; the CLI calls it). Each copy gets RANK, WORLD_SIZE,
// LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR=127.0.0.1 and MASTER_PORT (a free
// port) in its environment, as torchrun would set them, and joins with
// zs::dist::joinFromEnvironment().
#include <atomic>
#include <string>
#include <vector>

namespace zs::dist {

// This process's command line (argv[1..]), from /proc/self/cmdline.
std::vector<std::string> selfArguments();
// args without every "--name VALUE" / "--name=VALUE".
std::vector<std::string> withoutOption(const std::vector<std::string>& args, const std::string& name);

struct LaunchOptions {
  int nproc = 2;
  std::vector<std::string> args;          // the ranks' arguments (argv[1..]) of this program (/proc/self/exe)
  const std::atomic<bool>* cancel = nullptr;  // Ctrl+C: the ranks get SIGINT once and save what they can
  double graceS = 10;  // after one rank fails, the others get this long to stop by themselves, then SIGKILL
  bool discardStdout = false;
  // One GPU per rank: rank k sees only GPU k (CUDA_VISIBLE_DEVICES=k), unless
  // CUDA_VISIBLE_DEVICES is already set. For machines with a GPU per rank.
  bool gpuPerRank = false;  // the ranks' stdout to /dev/null (a caller that reads their files instead)
};

// Starts the ranks (each in its own process group, ended when this process
// dies) with their stderr lines prefixed "[rank k] " and stdout passed through;
// waits for all. When one fails (exit code != 0, or a signal), the others are
// stopped and one line names it. Returns 0 when every rank succeeded, 130 when
// interrupted, else the first failing rank's exit code (1 when it was killed
// by a signal).
int launchLocal(const LaunchOptions& opts);

// A TCP port on 127.0.0.1 that was free a moment ago.
int freePort();

}  // namespace zs::dist
