#include "core/dist/dist.h"

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/torch.h>
#include <glog/logging.h>
#ifdef ZSCOPE_WITH_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <atomic>
#include <chrono>
#include <csignal>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <thread>

#include "core/base/error.h"
#include "core/dist/dist_torch.h"

namespace zs::dist {

using namespace std::chrono;
using Clock = steady_clock;

namespace {

std::string envStr(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

int parseInt(const std::string& name, const std::string& v, int lo, int hi) {
  size_t pos = 0;
  long long x = 0;
  try {
    x = std::stoll(v, &pos);
  } catch (const std::exception&) {
    pos = 0;
  }
  if (v.empty() || pos != v.size() || x < lo || x > hi)
    throw InputError(name, "'" + v + "' is not an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                               "] (set by the launcher: torchrun, srun or zscope-cli --nproc)");
  return static_cast<int>(x);
}

double envSeconds(const char* name, double def) {
  std::string v = envStr(name);
  if (v.empty()) return def;
  size_t pos = 0;
  double x = -1;
  try {
    x = std::stod(v, &pos);
  } catch (const std::exception&) {
    pos = 0;
  }
  if (pos != v.size() || !std::isfinite(x) || x <= 0 || x > 1e7)
    throw InputError(name, "'" + v + "' is not a positive number of seconds");
  return x;
}

milliseconds ms(double s) { return milliseconds(static_cast<int64_t>(std::ceil(s * 1000))); }

bool isLoopback(const std::string& a) { return a == "localhost" || a.rfind("127.", 0) == 0 || a == "::1"; }

std::vector<uint8_t> bytesOf(const std::string& s) { return std::vector<uint8_t>(s.begin(), s.end()); }
std::string strOf(const std::vector<uint8_t>& v) { return std::string(v.begin(), v.end()); }

// One line from a c10 error (they carry a C++ backtrace after the first line).
std::string firstLine(const std::string& s) {
  auto nl = s.find('\n');
  return nl == std::string::npos ? s : s.substr(0, nl);
}

}  // namespace

std::optional<Environment> environment() {
  Environment e;
  std::string rank = envStr("RANK"), world = envStr("WORLD_SIZE");
  if (rank.empty() && world.empty()) {
    // Slurm without a wrapper: srun starts the tasks, the batch script exports MASTER_ADDR/PORT.
    if (envStr("SLURM_PROCID").empty() || envStr("SLURM_NTASKS").empty() || envStr("MASTER_ADDR").empty())
      return std::nullopt;
    rank = envStr("SLURM_PROCID");
    world = envStr("SLURM_NTASKS");
    e.source = "SLURM_PROCID/SLURM_NTASKS";
    if (envStr("LOCAL_RANK").empty() && !envStr("SLURM_LOCALID").empty())
      e.localRank = parseInt("SLURM_LOCALID", envStr("SLURM_LOCALID"), 0, 1 << 20);
  } else {
    if (rank.empty()) throw InputError("RANK", "WORLD_SIZE is set but RANK is not");
    if (world.empty()) throw InputError("WORLD_SIZE", "RANK is set but WORLD_SIZE is not");
    e.source = "RANK/WORLD_SIZE";
  }
  e.world = parseInt(e.source == "RANK/WORLD_SIZE" ? "WORLD_SIZE" : "SLURM_NTASKS", world, 1, 1 << 20);
  e.rank = parseInt(e.source == "RANK/WORLD_SIZE" ? "RANK" : "SLURM_PROCID", rank, 0, 1 << 20);
  if (e.rank >= e.world)
    throw InputError("RANK", std::to_string(e.rank) + " is not below WORLD_SIZE " + std::to_string(e.world));
  if (!envStr("LOCAL_RANK").empty()) e.localRank = parseInt("LOCAL_RANK", envStr("LOCAL_RANK"), 0, 1 << 20);
  else if (e.source == "RANK/WORLD_SIZE") e.localRank = e.rank;
  e.localWorld = envStr("LOCAL_WORLD_SIZE").empty() ? e.world
                                                    : parseInt("LOCAL_WORLD_SIZE", envStr("LOCAL_WORLD_SIZE"), 1, 1 << 20);
  e.masterAddr = envStr("MASTER_ADDR");
  if (e.world > 1 && e.masterAddr.empty()) throw InputError("MASTER_ADDR", "not set (the address of rank 0's host)");
  std::string port = envStr("MASTER_PORT");
  if (e.world > 1 && port.empty()) throw InputError("MASTER_PORT", "not set (a free TCP port on rank 0's host)");
  if (!port.empty()) e.masterPort = parseInt("MASTER_PORT", port, 1, 65535);
  e.agentStore = envStr("TORCHELASTIC_USE_AGENT_STORE") == "True";
  if (!envStr("TORCHELASTIC_RESTART_COUNT").empty()) e.restartCount = envStr("TORCHELASTIC_RESTART_COUNT");
  return e;
}

JoinOptions joinOptionsFromEnvironment() {
  JoinOptions o;
  o.joinTimeoutS = envSeconds("ZSCOPE_DIST_TIMEOUT", o.joinTimeoutS);
  o.peerTimeoutS = envSeconds("ZSCOPE_DIST_TIMEOUT", o.peerTimeoutS);
  o.opTimeoutS = envSeconds("ZSCOPE_DIST_OP_TIMEOUT", o.opTimeoutS);
  o.heartbeatS = std::min(o.heartbeatS, o.peerTimeoutS / 4);
  return o;
}

uint64_t fnv1a(const void* data, size_t n, uint64_t h) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 1099511628211ULL;
  }
  return h;
}

