// Model training (core/train_model.h): config parsing, deterministic batches
// with repeated spans, loss going down, and checkpoint -> resume reproducing
// the uninterrupted run. Everything runs on a tiny model and a small synthetic
// corpus (a few seconds on 2 cores).
#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/train/bpe_trainer.h"
#include "core/base/error.h"
#include "core/model/gpt2.h"
#include "core/text/tokenizer.h"
#include "core/train/train_internal.h"
#include "core/train/train_model.h"
#include "tests/support/check.h"

using namespace zs;
namespace fs = std::filesystem;

namespace {

// Deterministic little English corpus: train.jsonl + validation.jsonl + a BPE tokenizer.
std::string makeCorpus() {
  static std::string dir;
  if (!dir.empty()) return dir;
  dir = zs::test::tempDir() + "/corpus";
  fs::create_directories(dir);
  const char* subj[] = {"the cat", "a dog", "my friend", "the old man", "she", "the bird"};
  const char* verb[] = {"sat on", "looked at", "walked to", "found", "liked", "painted"};
  const char* obj[] = {"the mat.", "a red house.", "the river.", "his hat.", "the garden.", "a small boat."};
  uint32_t x = 12345;
  auto rnd = [&](uint32_t n) { x = x * 1664525u + 1013904223u; return (x >> 8) % n; };
  for (const char* split : {"train", "validation"}) {
    std::ofstream out(dir + "/" + split + ".jsonl");
    const int docs = std::string(split) == "train" ? 300 : 30;
    for (int d = 0; d < docs; ++d) {
      std::string text;
      for (int s = 0; s < 8; ++s)
        text += std::string(subj[rnd(6)]) + " " + verb[rnd(6)] + " " + obj[rnd(6)] + (s % 3 == 2 ? "\n" : " ");
      out << nlohmann::json({{"text", text}}).dump() << "\n";
    }
  }
  trainBpeTokenizer(dir + "/train.jsonl", 300, dir + "/tok");
  return dir;
}

TrainConfig tinyConfig(int64_t tokens) {
  TrainConfig c = TrainConfig::fromJsonText(
      R"({"model": {"n_layer": 2, "n_head": 2, "n_embd": 32, "n_positions": 32},
          "train": {"batch": 8, "context": 32, "lr": 0.01, "warmup_steps": 5, "eval_interval": 5,
                    "eval_tokens": 512, "checkpoint_interval": 5, "repeat_share": 0.25, "repeat_min_len": 4}})",
      "tiny");
  c.tokens = tokens;
  return c;
}

// Independent reference for the lr of step `step` (0-based) under a cosine of `total` steps: linear warm-up,
// then cosine from c.lr to c.lr * c.minLrRatio.
double referenceLr(const TrainConfig& c, int64_t step, int64_t total) {
  if (step < c.warmupSteps) return c.lr * double(step + 1) / double(c.warmupSteps);
  const double progress = double(step - c.warmupSteps) / double(total - c.warmupSteps);
  const double minLr = c.lr * c.minLrRatio;
  return minLr + 0.5 * (c.lr - minLr) * (1 + std::cos(M_PI * progress));
}

TrainOptions options(const std::string& out) {
  TrainOptions o;
  o.corpus = makeCorpus();
  o.tokenizerDir = o.corpus + "/tok";
  o.outDir = out;
  o.quiet = true;
  return o;
}

}  // namespace

ZS_TEST(configParsing) {
  TrainConfig c = TrainConfig::fromJsonText(R"({"train": {"tokens": 4e6, "context": 64}})", "c.json");
  ZS_CHECK_EQ(c.tokens, int64_t(4000000));
  ZS_CHECK_EQ(c.model.n_positions, int64_t(64));  // defaults to the trained context
  ZS_CHECK_EQ(c.steps(), (int64_t(4000000) + 32 * 64 - 1) / (32 * 64));
  ZS_CHECK_THROWS(TrainConfig::fromJsonText(R"({"train": {"lr_typo": 1}})", "c.json"), InputError);
  ZS_CHECK_THROWS(TrainConfig::fromJsonText(R"({"extra": {}})", "c.json"), InputError);
  ZS_CHECK_THROWS(TrainConfig::fromJsonText(
                                           R"({"model": {"n_positions": 32}, "train": {"context": 64}})", "c.json"), InputError);
  ZS_CHECK_THROWS(TrainConfig::fromJsonText(R"({"train": {"batch": 1.5}})", "c.json"), InputError);
  ZS_CHECK_THROWS(TrainConfig::fromJsonText("{not json", "c.json"), InputError);
  // Round trip through toJson.
  TrainConfig d = TrainConfig::fromJsonText(c.toJson().dump(), "again");
  ZS_CHECK_EQ(d.toJson(), c.toJson());
}

