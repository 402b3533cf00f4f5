// zscope-cli harvest: the model over a corpus once, hook_z rows into sharded
// safetensors files (core/sae/activation_index.h), resumable.
#include "core/train/harvest.h"

#include <algorithm>
#include <chrono>
#include <filesystem>

#include <torch/torch.h>

#include "core/base/error.h"
#include "core/data/corpus.h"
#include "core/io/tensor_io.h"
#include "core/sae/activation_files.h"
#include "core/sae/sae_harvest.h"
#include "core/session/session.h"

namespace fs = std::filesystem;

namespace zs {
namespace {

using Clock = std::chrono::steady_clock;

std::string shardName(size_t i) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "shard-%05zu.safetensors", i);
  return buf;
}

// Everything that decides which rows the files hold, for resuming.
bool sameHarvest(const ActivationIndex& a, const ActivationIndex& b) {
  return a.modelFingerprint == b.modelFingerprint && a.corpus == b.corpus && a.corpusFormat == b.corpusFormat &&
         a.context == b.context && a.evalWindows == b.evalWindows && a.seed == b.seed && a.shuffle == b.shuffle &&
         a.windowsPerForward == b.windowsPerForward && a.layers == b.layers && a.dIn == b.dIn && a.dtype == b.dtype;
}

}  // namespace