std::string hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

struct Group::Impl {
  Environment env;
  JoinOptions opts;
  c10::intrusive_ptr<c10d::Store> store;    // the rendezvous (handshake, process group)
  c10::intrusive_ptr<c10d::Store> hbStore;  // the heartbeat thread's own connection
  // The concrete classes: LibTorch 2.x derives them from c10d::Backend, 1.13 from c10d::ProcessGroup.
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg;
#ifdef ZSCOPE_WITH_NCCL
  c10::intrusive_ptr<c10d::ProcessGroupNCCL> nccl;  // created on the first CUDA tensor
#endif
  std::thread heartbeat;
  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;
  std::atomic<bool> failing{false};  // a collective failed: the watchdog stays quiet
  std::atomic<bool> finishing{false};
  bool finished = false;

  std::string where() const { return env.masterAddr + ":" + std::to_string(env.masterPort); }

  c10::intrusive_ptr<c10d::Store> connect(bool server, double timeoutS) {
    c10d::TCPStoreOptions o;
    o.port = static_cast<uint16_t>(env.masterPort);
    o.isServer = server;
    o.numWorkers = c10::nullopt;
    o.waitWorkers = false;
    o.timeout = ms(timeoutS);
    c10::intrusive_ptr<c10d::Store> s = c10::make_intrusive<c10d::TCPStore>(env.masterAddr, o);
    std::string prefix = env.agentStore ? "/worker/attempt_" + env.restartCount + "/zscope" : "zscope";
    return c10::make_intrusive<c10d::PrefixStore>(prefix, s);
  }

  std::string key(const std::string& what, int r) const { return what + "/" + std::to_string(r); }

  // Waits for any of `keys` (polling, so that an abort note is seen); "" on timeout.
  std::string waitAny(const std::vector<std::string>& keys, Clock::time_point deadline) {
    for (;;) {
      for (const auto& k : keys)
        if (store->check({k})) return k;
      if (Clock::now() >= deadline) return "";
      std::this_thread::sleep_for(milliseconds(50));
    }
  }

  void abortJoin(const std::string& msg) {
    try {
      store->set("abort", bytesOf(msg));
      // The store lives in this process (rank 0): give the others a moment to read why.
      if (env.rank == 0 && !env.agentStore) std::this_thread::sleep_for(milliseconds(1500));
    } catch (const std::exception&) {
    }
    throw InputError("distributed rendezvous at " + where(), msg);
  }

