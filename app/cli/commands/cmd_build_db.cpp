// zscope-cli build-db: compute every feature's dashboard over a corpus into a
// feature database. Ctrl+C saves the state; the same command resumes.
#include <iostream>

#include "app/cli/command.h"
#include "core/db/builder.h"
#include "core/base/error.h"

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
  return o;
}

int runBuildDb(const Args& a) {
  db::BuildOptions o = optionsFrom(a);
  if (o.out.empty()) throw UsageError("missing required option --out");
  auto r = db::buildFeatureDb(o, terminalProgress("build-db"));
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
               "[--device auto|cpu|cuda] [--checkpoint-seconds S] [--force] [--json]",
               "Build a feature database (dashboards of every feature) over a corpus; resumable",
               {"force", "json"}, &runBuildDb});

}  // namespace

// Shared with `bench build-db`.
db::BuildOptions buildOptionsFromArgs(const Args& a) { return optionsFrom(a); }

}  // namespace zs::cli