ZS_TEST(batchesAreDeterministicWithRepeatedSpans) {
  std::vector<uint16_t> data(5000);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint16_t>(1 + (i * 7919) % 97);
  TrainConfig c = tinyConfig(10000);
  c.repeatShare = 1.0;
  torch::Tensor a = sampleBatch(data, c, 100, 0, 3), b = sampleBatch(data, c, 100, 0, 3);
  ZS_CHECK(torch::equal(a, b));
  ZS_CHECK(!torch::equal(a, sampleBatch(data, c, 100, 0, 4)));
  ZS_CHECK_EQ(a.sizes().vec(), (std::vector<int64_t>{8, 32}));
  auto acc = a.accessor<int64_t, 2>();
  for (int64_t r = 0; r < 8; ++r) {
    ZS_CHECK_EQ(acc[r][0], int64_t(0));  // BOS first
    for (int64_t t = 1; t < 32; ++t) ZS_CHECK(acc[r][t] != 0 && acc[r][t] < 100);
    // Some span of >= repeat_min_len tokens occurs twice without overlap.
    bool found = false;
    for (int64_t p1 = 1; p1 < 32 && !found; ++p1)
      for (int64_t p2 = p1 + c.repeatMinLen; p2 + c.repeatMinLen <= 32 && !found; ++p2) {
        int64_t k = 0;
        while (k < c.repeatMinLen && p1 + k < p2 && acc[r][p1 + k] == acc[r][p2 + k]) ++k;
        found = k == c.repeatMinLen;
      }
    ZS_CHECK_MSG(found, zs::test::cat("row ", r, " has no repeated span"));
  }
}

ZS_TEST(trainingLowersLossOnAFixedBatch) {
  const std::string out = zs::test::tempDir() + "/lower";
  TrainOptions o = options(out);
  TrainConfig c = tinyConfig(8 * 32 * 40);  // 40 steps
  auto tok = Tokenizer::loadDir(o.tokenizerDir);
  TokenCorpus data = loadTokenCorpus(o.corpus, *tok, o.tokenizerDir, zs::test::tempDir() + "/cache", {});
  c.model.vocab_size = tok->vocabSize();
  c.model.bos_token_id = c.model.eos_token_id = tok->endOfTextId();
  torch::Tensor batch = sampleBatch(data.train, c, tok->vocabSize(), tok->endOfTextId(), 0);
  const double before = meanLoss(*Gpt2::init(c.model, c.seed), batch, 8);
  TrainResult r = trainModel(c, o);
  ZS_CHECK_EQ(r.steps, int64_t(40));
  ZS_CHECK_EQ(r.tokensSeen, int64_t(40 * 8 * 32));
  const double after = meanLoss(*Gpt2::loadDir(out), batch, 8);
  // Untrained: about ln(300) = 5.7 nats; this grammar is easy to learn.
  ZS_CHECK_MSG(before > 5.0, zs::test::cat(before));
  ZS_CHECK_MSG(after < before - 2.0, zs::test::cat("before ", before, " after ", after));
  ZS_CHECK(r.curve.back().valLoss < r.curve.front().valLoss - 1.0);
  // The output is a loadable HF folder with the tokenizer and BOS/EOS ids.
  ZS_CHECK(fs::exists(out + "/vocab.json") && fs::exists(out + "/merges.txt") && fs::exists(out + "/metrics.jsonl"));
  Gpt2Config saved = Gpt2Config::fromFile(out + "/config.json");
  ZS_CHECK_EQ(saved.bos_token_id, tok->endOfTextId());
  ZS_CHECK_EQ(saved.eos_token_id, tok->endOfTextId());
}