  void handshake() {
    const auto deadline = Clock::now() + ms(opts.joinTimeoutS);
    const int64_t n = store->add(key("join", env.rank), 1);
    if (n > 1) abortJoin("two processes were started with RANK " + std::to_string(env.rank));
    store->set(key("hb", env.rank), bytesOf("0"));
    store->set(key("world", env.rank), bytesOf(std::to_string(env.world)));
    if (env.rank == 0) {
      std::vector<int> missing;
      for (int r = 1; r < env.world; ++r) {
        std::string k = key("world", r);
        if (waitAny({k}, deadline).empty()) {
          missing.push_back(r);
          continue;
        }
        std::string w = strOf(store->get(k));
        if (w != std::to_string(env.world))
          abortJoin("rank " + std::to_string(r) + " has WORLD_SIZE " + w + ", rank 0 has " +
                    std::to_string(env.world) + "; every rank needs the same WORLD_SIZE");
      }
      if (!missing.empty()) {
        std::string list;
        for (size_t i = 0; i < missing.size() && i < 8; ++i) list += (i ? ", " : "") + std::to_string(missing[i]);
        if (missing.size() > 8) list += ", ...";
        abortJoin("only " + std::to_string(env.world - static_cast<int>(missing.size())) + " of WORLD_SIZE " +
                  std::to_string(env.world) + " ranks joined within " + std::to_string(static_cast<int>(opts.joinTimeoutS)) +
                  " s (missing: rank " + list + "); check WORLD_SIZE and that every rank was started "
                  "(ZSCOPE_DIST_TIMEOUT sets the wait)");
      }
      store->set("ready", bytesOf(std::to_string(env.world)));
    } else {
      std::string k;
      try {
        k = waitAny({"ready", "abort"}, deadline);
      } catch (const std::exception&) {
        throw InputError("distributed rendezvous at " + where(),
                         "rank 0 left the rendezvous (see its message; check WORLD_SIZE and MASTER_PORT)");
      }
      if (k.empty())
        throw InputError("distributed rendezvous at " + where(),
                         "rank 0 did not complete the rendezvous within " +
                             std::to_string(static_cast<int>(opts.joinTimeoutS)) +
                             " s (a rank missing, or ranks started with different WORLD_SIZE or MASTER_PORT)");
      if (k == "abort") throw InputError("distributed rendezvous at " + where(), strOf(store->get("abort")));
      std::string w = strOf(store->get("ready"));
      if (w != std::to_string(env.world))
        throw InputError("distributed rendezvous at " + where(), "this rank has WORLD_SIZE " +
                                                                     std::to_string(env.world) + ", rank 0 has " + w +
                                                                     "; every rank needs the same WORLD_SIZE");
    }
  }

  // Which ranks are gone, judged from the store: heartbeats that stopped, notes left.
  std::string diagnose(const std::string& cause) {
    failing = true;
    std::map<int, std::string> notes;
    std::vector<int64_t> first(env.world, -1), last(env.world, -1);
    auto readAll = [&](std::vector<int64_t>& out) {
      for (int r = 0; r < env.world; ++r) {
        if (r == env.rank) continue;
        if (hbStore->check({key("down", r)})) notes[r] = strOf(hbStore->get(key("down", r)));
        out[r] = std::stoll(strOf(hbStore->get(key("hb", r))));
      }
    };
    try {
      hbStore->set(key("down", env.rank), bytesOf("stopped after: " + cause));
      readAll(first);
      const auto until = Clock::now() + ms(std::min(1.5, opts.peerTimeoutS));  // three heartbeats
      while (Clock::now() < until) std::this_thread::sleep_for(milliseconds(100));
      readAll(last);
    } catch (const std::exception&) {
      if (env.rank != 0 && !env.agentStore)
        return "rank 0 is gone (it hosted the rendezvous store at " + where() + ", which no longer answers)";
      return "lost the rendezvous store at " + where() + " (" + firstLine(cause) + ")";
    }
    std::string dead, failed;
    for (int r = 0; r < env.world; ++r) {
      if (r == env.rank) continue;
      auto it = notes.find(r);
      if (it != notes.end()) {
        if (it->second.rfind("stopped after:", 0) != 0)
          failed += (failed.empty() ? "" : "; ") + std::string("rank ") + std::to_string(r) + " failed: " + it->second;
      } else if (first[r] == last[r]) {
        dead += (dead.empty() ? "" : ", ") + std::to_string(r);
      }
    }
    if (!failed.empty()) return failed;
    if (!dead.empty())
      return std::string(dead.find(',') == std::string::npos ? "rank " : "ranks ") + dead +
             " died or became unreachable (no heartbeat since the failure)";
    return "a collective operation failed: " + firstLine(cause);
  }

  [[noreturn]] void fail(const std::exception& e) {
    std::string msg = diagnose(e.what());
    throw PeerFailure("rank " + std::to_string(env.rank) + ": " + msg + "; stopping");
  }

