#include "app/cli/common.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "core/base/error.h"
#include "core/base/input_file.h"
#include "core/base/runtime.h"
#include "core/base/util.h"
#include "core/dist/dist.h"
#include "core/dist/launch.h"
#include "core/text/tokenizer.h"

namespace zs::cli {

std::vector<int64_t> promptIds(const Args& a, const Session& session) {
  a.requireOneOf({"prompt", "tokens", "prompt-file"});
  std::vector<int64_t> ids;
  if (a.has("tokens")) {
    ids = parseIdList(a.get("tokens"));
  } else {
    std::string text;
    if (a.has("prompt")) {
      text = a.get("prompt");
    } else {
      text = readInputFile(a.get("prompt-file"), InputKind::Prompt, " (the prompt file)");
    }
    ids = session.encodePrompt(text, !a.has("no-bos"));
  }
  size_t from = 0;
  ids = session.checkIds(std::move(ids), a.has("truncate"), &from);
  if (from) std::cerr << "zscope-cli: prompt truncated from " << from << " to " << ids.size() << " tokens\n";
  return ids;
}

SessionOptions sessionOptions(const Args& a) {
  SessionOptions o;
  o.device = a.get("device", "auto");
  o.dtype = a.get("dtype", "auto");
  return o;
}

std::unique_ptr<db::Db> openExistingDb(const Args& a, bool write) {
  db::OpenOptions oo;
  oo.create = false;
  oo.readOnly = !write;
  return db::Db::open(a.require("db"), oo);
}

std::pair<int, int64_t> requireLayerFeature(const Args& a) {
  if (!a.has("layer") || !a.has("feature")) throw UsageError("give --layer L and --feature F (both >= 0)");
  // Range-checked, never truncated: --layer 4294967297 is not layer 1.
  const int layer = static_cast<int>(a.getIntIn("layer", -1, 0, 1 << 20));
  const int64_t feature = a.getIntIn("feature", -1, 0, int64_t{1} << 40);
  return {layer, feature};
}

}  // namespace zs::cli

namespace zs::cli {

int launchRanksIfAsked(const Args& a) {
  if (!a.has("nproc")) return -1;
  const int64_t n = a.getIntIn("nproc", 1, 1, 1024);
  if (dist::environment()) throw UsageError("--nproc starts local ranks itself; this process already is one (RANK/WORLD_SIZE are set)");
  if (n <= 1) return -1;
  dist::LaunchOptions o;
  o.nproc = static_cast<int>(n);
  o.args = dist::withoutOption(dist::selfArguments(), "nproc");
  if (!a.has("threads")) {
    o.args.push_back("--threads");
    o.args.push_back(std::to_string(std::max(1, runtime::hardwareThreads() / o.nproc)));
  }
  o.cancel = &interruptFlag();
  o.gpuPerRank = runtime::cudaAvailable();  // NCCL: one GPU per rank (not run on a GPU yet, docs/cluster.md)
  return dist::launchLocal(o);
}

}  // namespace zs::cli
