#pragma once
// Joining PyTorch's distributed engine (LibTorch c10d process groups): Gloo on
// the CPU, NCCL for CUDA tensors when LibTorch was built with it. No torch in
// this header (the CLI and the rest of core use it); core/dist/dist_torch.h adds
// the tensor collectives for core/train.
//
// A process is one rank of a group when RANK, WORLD_SIZE, MASTER_ADDR and
// MASTER_PORT are set, as torchrun and Slurm wrappers set them (LOCAL_RANK
// too). Rank 0 hosts the rendezvous store (a c10d TCPStore) on MASTER_PORT,
// except under torchrun, whose agent hosts it (TORCHELASTIC_USE_AGENT_STORE).
//
// Failures are reported, not hung on:
//   - joining (InputError, the CLI's exit 3, before any work): a MASTER_PORT
//     already in use, a MASTER_ADDR that cannot be reached, ranks that
//     disagree on WORLD_SIZE or do not all turn up within the join timeout, two
//     processes with the same RANK;
//   - while working (PeerFailure, exit 1): a rank that dies makes every other
//     one stop within seconds (its connections close) or, when it stops
//     answering without closing them (a machine gone, a stopped process),
//     within the peer timeout (a heartbeat through the store); the message
//     names the rank.
// Timeouts come from the environment: ZSCOPE_DIST_TIMEOUT (seconds, default
// 60 for joining and 50 for the heartbeat, so that a silent rank is named within
// a minute; when set, both) and ZSCOPE_DIST_OP_TIMEOUT (default 1800: one
// collective, which must outlast what a rank does alone, e.g. rank 0's evaluation).
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace zs::dist {

// A rank stopped (died, became unreachable or failed) while the group was
// working. what() names it.
struct PeerFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Environment {
  int rank = 0, world = 1, localRank = 0, localWorld = 1;
  std::string masterAddr;
  int masterPort = 0;
  bool agentStore = false;  // torchrun: the store is the agent's (TORCHELASTIC_USE_AGENT_STORE=True)
  std::string restartCount = "0";
  std::string source;       // "RANK/WORLD_SIZE" or "SLURM_PROCID/SLURM_NTASKS"
};

// The environment of this process: nullopt when RANK and WORLD_SIZE are unset
// (and no Slurm task with MASTER_ADDR set). InputError on malformed or
// inconsistent values (RANK >= WORLD_SIZE, a port out of range, MASTER_ADDR missing).
std::optional<Environment> environment();

struct JoinOptions {
  double joinTimeoutS = 60;   // every rank must turn up within this
  double peerTimeoutS = 50;   // a rank without a heartbeat for this long is dead (checked every 1/12 of it)
  double opTimeoutS = 1800;   // one collective operation
  double heartbeatS = 0.5;
};
// Defaults, overridden by ZSCOPE_DIST_TIMEOUT / ZSCOPE_DIST_OP_TIMEOUT (InputError when malformed).
JoinOptions joinOptionsFromEnvironment();

class Group {
 public:
  // Rendezvous with the other ranks (see above). Throws InputError on every
  // joining failure, with one line saying what to check.
  static std::shared_ptr<Group> join(const Environment& env, const JoinOptions& opts);
  ~Group();
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;

  int rank() const;
  int world() const;
  int localRank() const;
  bool isRoot() const { return rank() == 0; }
  std::string backend() const;  // "gloo" (and "+nccl" when CUDA tensors go through NCCL)

  // Collectives: every rank must call the same ones in the same order. They
  // throw PeerFailure when a rank is gone.
  void barrier();
  // In place, element-wise over ranks; every rank gets the same bits.
  void allReduceSum(std::vector<double>& v);
  void allReduceSum(std::vector<int64_t>& v);
  double allReduceMin(double v);
  double allReduceMax(double v);
  // Every rank's buffer, in rank order (sizes may differ).
  std::vector<std::string> allGatherBytes(const std::string& mine);
  // Rank `root` gets every rank's buffer in rank order; the others get an empty vector.
  std::vector<std::string> gatherBytesToRoot(const std::string& mine, int root = 0);
  // root's buffer on every rank (the argument is ignored elsewhere).
  std::string broadcastBytes(const std::string& data, int root = 0);

  // Tells the others that this rank stops because of `why` (they name it in
  // their message). Best effort; call before leaving on an error.
  void noteFailure(const std::string& why);
  // Orderly end: marks this rank finished, waits for every rank, stops the heartbeat.
  void finish();

  struct Impl;
  Impl& impl() { return *impl_; }

 private:
  explicit Group(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The environment if set, joined: nullptr when this process is not one rank
// of several (no environment, or WORLD_SIZE 1).
std::shared_ptr<Group> joinFromEnvironment();

// 64-bit FNV-1a over bytes (weights hashes compared across ranks).
uint64_t fnv1a(const void* data, size_t n, uint64_t h = 14695981039346656037ULL);
std::string hex64(uint64_t v);

}  // namespace zs::dist
