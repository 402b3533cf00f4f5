// zscope-cli bench train-sae: SAE-training throughput of one process against N
// local ranks (data-parallel, docs/cluster.md), each with --threads T (default
// 1): tokens per second and the scaling factor. Both runs train the same SAE
// on the same corpus with the same global batch, into temporary folders.
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "app/cli/command.h"
#include "core/base/error.h"
#include "core/base/paths.h"
#include "core/base/runtime.h"
#include "core/dist/launch.h"

namespace zs::cli {
namespace {

namespace fs = std::filesystem;

std::string loadAverage() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return a + " " + b + " " + c;
}

// Throughput of one run from its metrics: end to end (start of training to
// done, harvesting and the final evaluation included) and steady (between the
// first and the last metrics line: harvesting and steps only).
nlohmann::json measure(const std::string& out, double wall) {
  std::ifstream f(out + "/metrics.jsonl");
  std::string line;
  double firstT = -1, lastT = 0, doneT = 0;
  int64_t firstTok = 0, lastTok = 0;
  while (std::getline(f, line)) {
    auto j = nlohmann::json::parse(line);
    const std::string kind = j.value("kind", "");
    if (kind == "train") {
      if (firstT < 0) {
        firstT = j.at("elapsed_s").get<double>();
        firstTok = j.at("tokens").get<int64_t>();
      }
      lastT = j.at("elapsed_s").get<double>();
      lastTok = j.at("tokens").get<int64_t>();
    } else if (kind == "done") {
      doneT = j.at("elapsed_s").get<double>();
    }
  }
  if (doneT <= 0 || firstT < 0) throw std::runtime_error("the benchmark run did not finish (no metrics in " + out + ")");
  nlohmann::json r = {{"tokens", lastTok}, {"seconds", doneT}, {"wall_seconds", wall},
                      {"tokens_per_s", static_cast<double>(lastTok) / doneT}};
  if (lastT > firstT) r["steady_tokens_per_s"] = static_cast<double>(lastTok - firstTok) / (lastT - firstT);
  return r;
}

int runBenchTrainSae(const Args& a) {
  const int nproc = static_cast<int>(a.getIntIn("nproc", 2, 2, 256));
  const int64_t threads = a.getIntIn("threads", 1, 1, 1024);  // per process (the global option)
  const std::string model = paths::resolveModel(a.get("model", "default"));
  const std::string corpus = a.require("corpus");
  if (!fs::exists(corpus)) throw InputError(corpus, "no such corpus");
  char tmpl[] = "/tmp/zscope-bench-train-XXXXXX";
  if (!::mkdtemp(tmpl)) throw std::runtime_error("cannot create a temporary folder");
  const std::string tmp = tmpl;
  std::vector<std::string> common = {"train-sae", "--model", model, "--corpus", corpus, "--layer", a.get("layer", "0"),
                                     "--tokens", a.get("tokens", "409600"), "--batch", a.get("batch", "4096"),
                                     "--expansion", a.get("expansion", "8"), "--context", a.get("context", "128"),
                                     "--ce-every", "0", "--checkpoint-every", "0", "--metrics-every", "10",
                                     "--eval-windows", "8", "--no-resume", "--quiet", "--threads",
                                     std::to_string(threads)};
  nlohmann::json out = {{"nproc", nproc}, {"threads_per_rank", threads}, {"hardware_threads", runtime::hardwareThreads()},
                        {"load_average_before", loadAverage()}};
  auto run = [&](int n, const std::string& name) {
    dist::LaunchOptions o;
    o.nproc = n;
    o.args = common;
    o.args.insert(o.args.end(), {"--out", tmp + "/" + name});
    o.cancel = &interruptFlag();
    o.discardStdout = true;
    const auto t0 = std::chrono::steady_clock::now();
    const int rc = dist::launchLocal(o);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (rc != 0) {
      fs::remove_all(tmp);
      if (rc == 130) throw Cancelled();
      throw std::runtime_error("the " + name + " run failed (exit " + std::to_string(rc) + ")");
    }
    return measure(tmp + "/" + name, wall);
  };
  try {
    out["one_process"] = run(1, "one");
    out["ranks"] = run(nproc, "ranks");
  } catch (...) {
    fs::remove_all(tmp);
    throw;
  }
  fs::remove_all(tmp);
  out["load_average_after"] = loadAverage();
  const double s1 = out["one_process"]["tokens_per_s"].get<double>(), sN = out["ranks"]["tokens_per_s"].get<double>();
  out["scaling"] = sN / s1;
  if (out["one_process"].contains("steady_tokens_per_s") && out["ranks"].contains("steady_tokens_per_s"))
    out["steady_scaling"] =
        out["ranks"]["steady_tokens_per_s"].get<double>() / out["one_process"]["steady_tokens_per_s"].get<double>();
  if (a.has("json")) {
    printJson(out);
  } else {
    std::ostringstream s;
    s.precision(4);
    s << "train-sae, " << threads << " thread(s) per process, " << runtime::hardwareThreads()
      << " hardware threads (load average before: " << out["load_average_before"].get<std::string>() << ")\n"
      << "  1 process : " << s1 << " tokens/s\n"
      << "  " << nproc << " ranks   : " << sN << " tokens/s\n"
      << "  scaling   : " << out["scaling"].get<double>() << "x";
    if (out.contains("steady_scaling")) s << " (steady state, without start-up: " << out["steady_scaling"].get<double>() << "x)";
    std::cout << s.str() << "\n";
  }
  return 0;
}

Registrar reg({"bench train-sae",
               "--corpus PATH [--model DIR] [--nproc N] [--layer L] [--tokens N] [--batch B] "
               "[--expansion X] [--context C] [--json]",
               "SAE-training tokens/s of one process against N data-parallel local ranks, and the scaling",
               {"json"},
               &runBenchTrainSae});

}  // namespace
}  // namespace zs::cli
