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
#include "core/model/model.h"
#include "core/session/session.h"
#include "core/base/runtime.h"
#include "core/sae/sae.h"
#include "core/sae/sae_eval.h"
#include "core/sae/sae_harvest.h"
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

  double elapsed() const {
    return elapsedBefore + std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  void emit(json j) {
    std::string line = j.dump();
    metrics << line << "\n";
    metrics.flush();
    if (onMetrics) onMetrics(line);
  }
  std::string ckptDir() const { return p.outDir + "/checkpoint"; }

  void saveSaes() {
    for (size_t i = 0; i < saes.size(); ++i) {
      trainers[i]->syncToSae(saes[i]);
      saes[i].saveDir(p.outDir + "/" + hookName(p.layers[i]));
    }
  }

  void checkpoint(int64_t step, int64_t windows) {
    fs::create_directories(ckptDir());
    std::vector<std::pair<std::string, torch::Tensor>> all;
    for (size_t i = 0; i < trainers.size(); ++i)
      for (auto& kv : trainers[i]->state("L" + std::to_string(p.layers[i]) + "."))
        all.emplace_back(kv.first, kv.second.to(torch::kCPU).contiguous());
    std::string file = "state-" + std::to_string(step) + ".safetensors";
    saveTensors(ckptDir() + "/" + file, all);
    json st = {{"identity", runIdentity(p, dSae)}, {"file", file},       {"step", step},
               {"windows", windows},                {"l1", l1},          {"elapsed_s", elapsed()}};
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
  Run run{p, progress, onMetrics};
  SessionOptions so;
  so.device = p.device;
  so.needTokenizer = !p.corpus.empty() && DocumentReader::detectFormat(p.corpus).rfind("bin", 0) != 0;
  run.session = Session::open(p.modelDir, so);
  run.device = torch::Device(run.session->device() == "cuda" ? torch::kCUDA : torch::kCPU);
  run.model = &run.session->model();
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
  if (p.deadWindow < 0) p.deadWindow = std::max<int64_t>(1, p.resampleEvery / 2);

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
  // Held-out windows for CE: a separate corpus, or the first windows of this one.
  {
    wo.loop = false;
    auto ew = TokenWindows::open(p.evalCorpus.empty() ? p.corpus : p.evalCorpus, run.tok, wo, p.corpusFormat);
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
  }
  wo.loop = true;
  auto windows = TokenWindows::open(p.corpus, run.tok, wo, p.corpusFormat);
  if (p.evalCorpus.empty()) windows->skip(p.evalWindows);

  // Resume?
  TrainSaeResult result;
  json state;
  std::map<std::string, torch::Tensor> ckTensors;
  const std::string statePath = run.ckptDir() + "/state.json";
  if (p.resume && fs::exists(statePath)) {
    try {
      state = parseJson(readInputFile(statePath, InputKind::Config), statePath, "checkpoint state");
    } catch (const std::exception& e) {
      throw InputError(statePath, std::string("unreadable checkpoint: ") + e.what());
    }
    if (state["identity"] != runIdentity(p, run.dSae))
      throw UsageError("a checkpoint for a different run exists in " + run.ckptDir() +
                       " (model, layers, d_sae, batch, context, seed or tokens differ); use another --out or delete it");
    auto f = st::File::open(run.ckptDir() + "/" + state["file"].get<std::string>());
    for (const auto& t : f->tensors()) ckTensors[t.name] = loadTensorRaw(*f, t.name);
    result.resumed = true;
    run.elapsedBefore = state.value("elapsed_s", 0.0);
  }
  int64_t step = result.resumed ? state["step"].get<int64_t>() : 0;
  if (result.resumed) windows->skip(state["windows"].get<int64_t>() - windows->windowsProduced());

  ActivationSource src(*run.model, *windows, p.layers, p.windowsPerForward);
  ShuffledBuffer buffer(src, p.bufferTokens, p.seed * 1000003ULL + static_cast<uint64_t>(step), run.device, progress, p.reuse);
  if (buffer.filled() < p.batch) throw InputError(p.corpus, "yields fewer activations than one batch");

  SaeTrainOptions to;
  to.lr = p.lr;
  to.warmupSteps = p.warmupSteps;
  to.totalSteps = run.totalSteps;
  to.decayFraction = p.decayFraction;
  to.mode = p.mode;
  to.architecture = p.architecture;
  to.k = p.k;
  to.deadSteps = p.deadWindow;
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
      if (p.architecture == "jumprelu") l1 = p.l0 >= 0 ? p.l0 : 1.0;
      else if (!relu) l1 = 0;
      else if (l1 < 0) l1 = p.l1Scale * std::sqrt((rows - rows.mean(0)).pow(2).sum(1).mean().item<double>());
    }
    run.l1.push_back(l1);
    to.l1 = l1;
    run.trainers.push_back(std::make_unique<SaeTrainer>(*init, to));
    if (result.resumed) run.trainers.back()->loadState(ckTensors, "L" + std::to_string(p.layers[i]) + ".");
    run.saes.push_back(*init);
    run.saes.back().cfg.extra_json =
        json{{"zscope", {{"l1_coefficient", l1}, {"lr", p.lr}, {"batch_size", p.batch}, {"training_tokens", p.tokens},
                         {"seed", p.seed}, {"command", p.commandLine}}}}.dump();
  }
  fs::create_directories(p.outDir);
  resolveOutputPath(p.outDir + "/metrics.jsonl");  // a FIFO or device there is refused, not blocked on
  run.metrics.open(p.outDir + "/metrics.jsonl", std::ios::app);
  if (!run.metrics) throw std::runtime_error("cannot write " + p.outDir + "/metrics.jsonl");
  if (!result.resumed)
    run.emit({{"kind", "start"}, {"layers", p.layers}, {"d_in", run.dIn}, {"d_sae", run.dSae}, {"l1", run.l1},
              {"steps", run.totalSteps}, {"batch", p.batch}, {"device", run.device.str()}, {"command", p.commandLine}});
  else
    run.emit({{"kind", "resume"}, {"step", step}});

  const size_t nL = p.layers.size();
  std::vector<SaeStepStats> acc(nL);
  int64_t accSteps = 0;
  std::vector<torch::Tensor> batch;
  while (step < run.totalSteps) {
    if (progress.cancelled()) {
      run.checkpoint(step, windows->windowsProduced());
      run.saveSaes();
      run.emit({{"kind", "cancelled"}, {"step", step}});
      result.cancelled = true;
      break;
    }
    if (!buffer.next(p.batch, batch)) throw InputError(p.corpus, "ran out of activations");
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
    const int64_t tokens = step * p.batch;
    // ReLU only (AuxK and the JumpReLU threshold keep the other architectures alive).
    bool resampleNow = relu && step % p.resampleEvery == 0 && step <= static_cast<int64_t>(0.6 * run.totalSteps);
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
        run.emit({{"kind", "train"}, {"step", step}, {"tokens", tokens}, {"layer", p.layers[i]},
                  {"loss", acc[i].loss / k}, {"l0", acc[i].l0 / k}, {"mse", acc[i].mse / k},
                  {"explained_variance", acc[i].explained_variance / k}, {"dead_fraction", dead},
                  {"density_below_1e-5", share(1e-5)}, {"density_below_1e-4", share(1e-4)},
                  {"density_below_1e-3", share(1e-3)}, {"density_window_tokens", wt},
                  {"density_histogram", {{"log10_edges", hist.density_edges}, {"counts", hist.density_hist}, {"dead", hist.dead_count}}},
                  {"lr", run.trainers[i]->lrAt(step - 1)}, {"elapsed_s", run.elapsed()}});
        acc[i] = SaeStepStats{};
      }
      accSteps = 0;
    }
    if ((p.ceEvery > 0 && step % p.ceEvery == 0) || step == run.totalSteps) run.evalCe(step, tokens);
    if (p.checkpointEvery > 0 && step % p.checkpointEvery == 0 && step < run.totalSteps)
      run.checkpoint(step, windows->windowsProduced());
    progress(static_cast<double>(tokens), static_cast<double>(run.totalSteps * p.batch), "activations");
  }
  if (!result.cancelled) {
    run.saveSaes();
    run.checkpoint(step, windows->windowsProduced());
    run.emit({{"kind", "done"}, {"step", step}, {"elapsed_s", run.elapsed()}});
  }
  for (int64_t l : p.layers) result.saeDirs.push_back(p.outDir + "/" + hookName(l));
  result.steps = step;
  result.tokens = step * p.batch;
  result.metricsPath = p.outDir + "/metrics.jsonl";
  result.seconds = run.elapsed();
  return result;
}

}  // namespace zs