ZS_TEST(resumeAfterInterruptReproducesTheRun) {
  TrainConfig c = tinyConfig(8 * 32 * 30);  // 30 steps, checkpoints every 5
  const std::string whole = zs::test::tempDir() + "/whole", cut = zs::test::tempDir() + "/cut";
  TrainResult full = trainModel(c, options(whole));

  std::atomic<bool> stop{false};
  Progress p;
  p.cancel = &stop;
  p.report = [&](double done, double, const std::string& msg) {
    if (msg.rfind("tokeniz", 0) != 0 && done >= 12) stop = true;  // "Ctrl+C" after step 12
  };
  ZS_CHECK_THROWS(trainModel(c, options(cut), p), Cancelled);
  TrainResult resumed = trainModel(c, options(cut));
  ZS_CHECK_EQ(resumed.resumedFromStep, int64_t(12));  // Ctrl+C saved a checkpoint at once
  ZS_CHECK_EQ(resumed.steps, full.steps);
  ZS_CHECK_EQ(resumed.curve.size(), full.curve.size());
  for (size_t i = 0; i < full.curve.size(); ++i) {
    ZS_CHECK_EQ(resumed.curve[i].step, full.curve[i].step);
    ZS_CHECK_MSG(std::abs(resumed.curve[i].valLoss - full.curve[i].valLoss) < 1e-4,
                 zs::test::cat("step ", full.curve[i].step, ": ", resumed.curve[i].valLoss, " vs ",
                               full.curve[i].valLoss));
    ZS_CHECK_MSG(std::abs(resumed.curve[i].trainLoss - full.curve[i].trainLoss) < 1e-4,
                 zs::test::cat("step ", full.curve[i].step, ": train ", resumed.curve[i].trainLoss, " vs ",
                               full.curve[i].trainLoss));
  }
  auto a = Gpt2::loadDir(whole), b = Gpt2::loadDir(cut);
  auto pa = a->namedParameters(), pb = b->namedParameters();
  for (size_t i = 0; i < pa.size(); ++i)
    ZS_CHECK_MSG(torch::allclose(pa[i].second, pb[i].second, 1e-4, 1e-5), pa[i].first.c_str());

  // Running a finished run again changes nothing; another config refuses the checkpoint.
  ZS_CHECK_EQ(trainModel(c, options(cut)).resumedFromStep, full.steps);
  TrainConfig other = c;
  other.lr = 0.02;
  ZS_CHECK_THROWS(trainModel(other, options(cut)), InputError);

  // The schedule's length is not part of the run's identity: a finished run lengthened to 40 steps resumes
  // at step 30 and follows the new cosine from there; one shortened below its checkpoint is refused.
  TrainConfig longer = c;
  longer.tokens = 8 * 32 * 40;
  TrainResult more = trainModel(longer, options(cut));
  ZS_CHECK_EQ(more.resumedFromStep, full.steps);
  ZS_CHECK_EQ(more.steps, int64_t(40));
  ZS_CHECK_EQ(more.previousScheduleTokens, c.tokens);
  ZS_CHECK_EQ(more.curve.back().step, int64_t(40));
  for (const TrainMetrics& m : more.curve) {
    if (m.step <= 30) continue;
    // lr logged at an evaluation step = the lr of the step just taken (step - 1), by the new schedule
    const double want = referenceLr(longer, m.step - 1, 40);
    ZS_CHECK_MSG(std::abs(m.lr - want) < 1e-9, zs::test::cat("step ", m.step, ": lr ", m.lr, " vs ", want));
  }
  TrainConfig shorter = c;
  shorter.tokens = 8 * 32 * 20;
  ZS_CHECK_THROWS(trainModel(shorter, options(cut)), InputError);
}