  void run(const c10::intrusive_ptr<c10d::Work>& w) {
    try {
      w->wait(ms(opts.opTimeoutS));
    } catch (const std::exception& e) {
      fail(e);
    }
  }

  void heartbeatLoop() {
    int64_t beat = 0;
    std::vector<int64_t> seen(env.world, -1);
    std::vector<Clock::time_point> since(env.world, Clock::now());
    const double checkEvery = std::max(opts.heartbeatS, opts.peerTimeoutS / 12);
    Clock::time_point lastCheck = Clock::now();
    std::unique_lock<std::mutex> lock(mu);
    while (!stop) {
      lock.unlock();
      std::string problem;
      try {
        hbStore->set(key("hb", env.rank), bytesOf(std::to_string(++beat)));
        const bool check = duration<double>(Clock::now() - lastCheck).count() >= checkEvery;
        if (check) lastCheck = Clock::now();
        for (int r = 0; r < env.world && check; ++r) {
          if (r == env.rank) continue;
          if (hbStore->check({key("done", r)}) || hbStore->check({key("down", r)})) {
            since[r] = Clock::now();
            continue;
          }
          int64_t v = std::stoll(strOf(hbStore->get(key("hb", r))));
          if (v != seen[r]) {
            seen[r] = v;
            since[r] = Clock::now();
          } else if (duration<double>(Clock::now() - since[r]).count() > opts.peerTimeoutS) {
            problem = "rank " + std::to_string(r) + " stopped responding (no heartbeat for " +
                      std::to_string(static_cast<int>(opts.peerTimeoutS)) + " s; ZSCOPE_DIST_TIMEOUT sets the limit)";
            break;
          }
        }
      } catch (const std::exception& e) {
        problem = env.rank != 0 && !env.agentStore
                      ? "rank 0 is gone (the rendezvous store at " + where() + " it hosted no longer answers)"
                      : "lost the rendezvous store at " + where() + " (" + firstLine(e.what()) + ")";
      }
      lock.lock();
      if (stop) break;
      // Finishing: past the final barrier rank 0 may take the store down at any moment.
      if (finishing) problem.clear();
      if (!problem.empty() && !failing.exchange(true)) {
        // Nothing else can be trusted to return (a collective may wait on the
        // dead rank for the op timeout): one line, and out.
        std::fprintf(stderr, "zscope: rank %d: %s; stopping\n", env.rank, problem.c_str());
        std::fflush(stderr);
        std::_Exit(1);
      }
      cv.wait_for(lock, ms(opts.heartbeatS), [&] { return stop; });
    }
  }

  void stopHeartbeat() {
    {
      std::lock_guard<std::mutex> lock(mu);
      stop = true;
    }
    cv.notify_all();
    if (heartbeat.joinable()) heartbeat.join();
  }
};

