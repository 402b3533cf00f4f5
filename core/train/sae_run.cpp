#include "core/base/input_file.h"
#include "core/base/output_file.h"
#include "core/base/json_util.h"
#include "core/train/sae_run.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/base/error.h"
#include "core/dist/dist.h"
#include "core/dist/dist_torch.h"
#include "core/model/model.h"
#include "core/session/session.h"
#include "core/base/runtime.h"
#include "core/sae/sae.h"
#include "core/sae/sae_eval.h"
#include "core/sae/sae_harvest.h"
#include "core/train/sae_dist.h"
#include "core/train/sae_source.h"
#include "core/train/sae_train.h"
#include "core/io/safetensors.h"
#include "core/io/tensor_io.h"
#include "core/text/tokenizer.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace zs {

std::vector<int64_t> parseLayerList(const std::string& s, int64_t nLayer) {
  std::vector<int64_t> out;
  if (s == "all") {
    for (int64_t l = 0; l < nLayer; ++l) out.push_back(l);
    return out;
  }
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    size_t pos = 0;
    int64_t v = -1;
    try {
      v = std::stoll(item, &pos);
    } catch (const std::exception&) {
      pos = 0;
    }
    if (item.empty() || pos != item.size() || v < 0) throw UsageError("bad layer list '" + s + "' (e.g. 0,1 or all)");
    if (nLayer > 0 && v >= nLayer)
      throw UsageError("layer " + item + " does not exist (the model has " + std::to_string(nLayer) + " layers)");
    if (std::find(out.begin(), out.end(), v) == out.end()) out.push_back(v);
  }
  if (out.empty()) throw UsageError("no layer given");
  return out;
}

namespace {

std::string hookName(int64_t l) { return "blocks." + std::to_string(l) + ".attn.hook_z"; }

void writeTextAtomic(const std::string& path, const std::string& text) {
  writeFileAtomic(path, text);
}

// What must match for a checkpoint to be resumed.
json runIdentity(const TrainSaeParams& p, int64_t dSae) {
  json id = {{"model", fs::weakly_canonical(p.modelDir).string()}, {"layers", p.layers}, {"d_sae", dSae},
             {"batch", p.batch}, {"context", p.context}, {"seed", p.seed}, {"tokens", p.tokens}};
  if (p.architecture != "standard") {
    id["architecture"] = p.architecture;
    id["k"] = p.k;
  }
  if (p.group) id["world"] = p.group->world();  // each rank's place in its documents is in the checkpoint
  return id;
}

struct Run {
  const TrainSaeParams& p;
  const Progress& progress;
  const std::function<void(const std::string&)>& onMetrics;
  std::unique_ptr<Session> session;
  const Model* model = nullptr;
  const Tokenizer* tok = nullptr;  // null when reading a pre-tokenized corpus
  torch::Device device = torch::kCPU;
  int64_t dIn = 0, dSae = 0, totalSteps = 0, bosId = -1;
  std::vector<Sae> saes;
  std::vector<std::unique_ptr<SaeTrainer>> trainers;
  std::vector<double> l1;
  std::vector<torch::Tensor> evalBatches;
  std::ofstream metrics;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  double elapsedBefore = 0;
  int rank = 0, world = 1;
  bool root() const { return rank == 0; }

