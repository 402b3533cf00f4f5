// zscope-cli harvest: hook_z activations of chosen layers into sharded
// safetensors files, read by `train-sae --activations DIR` (harvest once, train many).
#include <iostream>

#include "app/cli/command.h"
#include "core/base/error.h"
#include "core/base/paths.h"
#include "core/model/model_spec.h"
#include "core/train/harvest.h"
#include "core/train/sae_run.h"

namespace zs::cli {
namespace {

int runHarvest(const Args& a) {
  if (!a.positional().empty()) throw UsageError("unexpected argument '" + a.positional()[0] + "'");
  HarvestParams p;
  p.modelDir = paths::resolveModel(a.require("model"));
  p.corpus = a.require("corpus");
  p.outDir = a.require("out");
  const ModelSpec mc = loadModelSpec(p.modelDir);
  p.layers = parseLayerList(a.require("layers"), mc.nLayer);
  p.corpusFormat = a.get("corpus-format", "auto");
  p.tokens = a.getIntIn("tokens", p.tokens, 1, int64_t{1} << 40);
  p.context = a.getIntIn("context", std::min<int64_t>(128, mc.nCtx), 2, mc.nCtx);
  p.evalWindows = a.getIntIn("eval-windows", p.evalWindows, 0, 1 << 20);
  p.seed = static_cast<uint64_t>(a.getInt("seed", 0));
  p.shuffle = !a.has("no-shuffle");
  p.shardTokens = a.getIntIn("shard-size", p.shardTokens, 1, int64_t{1} << 36);
  p.dtype = a.get("dtype", p.dtype);
  p.device = a.get("device", "auto");
  std::string cmd = "zscope-cli harvest";
  for (const char* k : {"model", "corpus", "corpus-format", "layers", "tokens", "context", "eval-windows", "seed",
                        "shard-size", "dtype", "out"})
    if (a.has(k)) cmd += std::string(" --") + k + " " + a.get(k);
  if (!p.shuffle) cmd += " --no-shuffle";
  p.commandLine = cmd;
  auto r = harvestActivations(p, terminalProgress("harvest"));
  if (a.has("json"))
    printJson({{"out", p.outDir}, {"index", r.indexPath}, {"completed", r.completed}, {"resumed", r.resumed},
               {"already_done", r.alreadyDone}, {"tokens", r.tokens}, {"windows", r.windows}, {"shards", r.shards},
               {"seconds", r.seconds}, {"tokens_per_second", r.tokensPerSecond}});
  if (!r.completed) {
    std::cerr << "\nharvest: interrupted after " << r.tokens << " tokens (" << r.shards << " shards) in " << p.outDir
              << " - run the same command again to resume\n";
    return 130;
  }
  if (!a.has("json")) {
    if (r.alreadyDone)
      std::cout << p.outDir << " already holds this harvest (" << r.tokens << " tokens)\n";
    else
      std::cout << "harvested " << r.tokens << " tokens x " << p.layers.size() << " layer(s) into " << r.shards
                << " shard(s) in " << p.outDir << " (" << static_cast<int64_t>(r.tokensPerSecond) << " tokens/s"
                << (r.resumed ? ", resumed" : "") << ")\n";
  }
  return 0;
}

Registrar reg({"harvest",
               "--model DIR --corpus PATH --layers L[,L...]|all --out DIR [--tokens N] [--context C] "
               "[--eval-windows N (16)] [--seed S] [--no-shuffle] [--shard-size TOKENS (65536)] "
               "[--dtype float32|float16|bfloat16] [--corpus-format F] [--device auto|cpu|cuda] [--json]",
               "Store hook_z activations in sharded safetensors files for train-sae --activations; resumable",
               {"json", "no-shuffle"}, &runHarvest});

}  // namespace
}  // namespace zs::cli