ZS_TEST(scheduleHistoryIsRecordedOnResumeAndReplays) {
  // A run planned for 30 steps, stopped at 10, lengthened to 40 steps and stopped at 20, then shortened
  // to 25 steps: each later command changes only train.tokens / stop_at_step, as a user resuming does.
  const int64_t perStep = 8 * 32;
  const std::string resumed = zs::test::tempDir() + "/sched-resumed";
  const std::string straight = zs::test::tempDir() + "/sched-straight";
  TrainConfig a = tinyConfig(perStep * 30);
  a.stopAtStep = 10;
  trainModel(a, options(resumed));
  TrainConfig b = tinyConfig(perStep * 40);
  b.stopAtStep = 20;
  ZS_CHECK_EQ(trainModel(b, options(resumed)).previousScheduleTokens, perStep * 30);
  TrainConfig c = tinyConfig(perStep * 25);
  TrainResult r = trainModel(c, options(resumed));
  ZS_CHECK_EQ(r.resumedFromStep, int64_t(20));
  ZS_CHECK_EQ(r.steps, int64_t(25));

  // The run folder's train_config.json is the schedule as run.
  TrainConfig asRun = TrainConfig::fromFile(resumed + "/train_config.json");
  using Span = TrainConfig::ScheduleSpan;
  ZS_CHECK(asRun.scheduleHistory == (std::vector<Span>{{10, perStep * 30}, {20, perStep * 40}}));
  ZS_CHECK_EQ(asRun.tokens, perStep * 25);
  ZS_CHECK_EQ(asRun.stopAtStep, int64_t(0));
  // Its lr: each step follows the cosine of the schedule in force then (independent formula).
  for (int64_t step = 0; step < 25; ++step) {
    const double want = referenceLr(c, step, step < 10 ? 30 : step < 20 ? 40 : 25);
    ZS_CHECK_MSG(std::abs(asRun.lrAt(step) - want) < 1e-12,
                 zs::test::cat("step ", step, ": ", asRun.lrAt(step), " vs ", want));
  }
  // The straight run of that file replays the resumed one: the same lr and losses at every evaluation,
  // the same weights.
  TrainResult again = trainModel(asRun, options(straight));
  ZS_CHECK_EQ(again.resumedFromStep, int64_t(0));
  ZS_CHECK_EQ(again.curve.size(), r.curve.size());
  for (size_t i = 0; i < r.curve.size() && i < again.curve.size(); ++i) {
    ZS_CHECK_EQ(again.curve[i].step, r.curve[i].step);
    ZS_CHECK_MSG(std::abs(again.curve[i].lr - r.curve[i].lr) < 1e-15, zs::test::cat("step ", r.curve[i].step));
    ZS_CHECK_MSG(std::abs(again.curve[i].valLoss - r.curve[i].valLoss) < 1e-4,
                 zs::test::cat("step ", r.curve[i].step, ": ", again.curve[i].valLoss, " vs ", r.curve[i].valLoss));
  }
  auto pa = Gpt2::loadDir(resumed)->namedParameters(), pb = Gpt2::loadDir(straight)->namedParameters();
  for (size_t i = 0; i < pa.size(); ++i)
    ZS_CHECK_MSG(torch::allclose(pa[i].second, pb[i].second, 1e-4, 1e-5), pa[i].first.c_str());
  // ... while the plain final config (no history) does not.
  TrainConfig plain = asRun;
  plain.scheduleHistory.clear();
  ZS_CHECK(std::abs(plain.lrAt(12) - asRun.lrAt(12)) > 1e-4);
  // Rerunning the replay on its own folder changes nothing, and its history is kept.
  ZS_CHECK_EQ(trainModel(asRun, options(straight)).resumedFromStep, int64_t(25));
  ZS_CHECK(TrainConfig::fromFile(straight + "/train_config.json").scheduleHistory == asRun.scheduleHistory);
}