Group::Group(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Group::~Group() {
  impl_->stopHeartbeat();
  try {
    impl_->pg.reset();
  } catch (...) {
  }
}

std::shared_ptr<Group> Group::join(const Environment& env, const JoinOptions& opts) {
  // c10d logs every failed bind/connect attempt through glog; the one line
  // thrown below says it better.
  struct QuietGlog {
    int old = FLAGS_minloglevel;
    QuietGlog() { FLAGS_minloglevel = google::GLOG_FATAL; }
    ~QuietGlog() { FLAGS_minloglevel = old; }
  } quiet;
  // A peer that dies closes its sockets; writing to them must be an error
  // (EPIPE, then PeerFailure), not SIGPIPE ending this process silently.
  std::signal(SIGPIPE, SIG_IGN);
  auto im = std::make_unique<Impl>();
  im->env = env;
  im->opts = opts;
  const bool server = env.rank == 0 && !env.agentStore;
  try {
    im->store = im->connect(server, opts.joinTimeoutS);
  } catch (const std::exception& e) {
    std::string what = firstLine(e.what());
    if (server && (what.find("in use") != std::string::npos || what.find("errno: 98") != std::string::npos))
      throw InputError("MASTER_PORT", std::to_string(env.masterPort) + " is already in use on " + env.masterAddr +
                                          " (another job?); choose a free port");
    if (server)
      throw InputError("MASTER_ADDR", "rank 0 cannot listen on " + im->where() + ": " + what +
                                          " (MASTER_ADDR must be an address of rank 0's host)");
    throw InputError("MASTER_ADDR", "rank " + std::to_string(env.rank) + " cannot reach the rendezvous at " +
                                        im->where() + " within " + std::to_string(static_cast<int>(opts.joinTimeoutS)) +
                                        " s: " + what);
  }
  try {
    im->hbStore = im->connect(false, opts.joinTimeoutS);
    im->handshake();
  } catch (const InputError&) {
    throw;
  } catch (const std::exception& e) {
    throw InputError("distributed rendezvous at " + im->where(), firstLine(e.what()));
  }
  try {
    auto o = c10d::ProcessGroupGloo::Options::create(ms(opts.opTimeoutS));
    const std::string ifname = envStr("GLOO_SOCKET_IFNAME");
    if (!ifname.empty()) o->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
    else if (isLoopback(env.masterAddr)) o->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    else o->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    auto pgStore = c10::make_intrusive<c10d::PrefixStore>("gloo", im->store);
    im->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(pgStore, env.rank, env.world, o);
  } catch (const std::exception& e) {
    throw InputError("distributed rendezvous at " + im->where(),
                     "the Gloo process group could not connect the ranks: " + firstLine(e.what()) +
                         " (GLOO_SOCKET_IFNAME chooses the network interface)");
  }
  Impl* raw = im.get();
  im->heartbeat = std::thread([raw] { raw->heartbeatLoop(); });
  return std::shared_ptr<Group>(new Group(std::move(im)));
}

std::shared_ptr<Group> joinFromEnvironment() {
  auto env = environment();
  if (!env || env->world <= 1) return nullptr;
  return Group::join(*env, joinOptionsFromEnvironment());
}

int Group::rank() const { return impl_->env.rank; }
int Group::world() const { return impl_->env.world; }
int Group::localRank() const { return impl_->env.localRank; }
std::string Group::backend() const {
#ifdef ZSCOPE_WITH_NCCL
  return "gloo+nccl";
#else
  return "gloo";
#endif
}

void Group::barrier() { impl_->run(impl_->pg->barrier()); }

namespace {
template <typename T>
void reduceVec(Group::Impl& im, std::vector<T>& v, c10d::ReduceOp op, torch::ScalarType type) {
  if (v.empty()) return;
  std::vector<at::Tensor> t{torch::from_blob(v.data(), {static_cast<int64_t>(v.size())}, type).clone()};
  c10d::AllreduceOptions o;
  o.reduceOp = op;
  im.run(im.pg->allreduce(t, o));
  std::memcpy(v.data(), t[0].data_ptr(), v.size() * sizeof(T));
}
}  // namespace

void Group::allReduceSum(std::vector<double>& v) { reduceVec(*impl_, v, c10d::ReduceOp::SUM, torch::kFloat64); }
void Group::allReduceSum(std::vector<int64_t>& v) { reduceVec(*impl_, v, c10d::ReduceOp::SUM, torch::kInt64); }
double Group::allReduceMin(double x) {
  std::vector<double> v{x};
  reduceVec(*impl_, v, c10d::ReduceOp::MIN, torch::kFloat64);
  return v[0];
}
double Group::allReduceMax(double x) {
  std::vector<double> v{x};
  reduceVec(*impl_, v, c10d::ReduceOp::MAX, torch::kFloat64);
  return v[0];
}

namespace {
at::Tensor bytesTensor(const std::string& s, int64_t n) {
  auto t = torch::zeros({std::max<int64_t>(n, 1)}, torch::kUInt8);
  if (!s.empty()) std::memcpy(t.data_ptr(), s.data(), s.size());
  return t;
}
}  // namespace

std::vector<std::string> Group::allGatherBytes(const std::string& mine) {
  const int W = world();
  std::vector<at::Tensor> in{torch::tensor({static_cast<int64_t>(mine.size())}, torch::kInt64)};
  std::vector<std::vector<at::Tensor>> out(1);
  for (int r = 0; r < W; ++r) out[0].push_back(torch::zeros({1}, torch::kInt64));
  impl_->run(impl_->pg->allgather(out, in));
  std::vector<int64_t> sizes;
  int64_t mx = 0;
  for (auto& t : out[0]) {
    sizes.push_back(t.item<int64_t>());
    mx = std::max(mx, sizes.back());
  }
  std::vector<at::Tensor> data{bytesTensor(mine, mx)};
  std::vector<std::vector<at::Tensor>> got(1);
  for (int r = 0; r < W; ++r) got[0].push_back(torch::zeros({std::max<int64_t>(mx, 1)}, torch::kUInt8));
  impl_->run(impl_->pg->allgather(got, data));
  std::vector<std::string> res;
  for (int r = 0; r < W; ++r) res.emplace_back(static_cast<const char*>(got[0][r].data_ptr()), static_cast<size_t>(sizes[r]));
  return res;
}

std::vector<std::string> Group::gatherBytesToRoot(const std::string& mine, int root) {
  const int W = world();
  // Sizes first (every rank needs the padded length), then the bytes to root only.
  std::vector<int64_t> sizes(W, 0);
  sizes[rank()] = static_cast<int64_t>(mine.size());
  allReduceSum(sizes);
  int64_t mx = 1;
  for (int64_t s : sizes) mx = std::max(mx, s);
  std::vector<at::Tensor> in{bytesTensor(mine, mx)};
  std::vector<std::vector<at::Tensor>> out;
  if (rank() == root) {
    out.resize(1);
    for (int r = 0; r < W; ++r) out[0].push_back(torch::zeros({mx}, torch::kUInt8));
  }
  c10d::GatherOptions o;
  o.rootRank = root;
  impl_->run(impl_->pg->gather(out, in, o));
  std::vector<std::string> res;
  if (rank() != root) return res;
  for (int r = 0; r < W; ++r) res.emplace_back(static_cast<const char*>(out[0][r].data_ptr()), static_cast<size_t>(sizes[r]));
  return res;
}

std::string Group::broadcastBytes(const std::string& data, int root) {
  std::vector<int64_t> n{rank() == root ? static_cast<int64_t>(data.size()) : 0};
  allReduceSum(n);
  std::vector<at::Tensor> t{bytesTensor(rank() == root ? data : std::string(), n[0])};
  c10d::BroadcastOptions o;
  o.rootRank = root;
  impl_->run(impl_->pg->broadcast(t, o));
  return std::string(static_cast<const char*>(t[0].data_ptr()), static_cast<size_t>(n[0]));
}

void Group::noteFailure(const std::string& why) {
  impl_->failing = true;
  try {
    impl_->hbStore->set(impl_->key("down", rank()), bytesOf(firstLine(why)));
  } catch (const std::exception&) {
  }
}

void Group::finish() {
  if (impl_->finished) return;
  impl_->finished = true;
  impl_->finishing = true;
  try {
    impl_->hbStore->set(impl_->key("done", rank()), bytesOf("1"));
  } catch (const std::exception&) {
  }
  barrier();  // nobody uses the store after this: rank 0 may take it down
  impl_->stopHeartbeat();
}

void allReduceSum(Group& g, torch::Tensor& t) {
  auto& im = g.impl();
#ifdef ZSCOPE_WITH_NCCL
  if (t.is_cuda()) {
    if (!im.nccl) {
      auto o = c10d::ProcessGroupNCCL::Options::create();
      o->timeout = ms(im.opts.opTimeoutS);
      im.nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(c10::make_intrusive<c10d::PrefixStore>("nccl", im.store),
                                                            g.rank(), g.world(), o);
    }
    std::vector<at::Tensor> v{t};
    im.run(im.nccl->allreduce(v));
    return;
  }
#endif
  if (!t.device().is_cpu()) {
    auto c = t.to(torch::kCPU).contiguous();
    allReduceSum(g, c);
    t.copy_(c);
    return;
  }
  std::vector<at::Tensor> v{t.is_contiguous() ? t : t.contiguous()};
  im.run(im.pg->allreduce(v));
  if (!v[0].is_same(t)) t.copy_(v[0]);
}

void broadcast(Group& g, torch::Tensor& t, int root) {
  auto& im = g.impl();
  if (!t.device().is_cpu()) {
    auto c = t.to(torch::kCPU).contiguous();
    broadcast(g, c, root);
    t.copy_(c);
    return;
  }
  std::vector<at::Tensor> v{t.is_contiguous() ? t : t.contiguous()};
  c10d::BroadcastOptions o;
  o.rootRank = root;
  im.run(im.pg->broadcast(v, o));
  if (!v[0].is_same(t)) t.copy_(v[0]);
}

}  // namespace zs::dist
