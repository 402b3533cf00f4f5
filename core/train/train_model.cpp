// The training loop: AdamW with warm-up + cosine decay, gradient clipping,
// periodic validation loss, checkpoints and resume (see train_model.h).
#include "core/base/json_util.h"
#include "core/base/output_file.h"
#include "core/train/train_model.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/base/error.h"
#include "core/model/gpt2.h"
#include "core/text/tokenizer.h"
#include "core/train/train_internal.h"

namespace fs = std::filesystem;

namespace zs {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// Decay matrices (weights, embeddings), not biases or LayerNorm gains, as GPT-2 practice does.
std::unique_ptr<torch::optim::AdamW> makeOptimizer(const Gpt2& model, const TrainConfig& c) {
  std::vector<torch::Tensor> decay, noDecay;
  for (const auto& t : model.parameters()) (t.dim() >= 2 ? decay : noDecay).push_back(t);
  auto opts = [&](double wd) {
    return std::make_unique<torch::optim::AdamWOptions>(
        torch::optim::AdamWOptions(c.lr).betas({c.beta1, c.beta2}).eps(1e-8).weight_decay(wd));
  };
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, opts(c.weightDecay));
  groups.emplace_back(noDecay, opts(0.0));
  return std::make_unique<torch::optim::AdamW>(groups, torch::optim::AdamWOptions(c.lr));
}

void copyFile(const fs::path& from, const fs::path& to) {
  if (fs::equivalent(from.parent_path(), to.parent_path())) return;
  fs::copy_file(from, to, fs::copy_options::overwrite_existing);
}

json metricsJson(const TrainMetrics& m) {
  return {{"step", m.step}, {"tokens", m.tokens}, {"lr", m.lr}, {"train_loss", m.trainLoss},
          {"val_loss", m.valLoss}, {"seconds", m.seconds}};
}

// Keeps the metrics of steps <= step (those the checkpoint covers) and returns them.
std::vector<TrainMetrics> truncateMetrics(const fs::path& path, int64_t step) {
  std::vector<TrainMetrics> kept;
  std::ifstream in(path);
  std::string line;
  while (in && std::getline(in, line)) {
    try {
      json j = parseJson(line, path.string(), "metrics line");
      TrainMetrics m{j.at("step").get<int64_t>(), j.at("tokens").get<int64_t>(), j.at("lr").get<double>(),
                     j.at("train_loss").get<double>(), j.at("val_loss").get<double>(), j.at("seconds").get<double>()};
      if (m.step <= step) kept.push_back(m);
    } catch (const std::exception&) {
      // a line cut by a kill: dropped
    }
  }
  in.close();
  std::string text;
  for (const auto& m : kept) text += metricsJson(m).dump() + "\n";
  writeFileAtomic(path.string(), text);
  return kept;
}

}  // namespace

double meanLoss(const Gpt2& model, const torch::Tensor& windows, int64_t batch) {
  torch::InferenceMode guard;
  double sum = 0;
  int64_t count = 0;
  for (int64_t i = 0; i < windows.size(0); i += batch) {
    torch::Tensor ids = windows.narrow(0, i, std::min(batch, windows.size(0) - i));
    torch::Tensor loss = Gpt2::lossPerToken(model.forward(ids).logits, ids);
    sum += loss.sum().item<double>();
    count += loss.numel();
  }
  return count ? sum / static_cast<double>(count) : 0.0;
}