ZS_TEST(scheduleHistoryMergingAndValidation) {
  using Span = TrainConfig::ScheduleSpan;
  const int64_t perStep = 8 * 32;
  TrainConfig x = tinyConfig(perStep * 30), y = tinyConfig(perStep * 40);
  ZS_CHECK(x.resumedFrom(x, 12).scheduleHistory.empty());                            // no change, no history
  ZS_CHECK(y.resumedFrom(x, 12).scheduleHistory == (std::vector<Span>{{12, perStep * 30}}));
  ZS_CHECK(y.resumedFrom(x, 0).scheduleHistory.empty());                             // nothing ran under x
  // A replay config resumed part-way keeps its own future changes.
  TrainConfig replay = tinyConfig(perStep * 25);
  replay.scheduleHistory = {{10, perStep * 30}, {20, perStep * 40}};
  ZS_CHECK(replay.resumedFrom(replay, 15).scheduleHistory == replay.scheduleHistory);
  // Changing back to an earlier length merges the spans.
  TrainConfig back = tinyConfig(perStep * 30);
  ZS_CHECK(back.resumedFrom(y.resumedFrom(x, 10), 10).scheduleHistory.empty());
  // JSON round trip, and bad histories are InputErrors naming the field.
  TrainConfig r = TrainConfig::fromJsonText(replay.toJson().dump(), "again");
  ZS_CHECK(r.scheduleHistory == replay.scheduleHistory);
  ZS_CHECK_EQ(r.toJson(), replay.toJson());
  const std::string head = R"({"train": {"tokens": 40960, "batch": 8, "context": 32, "schedule_history": )";
  const TrainConfig ok = TrainConfig::fromJsonText(head + R"([{"until_step": 100, "tokens": 30000}]}})", "ok");
  ZS_CHECK_EQ(ok.scheduleHistory.size(), size_t(1));
  for (const char* bad : {R"({"until_step": 100})", R"([{"until_step": 100}])",
                          R"([{"until_step": 0, "tokens": 30000}])",
                          R"([{"until_step": 50, "tokens": 30000}, {"until_step": 40, "tokens": 40000}])",
                          R"([{"until_step": 200, "tokens": 25600}])",   // a 100-step schedule cannot reach step 200
                          R"([{"until_step": 170, "tokens": 81920}])",   // after the end of train.tokens (160 steps)
                          R"([{"until_step": 10, "tokens": 30000, "lr": 1}])"}) {
    try {
      TrainConfig::fromJsonText(head + bad + "}}", "cfg.json");
      ZS_CHECK_MSG(false, zs::test::cat("accepted ", bad));
    } catch (const InputError& e) {
      ZS_CHECK_MSG(std::string(e.what()).find("schedule_history") != std::string::npos, e.what());
    }
  }
}

ZS_TEST(stopAtStepAndWarmStart) {
  TrainConfig c = tinyConfig(8 * 32 * 30);
  c.stopAtStep = 12;  // what Ctrl+C at step 12 leaves, as a finished folder
  const std::string first = zs::test::tempDir() + "/stage1", second = zs::test::tempDir() + "/stage2";
  TrainResult r = trainModel(c, options(first));
  ZS_CHECK_EQ(r.steps, int64_t(12));
  ZS_CHECK_EQ(TrainConfig::fromJsonText(c.toJson().dump(), "x").stopAtStep, int64_t(12));

  // A second stage starts from the first one's weights (a near-zero lr keeps them).
  TrainConfig w = tinyConfig(8 * 32);
  w.initFrom = first;
  w.lr = 1e-9;
  trainModel(w, options(second));
  auto a = Gpt2::loadDir(first), b = Gpt2::loadDir(second);
  auto pa = a->namedParameters(), pb = b->namedParameters();
  for (size_t i = 0; i < pa.size(); ++i)
    ZS_CHECK_MSG(torch::allclose(pa[i].second, pb[i].second, 0, 1e-5), pa[i].first.c_str());

  TrainConfig wrong = w;
  wrong.model.n_embd = 64;  // another shape than the init_from model
  ZS_CHECK_THROWS(trainModel(wrong, options(zs::test::tempDir() + "/stage2b")), InputError);
}

ZS_TEST(badInputsAreInputErrors) {
  TrainConfig c = tinyConfig(1000);
  TrainOptions o = options(zs::test::tempDir() + "/bad");
  o.corpus = zs::test::tempDir() + "/no-such-corpus";
  ZS_CHECK_THROWS(trainModel(c, o), InputError);
  o = options(zs::test::tempDir() + "/bad2");
  o.tokenizerDir = zs::test::tempDir() + "/no-tokenizer";
  ZS_CHECK_THROWS(trainModel(c, o), InputError);
}