  double elapsed() const {
    return elapsedBefore + std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  void emit(json j) {
    if (!root()) return;  // rank 0 alone writes metrics
    std::string line = j.dump();
    metrics << line << "\n";
    metrics.flush();
    if (onMetrics) onMetrics(line);
  }
  std::string ckptDir() const { return p.outDir + "/checkpoint"; }

  void saveSaes() {
    if (!root()) return;
    for (size_t i = 0; i < saes.size(); ++i) {
      trainers[i]->syncToSae(saes[i]);
      saes[i].saveDir(p.outDir + "/" + hookName(p.layers[i]));
    }
  }

  void checkpoint(int64_t step, int64_t windows) {
    // Every rank's place in its own documents (a collective: every rank calls it).
    json rankWindows = json::array({windows});
    if (p.group) {
      rankWindows = json::array();
      for (const auto& b : p.group->allGatherBytes(std::to_string(windows))) rankWindows.push_back(std::stoll(b));
    }
    if (!root()) return;
    fs::create_directories(ckptDir());
    std::vector<std::pair<std::string, torch::Tensor>> all;
    for (size_t i = 0; i < trainers.size(); ++i)
      for (auto& kv : trainers[i]->state("L" + std::to_string(p.layers[i]) + "."))
        all.emplace_back(kv.first, kv.second.to(torch::kCPU).contiguous());
    std::string file = "state-" + std::to_string(step) + ".safetensors";
    saveTensors(ckptDir() + "/" + file, all);
    json st = {{"identity", runIdentity(p, dSae)}, {"file", file},       {"step", step},
               {"windows", windows},                {"l1", l1},          {"elapsed_s", elapsed()}};
    if (p.group) st["rank_windows"] = rankWindows;
    std::string old;
    if (fs::exists(ckptDir() + "/state.json")) {
      try {
        old = parseJson(readInputFile(ckptDir() + "/state.json", InputKind::Config), ckptDir() + "/state.json",
                        "checkpoint state")["file"].get<std::string>();
      } catch (const std::exception&) {
      }
    }
    writeTextAtomic(ckptDir() + "/state.json", st.dump(2));
    if (!old.empty() && old != file) fs::remove(ckptDir() + "/" + old);
  }

  void evalCe(int64_t step, int64_t tokens) {
    if (!root()) return;  // the others wait at the next step's all-reduce
    for (size_t i = 0; i < saes.size(); ++i) {
      trainers[i]->syncToSae(saes[i]);
      SaeEvaluator ev(*model, saes[i]);
      for (const auto& b : evalBatches) ev.add(b);
      auto r = ev.result();
      json j = r.toJson();
      j["kind"] = "eval";
      j["step"] = step;
      j["tokens_trained"] = tokens;
      j["layer"] = p.layers[i];
      emit(j);
    }
  }
};

}  // namespace

TrainSaeResult trainSaes(const TrainSaeParams& p0, const Progress& progress,
                         const std::function<void(const std::string&)>& onMetrics) {
  TrainSaeParams p = p0;
  if (p.outDir.empty()) throw UsageError("missing --out");
  if (p.batch <= 0 || p.tokens <= 0 || p.context < 2 || p.bufferTokens <= 0)
    throw UsageError("batch, tokens and buffer-tokens must be positive, context at least 2");
  if (!p.activationsDir.empty() && p.corpus.empty()) {
    const ActivationIndex x = readActivationIndex(p.activationsDir);  // the eval windows come from its corpus
    p.corpus = x.corpus;
    p.corpusFormat = x.corpusFormat;
  }
  Run run{p, progress, onMetrics};
  if (p.group) {
    run.rank = p.group->rank();
    run.world = p.group->world();
  }
  if (p.batch < run.world)
    throw UsageError("--batch " + std::to_string(p.batch) + " is smaller than the number of ranks (" +
                     std::to_string(run.world) + "); --batch is the global batch, shared by the ranks");
  // Each rank's share of the global batch.
  const int64_t localBatch = p.batch / run.world + (run.rank < p.batch % run.world ? 1 : 0);
  SessionOptions so;
  so.device = p.device;
  so.needTokenizer = !p.corpus.empty() && DocumentReader::detectFormat(p.corpus).rfind("bin", 0) != 0;
  run.session = Session::open(p.modelDir, so);
  run.device = torch::Device(run.session->device() == "cuda" ? torch::kCUDA : torch::kCPU);
  run.model = &run.session->model();
  if (p.group) {  // CUDA tensors go through NCCL, CPU ones through Gloo: the ranks must agree
    auto devices = p.group->allGatherBytes(run.device.str());
    for (int r = 0; r < run.world; ++r)
      if (devices[r] != devices[0])
        throw UsageError("rank " + std::to_string(r) + " trains on " + devices[r] + ", rank 0 on " + devices[0] +
                         "; give every rank the same --device");
  }
  const ModelSpec& mc = run.model->spec();
  if (p.layers.empty()) throw UsageError("missing --layer");
  for (int64_t l : p.layers)
    if (l < 0 || l >= mc.nLayer) throw UsageError("layer " + std::to_string(l) + " does not exist");
  if (so.needTokenizer) run.tok = run.session->tokenizer();
  run.bosId = run.session->bosId();
  run.dIn = mc.dZ();
  run.dSae = p.dSae > 0 ? p.dSae : static_cast<int64_t>(std::llround(p.expansion * run.dIn));
  if (run.dSae <= 0) throw UsageError("d_sae must be positive");
  run.totalSteps = std::max<int64_t>(1, p.tokens / p.batch);
  if (p.warmupSteps < 0) p.warmupSteps = std::min<int64_t>(1000, run.totalSteps / 20);
  if (p.resampleEvery < 0) p.resampleEvery = std::max<int64_t>(200, run.totalSteps / 10);
  if (p.deadWindow < 0) {
    // TopK / BatchTopK: AuxK's dead window in tokens, 1% of the run, at most Gao et
    // al.'s 10M (docs/saes.md, "Keeping TopK alive": a shorter window keeps more
    // latents firing). ReLU: half the resampling interval.
    const bool auxk = p.architecture == "topk" || p.architecture == "batchtopk";
    p.deadWindow = auxk ? std::max<int64_t>(1, std::llround(std::min(1e7, 0.01 * static_cast<double>(p.tokens)) /
                                                            static_cast<double>(p.batch)))
                        : std::max<int64_t>(1, p.resampleEvery / 2);
  }

  WindowOptions wo;
  wo.context = p.context;
  wo.bosId = run.bosId;
  wo.pack = true;
  wo.vocabSize = mc.vocab;
  // Corpora are often stored by source; without shuffling, the SAE would learn
  // one source after another and forget the first. The eval windows come from the
  // same seeded order, so with no eval corpus the training stream skips exactly them.
  wo.shuffle = p.shuffleDocs;
  wo.shuffleSeed = p.seed;
  // --activations: rows from harvested files, checked against this run.
  std::unique_ptr<ActivationIndex> harvested;
  if (!p.activationsDir.empty()) {
    harvested = std::make_unique<ActivationIndex>(checkedHarvest(p, *run.model));
    wo.shuffle = harvested->shuffle;  // the eval windows are the ones the harvest held out
    wo.shuffleSeed = harvested->seed;
  }
  // Held-out windows for CE: a separate corpus, or the first windows of this one.
  int64_t evalDocs = 0;  // data-parallel: documents the eval windows came from (no rank trains on them)
  {
    wo.loop = false;
    std::unique_ptr<TokenWindows> ew;
    ShardedDocuments* counter = nullptr;
    if (run.world > 1 && p.evalCorpus.empty()) {
      auto docs = std::make_unique<ShardedDocuments>(openDocuments(p.corpus, wo, p.corpusFormat), 0, 0, 1);
      counter = docs.get();
      ew = std::make_unique<TokenWindows>(std::move(docs), run.tok, wo);
    } else {
      ew = TokenWindows::open(p.evalCorpus.empty() ? p.corpus : p.evalCorpus, run.tok, wo, p.corpusFormat);
    }
    std::vector<int64_t> w, flat;
    int64_t n = 0;
    while (n < p.evalWindows && ew->next(w)) {
      flat.insert(flat.end(), w.begin(), w.end());
      ++n;
      if (n % 8 == 0 || n == p.evalWindows) {
        run.evalBatches.push_back(torch::tensor(flat, torch::kInt64).view({-1, p.context}));
        flat.clear();
      }
    }
    if (!flat.empty()) run.evalBatches.push_back(torch::tensor(flat, torch::kInt64).view({-1, p.context}));
    if (run.evalBatches.empty()) throw InputError(p.corpus, "too small for one window of " + std::to_string(p.context) + " tokens");
    if (counter) evalDocs = counter->counted();
  }
  wo.loop = true;
  std::unique_ptr<TrainingSource> source;  // the model over the corpus, or harvested files
  std::unique_ptr<TokenWindows> windows;
  if (harvested) {
    // This rank's disjoint share of the harvest's shards.
    source = std::make_unique<TrainingSource>(*harvested, p.layers, p.windowsPerForward, run.rank, run.world);
  } else if (run.world > 1) {
    // Every world-th document from this rank's on: disjoint shares, a pure
    // function of (corpus, seed, rank, world).
    windows = std::make_unique<TokenWindows>(
        std::make_unique<ShardedDocuments>(openDocuments(p.corpus, wo, p.corpusFormat), evalDocs, run.rank, run.world),
        run.tok, wo);
  } else {
    windows = TokenWindows::open(p.corpus, run.tok, wo, p.corpusFormat);
    if (p.evalCorpus.empty()) windows->skip(p.evalWindows);
  }
  if (!source) source = std::make_unique<TrainingSource>(*run.model, std::move(windows), p.layers, p.windowsPerForward);

  // Resume?
  TrainSaeResult result;
  json state;
  std::map<std::string, torch::Tensor> ckTensors;
  const std::string statePath = run.ckptDir() + "/state.json";
  std::string stateText;  // rank 0 reads it; the others get it from rank 0 (no shared file system needed)
  if (p.resume && run.root() && fs::exists(statePath)) stateText = readInputFile(statePath, InputKind::Config);
  if (p.resume && p.group) stateText = p.group->broadcastBytes(stateText, 0);
  if (!stateText.empty()) {
    try {
      state = parseJson(stateText, statePath, "checkpoint state");
    } catch (const std::exception& e) {
      throw InputError(statePath, std::string("unreadable checkpoint: ") + e.what());
    }
    if (state["identity"] != runIdentity(p, run.dSae))
      throw UsageError("a checkpoint for a different run exists in " + run.ckptDir() +
                       " (model, layers, d_sae, batch, context, seed, tokens or the number of ranks differ); "
                       "use another --out or delete it");
    if (run.root()) {
      auto f = st::File::open(run.ckptDir() + "/" + state["file"].get<std::string>());
      for (const auto& t : f->tensors()) ckTensors[t.name] = loadTensorRaw(*f, t.name);
    }
    result.resumed = true;
    run.elapsedBefore = state.value("elapsed_s", 0.0);
  }
  int64_t step = result.resumed ? state["step"].get<int64_t>() : 0;
  if (result.resumed) {
    int64_t done = state["windows"].get<int64_t>();
    if (p.group) {
      const json& rw = state.at("rank_windows");
      if (!rw.is_array() || static_cast<int>(rw.size()) != run.world)
        throw InputError(statePath, "the checkpoint does not hold every rank's position");
      done = rw.at(static_cast<size_t>(run.rank)).get<int64_t>();
    }
    source->seek(done);
  }

  const uint64_t rankSeed = run.world > 1 ? 0x9E3779B97F4A7C15ULL * static_cast<uint64_t>(run.rank + 1) : 0;
  // Data-parallel: the ranks' buffers together hold --buffer-tokens (as do their batches --batch).
  const int64_t bufferTokens = std::max(localBatch, p.bufferTokens / run.world);
  ShuffledBuffer buffer(source->stream(), bufferTokens, p.seed * 1000003ULL + static_cast<uint64_t>(step) + rankSeed, run.device,
                        progress, p.reuse);
  if (buffer.filled() < localBatch) throw InputError(p.corpus, "yields fewer activations than one batch");

  SaeTrainOptions to;
  to.lr = p.lr;
  to.warmupSteps = p.warmupSteps;
  to.totalSteps = run.totalSteps;
  to.decayFraction = p.decayFraction;
  to.mode = p.mode;
  to.architecture = p.architecture;
  to.k = p.k;
  to.deadSteps = p.deadWindow;
  to.auxkCoeff = p.auxkCoeff;
  to.auxkK = p.auxkK;
  to.auxkNormalize = p.auxkNormalize;
  if (p.group) to.sync = makeGradientSync(p.group);
  const bool relu = p.architecture == "standard";
  for (size_t i = 0; i < p.layers.size(); ++i) {
    SaeConfig c;
    c.d_in = run.dIn;
    c.d_sae = run.dSae;
    c.hook_name = hookName(p.layers[i]);
    c.hook_layer = p.layers[i];
    c.model_name = fs::path(fs::weakly_canonical(p.modelDir)).filename().string();
    c.context_size = p.context;
    c.architecture = p.architecture == "batchtopk" ? "jumprelu" : p.architecture;
    c.k = p.k;
    auto init = Sae::init(c, p.seed + 7919 * static_cast<uint64_t>(p.layers[i]), run.device);
    auto rows = buffer.sample(i, 65536);
    double l1 = p.l1;
    if (result.resumed) {
      l1 = state["l1"].at(i).get<double>();
    } else {
      init->b_dec = rows.mean(0);  // start the decoder bias at the data mean
      if (p.group) {               // (the mean of the ranks' means)
        dist::allReduceSum(*p.group, init->b_dec);
        init->b_dec.div_(run.world);
      }
      if (p.architecture == "jumprelu") {
        l1 = p.l0 >= 0 ? p.l0 : 1.0;
        // Data-parallel: rank 0's thresholds win (syncFrom below).
        init->threshold = p.initThreshold > 0
                              ? torch::full({run.dSae}, p.initThreshold, init->W_dec.options())
                              : SaeTrainer::thresholdsForL0(*init, rows.slice(0, 0, std::min<int64_t>(rows.size(0), 8192)),
                                                            std::min<double>(p.initL0, static_cast<double>(run.dSae)));
      }
      else if (!relu) l1 = 0;
      else if (l1 < 0) {
        double meanSq = (rows - rows.mean(0)).pow(2).sum(1).mean().item<double>();
        if (p.group) {
          std::vector<double> v{meanSq};
          p.group->allReduceSum(v);
          meanSq = v[0] / run.world;
        }
        l1 = p.l1Scale * std::sqrt(meanSq);
      }
    }
    run.l1.push_back(l1);
    to.l1 = l1;
    run.trainers.push_back(std::make_unique<SaeTrainer>(*init, to));
    if (result.resumed && run.root()) run.trainers.back()->loadState(ckTensors, "L" + std::to_string(p.layers[i]) + ".");
    run.trainers.back()->syncFrom(0);  // data-parallel: every rank starts from rank 0's state
    run.saes.push_back(*init);
    run.saes.back().cfg.extra_json =
        json{{"zscope", {{"l1_coefficient", l1}, {"lr", p.lr}, {"batch_size", p.batch}, {"training_tokens", p.tokens},
                         {"seed", p.seed}, {"command", p.commandLine}}}}.dump();
  }
  if (run.root()) {
    fs::create_directories(p.outDir);
    resolveOutputPath(p.outDir + "/metrics.jsonl");  // a FIFO or device there is refused, not blocked on
    run.metrics.open(p.outDir + "/metrics.jsonl", std::ios::app);
    if (!run.metrics) throw std::runtime_error("cannot write " + p.outDir + "/metrics.jsonl");
  }
  if (!result.resumed)
    run.emit({{"kind", "start"}, {"layers", p.layers}, {"d_in", run.dIn}, {"d_sae", run.dSae}, {"l1", run.l1},
              {"steps", run.totalSteps}, {"batch", p.batch}, {"device", run.device.str()}, {"command", p.commandLine},
              {"world", run.world}});
  else
    run.emit({{"kind", "resume"}, {"step", step}});

  const size_t nL = p.layers.size();
  std::vector<SaeStepStats> acc(nL);
  int64_t accSteps = 0;
  std::vector<torch::Tensor> batch;
  // Data-parallel: the hash of every rank's weights, compared across ranks.
  auto weightsHash = [&] {
    uint64_t h = 14695981039346656037ULL;
    for (const auto& t : run.trainers) {
      uint64_t x = trainerStateHash(*t);
      h = dist::fnv1a(&x, sizeof x, h);
    }
    return dist::hex64(h);
  };
  auto checkSameWeights = [&](int64_t atStep) {
    const std::string mine = weightsHash();
    auto all = p.group->allGatherBytes(mine);
    for (int r = 0; r < run.world; ++r)
      if (all[r] != all[0])
        throw std::runtime_error("rank " + std::to_string(r) + "'s weights differ from rank 0's at step " +
                                 std::to_string(atStep) + " (" + all[r] + " vs " + all[0] + ")");
    return mine;
  };
  int64_t filePasses = 0;
  while (step < run.totalSteps) {
    bool cancel = progress.cancelled();
    if (p.group) cancel = p.group->allReduceMax(cancel ? 1.0 : 0.0) > 0;  // every rank stops at the same step
    if (cancel) {
      run.checkpoint(step, source->position());
      run.saveSaes();
      run.emit({{"kind", "cancelled"}, {"step", step}});
      result.cancelled = true;
      break;
    }
    if (!buffer.next(localBatch, batch)) throw InputError(p.corpus, "ran out of activations");
    for (size_t i = 0; i < nL; ++i) {
      auto s = run.trainers[i]->step(batch[i]);
      if (!std::isfinite(s.loss))  // issue 19: stop instead of writing an all-NaN SAE
        throw std::runtime_error("training diverged (loss " + std::to_string(s.loss) + " at step " +
                                 std::to_string(step) + "); lower --lr or --l1");
      acc[i].loss += s.loss;
      acc[i].l0 += s.l0;
      acc[i].mse += s.mse;
      acc[i].explained_variance += s.explained_variance;
    }
    ++step;
    ++accSteps;
    if (source->passes() > filePasses) {
      // The harvest is shorter than what training reads: its rows are served again.
      filePasses = source->passes();
      run.emit({{"kind", "activations_pass"}, {"step", step}, {"passes", filePasses},
                {"rows_per_pass", source->rowsPerPass()}});
    }
    const int64_t tokens = step * p.batch;
    // ReLU, and TopK / BatchTopK when asked (--resample-topk); not JumpReLU.
    const bool resamples = relu || (p.resampleTopk && (p.architecture == "topk" || p.architecture == "batchtopk"));
    bool resampleNow = resamples && step % p.resampleEvery == 0 && step <= static_cast<int64_t>(0.6 * run.totalSteps);
    for (size_t i = 0; i < nL && resampleNow; ++i) {
      SaeTrainer& tr = *run.trainers[i];
      const double windowTokens = tr.windowTokens();
      int64_t n = p.resampleDensity > 0
                      ? tr.resampleByDensity(buffer.sample(i, 65536), p.resampleDensity, 10.0 / p.resampleDensity,
                                             p.seed + static_cast<uint64_t>(step))
                      : tr.resampleDead(buffer.sample(i, 65536), p.deadWindow, p.seed + static_cast<uint64_t>(step));
      run.emit({{"kind", "resample"}, {"step", step}, {"layer", p.layers[i]}, {"resampled", n},
                {"window_tokens", windowTokens}, {"min_density", p.resampleDensity}});
    }
    if (step % p.metricsEvery == 0 || step == run.totalSteps) {
      const std::string hash = p.group ? checkSameWeights(step) : std::string();
      for (size_t i = 0; i < nL; ++i) {
        auto since = run.trainers[i]->stepsSinceFired();
        int64_t window = std::min<int64_t>(step, p.deadWindow);
        double dead = (since >= window).to(torch::kFloat64).mean().item<double>();
        // Density over the current window (since the last density resample).
        torch::Tensor dens = run.trainers[i]->windowDensity();
        auto share = [&](double t) { return (dens < t).to(torch::kFloat64).mean().item<double>(); };
        const double k = static_cast<double>(accSteps);
        // The live density histogram (the GUI's training panel draws it): eval-sae's bins.
        SaeEvalResult hist;
        const double wt = run.trainers[i]->windowTokens();
        auto firesT = (dens * wt).contiguous();
        densityStats(std::vector<double>(firesT.data_ptr<double>(), firesT.data_ptr<double>() + firesT.numel()), wt, hist);
        json line = {{"kind", "train"}, {"step", step}, {"tokens", tokens}, {"layer", p.layers[i]},
                     {"loss", acc[i].loss / k}, {"l0", acc[i].l0 / k}, {"mse", acc[i].mse / k},
                     {"explained_variance", acc[i].explained_variance / k}, {"dead_fraction", dead},
                     {"density_below_1e-5", share(1e-5)}, {"density_below_1e-4", share(1e-4)},
                     {"density_below_1e-3", share(1e-3)}, {"density_window_tokens", wt},
                     {"density_histogram", {{"log10_edges", hist.density_edges}, {"counts", hist.density_hist}, {"dead", hist.dead_count}}},
                     {"lr", run.trainers[i]->lrAt(step - 1)}, {"elapsed_s", run.elapsed()}};
        if (p.group) {  // checked identical on every rank
          line["world"] = run.world;
          line["weights_hash"] = hash;
        }
        run.emit(line);
        acc[i] = SaeStepStats{};
      }
      accSteps = 0;
    }
    if ((p.ceEvery > 0 && step % p.ceEvery == 0) || step == run.totalSteps) run.evalCe(step, tokens);
    if (p.checkpointEvery > 0 && step % p.checkpointEvery == 0 && step < run.totalSteps)
      run.checkpoint(step, source->position());
    progress(static_cast<double>(tokens), static_cast<double>(run.totalSteps * p.batch), "activations");
  }
  if (!result.cancelled) {
    run.saveSaes();
    run.checkpoint(step, source->position());
    // Activation rows read in this run (a harvest for the same run needs at least these).
    run.emit({{"kind", "done"}, {"step", step}, {"elapsed_s", run.elapsed()},
              {"activation_rows_read", source->rowsRead()}});
  }
  for (int64_t l : p.layers) result.saeDirs.push_back(p.outDir + "/" + hookName(l));
  result.steps = step;
  result.tokens = step * p.batch;
  result.metricsPath = p.outDir + "/metrics.jsonl";
  result.seconds = run.elapsed();
  result.rank = run.rank;
  result.world = run.world;
  if (p.group) result.weightsHash = weightsHash();
  return result;
}

}  // namespace zs