TrainResult trainModel(const TrainConfig& cfgIn, const TrainOptions& opt, const Progress& progress) {
  TrainConfig cfg = cfgIn;
  const fs::path out(opt.outDir);
  fs::create_directories(out);
  const std::string tokDir = opt.tokenizerDir.empty() ? opt.outDir : opt.tokenizerDir;
  if (!fs::exists(fs::path(tokDir) / "vocab.json"))
    throw InputError(tokDir, "no vocab.json here: train a tokenizer first (zscope-cli train-tokenizer) "
                             "or pass --tokenizer DIR");
  auto tok = Tokenizer::loadDir(tokDir);
  const int64_t vocab = tok->vocabSize(), eot = tok->endOfTextId();
  cfg.model.vocab_size = vocab;
  cfg.model.bos_token_id = cfg.model.eos_token_id = eot;
  cfg.validate(opt.outDir);

  Progress tokProgress = progress;
  TokenCorpus data = loadTokenCorpus(opt.corpus, *tok, tokDir, (out / "cache").string(), tokProgress);
  const torch::Device device(opt.device == "cuda" ? torch::kCUDA : torch::kCPU);
  torch::Tensor valWindows = validationWindows(data.validation, cfg.context, eot, cfg.evalTokens).to(device);

  auto model = Gpt2::init(cfg.model, cfg.seed, device);
  if (!cfg.initFrom.empty()) {
    // Warm start; a checkpoint (below) still takes precedence.
    auto from = Gpt2::loadDir(cfg.initFrom, device);
    if (from->config().vocab_size != vocab)
      throw InputError(cfg.initFrom, "init_from model has another vocabulary size than the tokenizer");
    torch::NoGradGuard ng;
    auto dst = model->namedParameters(), src = from->namedParameters();
    if (dst.size() != src.size()) throw InputError(cfg.initFrom, "init_from model has another architecture");
    for (size_t i = 0; i < dst.size(); ++i) {
      if (dst[i].first != src[i].first || dst[i].second.sizes() != src[i].second.sizes())
        throw InputError(cfg.initFrom, "init_from tensor " + src[i].first + " does not match the config");
      dst[i].second.copy_(src[i].second);
    }
  }
  model->setRequiresGrad(true);
  auto optimizer = makeOptimizer(*model, cfg);
  const std::vector<torch::Tensor> params = model->parameters();

  CheckpointState st;
  // What a checkpoint stores to recognise its run (and, since a resume may change it, its schedule).
  auto runJson = [&] {
    return json{{"config", cfg.toJson()}, {"vocab", vocab}, {"train_tokens", data.train.size()}}.dump();
  };
  st.configJson = runJson();
  const fs::path ckpt = out / "checkpoint" / "state.pt";
  TrainResult res;
  if (opt.resume && fs::exists(ckpt)) {
    loadCheckpoint(ckpt.string(), *model, *optimizer, st);
    res.resumedFromStep = st.step;
    if (st.step > cfg.steps())
      throw InputError(ckpt.string(), "the checkpoint is at step " + std::to_string(st.step) +
                                          ", past the end of this configuration's schedule (" +
                                          std::to_string(cfg.steps()) + " steps); raise train.tokens");
    // The steps before the checkpoint ran under the checkpoint's schedule; if this config changes
    // it, the change is recorded in schedule_history so that train_config.json and later
    // checkpoints describe the schedule as run.
    const TrainConfig before = TrainConfig::fromJsonText(st.savedConfigJson, ckpt.string() + " (its config)");
    if (before.tokens != cfg.tokens) res.previousScheduleTokens = before.tokens;
    cfg = cfg.resumedFrom(before, st.step);
    st.configJson = runJson();
  }
  writeFileAtomic((out / "train_config.json").string(), cfg.toJson().dump(2) + "\n");
  const fs::path metricsPath = out / "metrics.jsonl";
  res.curve = truncateMetrics(metricsPath, st.step);
  resolveOutputPath(metricsPath.string());  // a FIFO or device there is refused, not blocked on
  std::ofstream metrics(metricsPath, std::ios::app);

  const int64_t tokensPerStep = cfg.batch * cfg.context;
  const int64_t steps = cfg.stopAtStep > 0 ? std::min(cfg.stopAtStep, cfg.steps()) : cfg.steps();
  double ema = std::nan("");
  // Besides the resumable state, every checkpoint leaves a loadable HF folder
  // (checkpoint/model) so that a long run can be inspected while it trains.
  auto saveCkpt = [&] {
    saveCheckpoint(ckpt.string(), *model, *optimizer, st);
    const fs::path snap = out / "checkpoint" / "model";
    model->saveDir(snap.string());
    copyFile(fs::path(tokDir) / "vocab.json", snap / "vocab.json");
    copyFile(fs::path(tokDir) / "merges.txt", snap / "merges.txt");
  };
  auto lastEvalMsg = std::string();
  auto t0 = Clock::now();
  const double secondsBefore = st.seconds;
  for (int64_t step = st.step; step < steps; ++step) {
    const double lr = cfg.lrAt(step);
    for (auto& g : optimizer->param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
    torch::Tensor ids = sampleBatch(data.train, cfg, vocab, eot, step).to(device);
    torch::Tensor loss = Gpt2::lossPerToken(model->forward(ids).logits, ids).mean();
    optimizer->zero_grad();
    loss.backward();
    if (cfg.gradClip > 0) torch::nn::utils::clip_grad_norm_(params, cfg.gradClip);
    optimizer->step();
    const double l = loss.item<double>();
    if (!std::isfinite(l)) throw std::runtime_error("training diverged (loss " + std::to_string(l) +
                                                    " at step " + std::to_string(step + 1) + "); lower train.lr");
    ema = std::isnan(ema) ? l : 0.95 * ema + 0.05 * l;
    st.lossSum += l;
    st.lossCount += 1;
    st.step = step + 1;
    st.seconds = secondsBefore + std::chrono::duration<double>(Clock::now() - t0).count();
    if (st.step % cfg.evalInterval == 0 || st.step == steps) {
      TrainMetrics m{st.step, st.step * tokensPerStep, lr, st.lossSum / static_cast<double>(st.lossCount),
                     meanLoss(*model, valWindows, cfg.batch), st.seconds};
      st.lossSum = 0;
      st.lossCount = 0;
      metrics << metricsJson(m).dump() << "\n" << std::flush;
      res.curve.push_back(m);
      char buf[160];
      std::snprintf(buf, sizeof buf, "val %.3f", m.valLoss);
      lastEvalMsg = buf;
      if (!opt.quiet)
        std::fprintf(stderr, "\r\x1b[Kstep %lld/%lld  tokens %lld  lr %.2e  train %.4f  val %.4f  %.0f s\n",
                     static_cast<long long>(m.step), static_cast<long long>(steps),
                     static_cast<long long>(m.tokens), m.lr, m.trainLoss, m.valLoss, m.seconds);
    }
    if (st.step % cfg.checkpointInterval == 0 || st.step == steps) saveCkpt();
    char msg[96];
    std::snprintf(msg, sizeof msg, "loss %.3f %s", ema, lastEvalMsg.c_str());
    progress(static_cast<double>(st.step), static_cast<double>(steps), msg);
    if (progress.cancelled() && st.step < steps) {
      saveCkpt();  // Ctrl+C: the same command resumes from here
      throw Cancelled();
    }
  }

  model->saveDir(opt.outDir);
  copyFile(fs::path(tokDir) / "vocab.json", out / "vocab.json");
  copyFile(fs::path(tokDir) / "merges.txt", out / "merges.txt");
  res.steps = st.step;
  res.tokensSeen = st.step * tokensPerStep;
  res.seconds = st.seconds;
  if (!res.curve.empty()) {
    res.finalTrainLoss = res.curve.back().trainLoss;
    res.finalValLoss = res.curve.back().valLoss;
  }
  return res;
}

}  // namespace zs
