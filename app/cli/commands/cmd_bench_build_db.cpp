// zscope-cli bench build-db: tokens/s of the feature-database pass next to the
// floor (model forward up to the last SAE layer + SAE encode, nothing else).
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include <unistd.h>

#include "app/cli/command.h"
#include "core/db/builder.h"
#include "core/base/error.h"
#include "core/base/runtime.h"

namespace zs::cli {

db::BuildOptions buildOptionsFromArgs(const Args& a);  // cmd_build_db.cpp

namespace {

int runBench(const Args& a) {
  db::BuildOptions o = buildOptionsFromArgs(a);
  if (!a.has("tokens")) o.tokens = 20000;
  const std::string tmp = (std::filesystem::temp_directory_path() /
                           ("zscope-bench-" + std::to_string(::getpid()) + ".zscope.db")).string();
  o.out = tmp;
  o.force = true;
  o.checkpointSeconds = 1e9;  // the pass alone, no periodic checkpoint
  Progress quiet;
  quiet.cancel = &interruptFlag();
  const double floor = db::measureForwardEncodeFloor(o, quiet);
  auto r = db::buildFeatureDb(o, quiet);
  for (const char* suf : {"", "-wal", "-shm"}) std::filesystem::remove(tmp + suf);
  nlohmann::json j = {{"tokens", r.tokens},
                      {"build_tokens_per_second", r.tokensPerSecond},
                      {"build_total_seconds", r.seconds},
                      {"pass_seconds", r.passSeconds},
                      {"finish_seconds", r.seconds - r.passSeconds},
                      {"floor_tokens_per_second", floor},
                      {"pass_fraction_of_floor", floor > 0 ? r.tokensPerSecond / floor : 0},
                      {"threads", runtime::threads()},
                      {"device", runtime::resolveDevice(o.device)}};
  if (a.has("json")) {
    printJson(j);
  } else {
    std::printf("build-db pass: %.0f tokens/s; floor (forward + SAE encode): %.0f tokens/s -> %.0f%% of the floor\n"
                "finishing (examples, DFA, logits, writing): %.2f s for %lld tokens\n",
                r.tokensPerSecond, floor, 100 * (floor > 0 ? r.tokensPerSecond / floor : 0), r.seconds - r.passSeconds,
                static_cast<long long>(r.tokens));
  }
  return 0;
}

Registrar reg({"bench build-db",
               "--model DIR --sae DIR [--sae DIR ...] --corpus PATH [--tokens N (20000)] [--context C] [--batch B] "
               "[--device D] [--json]",
               "Measure build-db tokens/s against the forward + SAE-encode floor", {"json"}, &runBench});

}  // namespace
}  // namespace zs::cli