HarvestResult harvestActivations(const HarvestParams& p, const Progress& progress) {
  const auto t0 = Clock::now();
  if (p.outDir.empty()) throw UsageError("missing --out DIR");
  if (p.tokens < 1) throw UsageError("--tokens must be at least 1");
  if (p.layers.empty()) throw UsageError("missing --layers");
  if (p.context != 0 && p.context < 2) throw UsageError("--context must be at least 2");
  if (p.evalWindows < 0) throw UsageError("--eval-windows must be >= 0");
  if (p.windowsPerForward < 1) throw UsageError("--windows-per-forward must be at least 1");
  if (p.shardTokens < 1) throw UsageError("--shard-size must be at least 1 token");
  torch::ScalarType dtype = torch::kFloat;
  std::string dtypeName = "F32";
  if (p.dtype == "float16") {
    dtype = torch::kHalf;
    dtypeName = "F16";
  } else if (p.dtype == "bfloat16") {
    dtype = torch::kBFloat16;
    dtypeName = "BF16";
  } else if (p.dtype != "float32") {
    throw UsageError("--dtype must be float32, float16 or bfloat16");
  }

  SessionOptions so;
  so.device = p.device;
  so.needTokenizer = DocumentReader::detectFormat(p.corpus).rfind("bin", 0) != 0;
  auto session = Session::open(p.modelDir, so);
  const Model& model = session->model();
  const ModelSpec& mc = model.spec();
  for (int64_t l : p.layers)
    if (l < 0 || l >= mc.nLayer)
      throw UsageError("layer " + std::to_string(l) + " does not exist (the model has " + std::to_string(mc.nLayer) +
                       " layers)");
  const int64_t T = p.context == 0 ? std::min<int64_t>(128, mc.nCtx) : p.context;
  if (T > mc.nCtx)
    throw UsageError("--context " + std::to_string(T) + " exceeds the model's n_positions (" +
                     std::to_string(mc.nCtx) + ")");
  if (session->bosId() < 0) throw InputError(p.modelDir, "no BOS token: config.json lacks bos_token_id");

  // The windows train-sae reads: same options, the held-out windows skipped.
  WindowOptions wo;
  wo.context = T;
  wo.bosId = session->bosId();
  wo.pack = true;
  wo.vocabSize = mc.vocab;
  wo.shuffle = p.shuffle;
  wo.shuffleSeed = p.seed;
  wo.loop = true;
  // Opened before anything is written: a bad corpus leaves no folder behind.
  auto windows = TokenWindows::open(p.corpus, session->tokenizer(), wo, p.corpusFormat);

  ActivationIndex idx;
  idx.dir = p.outDir;
  idx.modelName = fs::path(fs::weakly_canonical(session->modelDir())).filename().string();
  idx.modelDir = fs::absolute(session->modelDir()).lexically_normal().string();
  idx.modelFingerprint = harvestModelFingerprint(model, p.layers);
  idx.corpus = fs::absolute(p.corpus).lexically_normal().string();  // train-sae may run elsewhere
  idx.corpusFormat = p.corpusFormat;
  idx.context = T;
  idx.evalWindows = p.evalWindows;
  idx.seed = p.seed;
  idx.shuffle = p.shuffle;
  idx.windowsPerForward = p.windowsPerForward;
  idx.layers = p.layers;
  idx.dIn = mc.dZ();
  idx.nHeads = mc.nHead;
  idx.dHead = mc.dHead;
  idx.dtype = dtypeName;

  HarvestResult res;
  res.indexPath = (fs::path(p.outDir) / "index.json").string();
  const int64_t perWindow = T - 1;
  const int64_t target = (p.tokens + perWindow - 1) / perWindow;  // windows
  // Shards hold whole forward batches, so a resumed harvest runs the same batches.
  const int64_t perShard =
      std::max<int64_t>(1, (p.shardTokens / perWindow + p.windowsPerForward / 2) / p.windowsPerForward) *
      p.windowsPerForward;
  std::error_code ec;
  if (fs::exists(res.indexPath, ec)) {
    ActivationIndex old = readActivationIndex(p.outDir);
    if (!sameHarvest(old, idx))
      throw InputError(p.outDir, "holds activations harvested with other options or another model; choose another --out");
    if (old.complete) {
      if (old.windows != target)
        throw InputError(p.outDir, "holds a finished harvest of " + std::to_string(old.tokens) +
                                       " tokens; choose another --out for " + std::to_string(target * perWindow));
      res.completed = res.alreadyDone = true;
      res.tokens = old.tokens;
      res.windows = old.windows;
      res.shards = static_cast<int64_t>(old.shards.size());
      return res;
    }
    if (old.windows > target || (!old.shards.empty() && old.shards.front().windows != perShard))
      throw InputError(p.outDir, "holds an interrupted harvest with another --tokens or --shard-size; "
                                 "choose another --out");
    idx.shards = old.shards;
    idx.windows = old.windows;
    idx.tokens = old.tokens;
    res.resumed = true;
  }
  windows->skip(p.evalWindows + idx.windows);  // an empty corpus fails here, before the folder exists
  fs::create_directories(p.outDir, ec);
  if (!fs::is_directory(p.outDir, ec)) throw InputError(p.outDir, "cannot create the output folder");

  ActivationSource src(model, *windows, p.layers, p.windowsPerForward);

  std::map<std::string, std::string> meta = {{"format", kActivationFormat},
                                             {"version", std::to_string(kActivationFormatVersion)},
                                             {"model_name", idx.modelName},
                                             {"model_fingerprint", idx.modelFingerprint},
                                             {"corpus", idx.corpus},
                                             {"context", std::to_string(T)},
                                             {"d_in", std::to_string(idx.dIn)},
                                             {"dtype", dtypeName},
                                             {"bos_excluded", "true"},
                                             {"command", p.commandLine}};
  std::vector<std::vector<torch::Tensor>> pending(p.layers.size());
  int64_t pendingWindows = 0;
  auto flush = [&](int64_t w) {
    ActivationShard sh;
    sh.file = shardName(idx.shards.size());
    sh.firstWindow = idx.windows;
    sh.windows = w;
    sh.tokens = w * perWindow;
    std::vector<std::pair<std::string, torch::Tensor>> ts;
    for (size_t i = 0; i < p.layers.size(); ++i) {
      torch::Tensor all = torch::cat(pending[i]);
      ts.emplace_back(idx.hookName(p.layers[i]), all.slice(0, 0, sh.tokens).to(dtype).contiguous());
      torch::Tensor rest = all.slice(0, sh.tokens).clone();
      pending[i].clear();
      if (rest.size(0) > 0) pending[i].push_back(rest);
    }
    auto m = meta;
    m["shard"] = std::to_string(idx.shards.size());
    m["first_window"] = std::to_string(sh.firstWindow);
    m["windows"] = std::to_string(sh.windows);
    m["tokens"] = std::to_string(sh.tokens);
    std::string layers;
    for (int64_t l : p.layers) layers += (layers.empty() ? "" : ",") + std::to_string(l);
    m["layers"] = layers;
    saveTensors((fs::path(p.outDir) / sh.file).string(), ts, m);
    idx.shards.push_back(sh);
    idx.windows += w;
    idx.tokens += sh.tokens;
    pendingWindows -= w;
    writeActivationIndex(idx);  // after the shard: the index never names a file that is not complete
  };
  writeActivationIndex(idx);
  const int64_t startTokens = idx.tokens;
  const auto tPass = Clock::now();
  std::vector<torch::Tensor> chunk;
  while (idx.windows + pendingWindows < target) {
    if (progress.cancelled()) {
      res.tokens = idx.tokens;
      res.windows = idx.windows;
      res.shards = static_cast<int64_t>(idx.shards.size());
      res.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
      return res;  // the rows after the last shard are harvested again on resume
    }
    if (!src.next(chunk, torch::kCPU)) throw InputError(p.corpus, "yields no window of " + std::to_string(T) + " tokens");
    const int64_t got = chunk[0].size(0) / perWindow;
    const int64_t take = std::min(got, target - idx.windows - pendingWindows);
    for (size_t i = 0; i < p.layers.size(); ++i) pending[i].push_back(chunk[i].slice(0, 0, take * perWindow));
    pendingWindows += take;
    while (pendingWindows >= perShard) flush(perShard);
    progress(static_cast<double>((idx.windows + pendingWindows) * perWindow), static_cast<double>(target * perWindow),
             "tokens");
  }
  if (pendingWindows > 0) flush(pendingWindows);
  idx.complete = true;
  writeActivationIndex(idx);
  const double pass = std::chrono::duration<double>(Clock::now() - tPass).count();
  res.completed = true;
  res.tokens = idx.tokens;
  res.windows = idx.windows;
  res.shards = static_cast<int64_t>(idx.shards.size());
  res.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  res.tokensPerSecond = pass > 0 ? (idx.tokens - startTokens) / pass : 0;
  return res;
}

}  // namespace zs
