// zscope-cli build-db: compute every feature's dashboard over a corpus into a
// feature database. Ctrl+C saves the state; the same command resumes.
#include <iostream>

#include "app/cli/command.h"
#include "app/cli/common.h"
#include "core/base/error.h"
#include "core/db/builder.h"
#include "core/dist/dist.h"

namespace zs::cli {
namespace {

db::BuildOptions optionsFrom(const Args& a) {
  if (!a.positional().empty()) throw UsageError("unexpected argument '" + a.positional()[0] + "'");
  db::BuildOptions o;
  o.modelDir = a.require("model");
  o.saeDirs = a.getAll("sae");
  o.corpus = a.require("corpus");
  o.corpusFormat = a.get("format", "auto");
  o.out = a.get("out");
  o.tokens = a.getInt("tokens", o.tokens);
  o.context = a.getInt("context", o.context);
  o.topK = a.getInt("top-k", o.topK);
  o.samplesPerBucket = a.getInt("samples", o.samplesPerBucket);
  o.batch = a.getInt("batch", o.batch);
  o.seed = static_cast<uint64_t>(a.getInt("seed", 0));
  o.device = a.get("device", "auto");
  o.checkpointSeconds = a.getDouble("checkpoint-seconds", o.checkpointSeconds);
  o.force = a.has("force");
  if (a.has("shard")) {
    // "i/n": shard i (0-based) of n; the part goes to <out>.part<i>-of-<n>.
    const std::string v = a.get("shard");
    const auto slash = v.find('/');
    size_t e1 = 0, e2 = 0;
    int i = -1, n = 0;
    try {
      if (slash != std::string::npos) {
        i = std::stoi(v.substr(0, slash), &e1);
        n = std::stoi(v.substr(slash + 1), &e2);
      }
    } catch (const std::exception&) {
      i = -1;
    }
    if (slash == std::string::npos || e1 != slash || e2 != v.size() - slash - 1 || n < 1 || i < 0 || i >= n)
      throw UsageError("--shard must be i/n with 0 <= i < n, e.g. --shard 0/2 (got '" + v + "')");
    o.shardIndex = i;
    o.shardCount = n;
  }
  return o;
}

// Data-parallel (torchrun / srun / --nproc; docs/cluster.md): rank r builds shard r/world of the
// windows into <out>.part<r>-of-<world>, then rank 0 merges the parts into the database a single
// process would have built (the parts must be on a file system every rank and rank 0 share).
// Interrupted (Ctrl+C on any rank): every rank keeps its part and the same command resumes.
int runBuildDbRanks(db::BuildOptions o, const std::shared_ptr<dist::Group>& g, bool json) {
  const int rank = g->rank(), world = g->world();
  Progress progress = terminalProgress("build-db");
  if (!g->isRoot()) progress.report = nullptr;  // one progress bar: rank 0's
  db::BuildResult r;
  db::BuildResult merged;
  bool interrupted = false;
  try {
    r = db::buildFeatureDbShard(o, rank, world, progress);
    interrupted = g->allReduceMax(r.completed ? 0.0 : 1.0) > 0;  // every rank stops if one was interrupted
    if (!interrupted && g->isRoot())
      merged = db::mergeFeatureDbShards({o.out, db::shardPartPaths(o.out, world), o.device, o.force, true}, progress);
    g->barrier();
    g->finish();
  } catch (const dist::PeerFailure&) {
    throw;
  } catch (const std::exception& e) {
    g->noteFailure(e.what());  // the other ranks name this rank and why
    throw;
  }
  if (interrupted) {
    if (g->isRoot())
      std::cerr << "build-db: interrupted; every rank's part is saved next to " << o.out
                << " - run the same command again to resume\n";
    return 130;
  }
  if (!g->isRoot()) return 0;  // rank 0 alone reports
  if (json) {
    printJson({{"out", o.out}, {"completed", true}, {"already_built", merged.alreadyBuilt}, {"tokens", merged.tokens},
               {"windows", merged.windows}, {"seconds", merged.seconds}, {"world", world}, {"layers", merged.layers}});
  } else if (merged.alreadyBuilt) {
    std::cout << o.out << " is already built (" << merged.tokens << " tokens); --force rebuilds it\n";
  } else {
    std::cout << "built " << o.out << " on " << world << " ranks: " << merged.tokens << " tokens; merged in "
              << merged.seconds << " s\n";
  }
  return 0;
}

int runBuildDb(const Args& a) {
  db::BuildOptions o = optionsFrom(a);
  if (o.out.empty()) throw UsageError("missing required option --out");
  // --nproc N: this command again as N local ranks; under torchrun / srun, join the group first.
  const int launched = launchRanksIfAsked(a);
  if (launched >= 0) return launched;
  if (auto g = dist::joinFromEnvironment()) {
    if (a.has("shard")) throw UsageError("--shard and several ranks do not mix: each rank builds its own shard");
    return runBuildDbRanks(o, g, a.has("json"));
  }
  const bool shard = o.shardCount > 1;
  auto r = db::buildFeatureDbShard(o, o.shardIndex, o.shardCount, terminalProgress("build-db"));
  if (shard) o.out = r.out;
  nlohmann::json j = {{"out", o.out},         {"completed", r.completed},      {"resumed", r.resumed},
                      {"already_built", r.alreadyBuilt}, {"tokens", r.tokens}, {"windows", r.windows},
                      {"seconds", r.seconds}, {"pass_seconds", r.passSeconds}, {"tokens_per_second", r.tokensPerSecond},
                      {"layers", r.layers}};
  if (a.has("json")) printJson(j);
  if (!r.completed) {
    std::cerr << "build-db: interrupted after " << r.tokens << " tokens; state saved in " << o.out
              << " - run the same command again to resume\n";
    return 130;
  }
  if (!a.has("json")) {
    if (r.alreadyBuilt)
      std::cout << o.out << " is already built (" << r.tokens << " tokens); --force rebuilds it\n";
    else if (shard)
      std::cout << "built shard " << o.shardIndex << "/" << o.shardCount << " into " << o.out << ": " << r.tokens
                << " tokens in " << r.seconds << " s" << (r.resumed ? ", resumed" : "")
                << "; merge the parts with zscope-cli merge-db\n";
    else
      std::cout << "built " << o.out << ": " << r.tokens << " tokens in " << r.seconds << " s ("
                << static_cast<int64_t>(r.tokensPerSecond) << " tokens/s in the pass)" << (r.resumed ? ", resumed" : "")
                << "\n";
  }
  return 0;
}

Registrar reg({"build-db",
               "--model DIR --sae DIR [--sae DIR ...] --corpus PATH --out FILE.zscope.db [--tokens N] [--context C] "
               "[--top-k K (20)] [--samples S] [--batch B] [--seed S] [--format auto|text|folder|jsonl|bin16|bin32] "
               "[--device auto|cpu|cuda] [--checkpoint-seconds S] [--shard I/N] [--nproc N] [--force] [--json]",
               "Build a feature database (dashboards of every feature) over a corpus; resumable",
               {"force", "json"}, &runBuildDb});

int runMergeDb(const Args& a) {
  db::MergeOptions m;
  m.out = a.require("out");
  m.parts = a.positional();
  if (m.parts.empty()) throw UsageError("give the part files to merge (FILE.part0-of-N ...)");
  m.device = a.get("device", "auto");
  m.force = a.has("force");
  m.removeParts = a.has("remove-parts");
  auto r = db::mergeFeatureDbShards(m, terminalProgress("merge-db"));
  if (a.has("json")) {
    printJson({{"out", m.out}, {"completed", r.completed}, {"already_built", r.alreadyBuilt}, {"tokens", r.tokens},
               {"windows", r.windows}, {"seconds", r.seconds}, {"parts", m.parts.size()}, {"layers", r.layers}});
  } else if (r.alreadyBuilt) {
    std::cout << m.out << " is already built (" << r.tokens << " tokens); --force replaces its dashboards\n";
  } else {
    std::cout << "merged " << m.parts.size() << " parts into " << m.out << ": " << r.tokens << " tokens, "
              << r.seconds << " s\n";
  }
  return 0;
}

Registrar regMerge({"merge-db", "--out FILE.zscope.db PART... [--device auto|cpu|cuda] [--remove-parts] [--force] [--json]",
                    "Merge the parts of a sharded build-db (--shard i/n) into the single-process database",
                    {"force", "json", "remove-parts"}, &runMergeDb});

}  // namespace

// Shared with `bench build-db`.
db::BuildOptions buildOptionsFromArgs(const Args& a) { return optionsFrom(a); }

}  // namespace zs::cli
