// zscope-cli dist check: joins the group (torchrun / Slurm environment, or
// --nproc N local ranks) and checks every collective Zscope uses, with known
// answers, plus the all-reduce bandwidth: what to run on a cluster before a
// long job. --seconds S keeps all-reducing for S seconds (fault drills).
#include <chrono>
#include <cmath>
#include <iostream>
#include <thread>

#include "app/cli/command.h"
#include "app/cli/common.h"
#include "core/base/error.h"
#include "core/dist/dist.h"

namespace zs::cli {
namespace {

int runDistCheck(const Args& a) {
  const int launched = launchRanksIfAsked(a);
  if (launched >= 0) return launched;
  const double seconds = a.getFiniteIn("seconds", 0, 0, 1e6);
  const int64_t mb = a.getIntIn("mb", 8, 0, 4096);
  auto g = dist::joinFromEnvironment();
  if (!g) throw UsageError("not a rank of a group: give --nproc N, or run under torchrun / srun (RANK, WORLD_SIZE, "
                           "MASTER_ADDR, MASTER_PORT)");
  const int R = g->rank(), W = g->world();
  bool ok = true;
  nlohmann::json out = {{"rank", R}, {"world", W}, {"local_rank", g->localRank()}, {"backend", g->backend()}};
  try {
    g->barrier();
    std::vector<double> v{static_cast<double>(R + 1), 0.5};
    g->allReduceSum(v);
    const bool sumOk = v[0] == W * (W + 1) / 2.0 && v[1] == 0.5 * W;
    std::vector<int64_t> iv{int64_t{1} << 40, R};
    g->allReduceSum(iv);
    const bool isumOk = iv[0] == (int64_t{1} << 40) * W && iv[1] == int64_t{W} * (W - 1) / 2;
    const bool minMaxOk = g->allReduceMin(R + 0.25) == 0.25 && g->allReduceMax(R + 0.25) == W - 0.75;
    // Buffers of different sizes (rank r: r * 1000 + 3 bytes, one of them empty on rank... none).
    std::string mine(static_cast<size_t>(R) * 1000 + 3, static_cast<char>('a' + R % 26));
    auto all = g->allGatherBytes(mine);
    bool gatherOk = static_cast<int>(all.size()) == W;
    for (int r = 0; r < W && gatherOk; ++r)
      gatherOk = all[r] == std::string(static_cast<size_t>(r) * 1000 + 3, static_cast<char>('a' + r % 26));
    auto root = g->gatherBytesToRoot(mine, 0);
    bool rootOk = R == 0 ? root == all : root.empty();
    std::string b = g->broadcastBytes(R == 0 ? std::string("from rank 0\n\0binary", 19) : std::string("ignored"), 0);
    const bool bcastOk = b == std::string("from rank 0\n\0binary", 19);
    out["all_reduce"] = sumOk && isumOk;
    out["min_max"] = minMaxOk;
    out["all_gather_bytes"] = gatherOk;
    out["gather_bytes_to_root"] = rootOk;
    out["broadcast_bytes"] = bcastOk;
    ok = sumOk && isumOk && minMaxOk && gatherOk && rootOk && bcastOk;
    if (mb > 0) {
      std::vector<double> big(static_cast<size_t>(mb) * (1 << 20) / sizeof(double), 1.0);
      g->allReduceSum(big);  // warm-up
      auto t0 = std::chrono::steady_clock::now();
      const int reps = 3;
      for (int i = 0; i < reps; ++i) g->allReduceSum(big);
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / reps;
      out["all_reduce_mb"] = mb;
      out["all_reduce_ms"] = s * 1000;
      out["all_reduce_mb_per_s"] = s > 0 ? mb / s : 0.0;
    }
    if (seconds > 0) std::cerr << "rank " << R << ": checks done, all-reducing for " << seconds << " s" << std::endl;
    const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    int64_t rounds = 0;
    while (std::chrono::steady_clock::now() < until && !interruptFlag().load()) {
      std::vector<double> x{1.0};
      g->allReduceSum(x);
      ++rounds;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (seconds > 0) out["soak_rounds"] = rounds;
    g->finish();
  } catch (const dist::PeerFailure&) {
    throw;
  } catch (const std::exception& e) {
    g->noteFailure(e.what());
    throw;
  }
  if (R == 0) printJson(out);
  if (!ok) std::cerr << "zscope-cli dist check: rank " << R << ": a collective returned a wrong result\n";
  return ok ? 0 : 1;
}

Registrar reg({"dist check", "[--nproc N] [--mb M] [--seconds S] [--json]",
               "Join the distributed group (torchrun/Slurm env or --nproc N) and check every collective",
               {"json"},
               &runDistCheck});

}  // namespace
}  // namespace zs::cli
