// TrainConfig <-> JSON: {"model": {n_layer, n_head, n_embd, n_positions, ...},
//                        "train": {tokens, batch, context, lr, ...}}.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "core/base/error.h"
#include "core/base/input_file.h"
#include "core/base/json_util.h"
#include "core/base/util.h"
#include "core/train/train_model.h"

namespace zs {
namespace {

using nlohmann::json;

const std::set<std::string> kModelKeys = {"n_layer", "n_head", "n_embd", "n_positions", "n_inner",
                                          "activation_function", "layer_norm_epsilon"};
const std::set<std::string> kTrainKeys = {
    "tokens", "batch", "context", "lr", "min_lr_ratio", "warmup_steps", "weight_decay", "beta1", "beta2",
    "grad_clip", "eval_interval", "eval_tokens", "checkpoint_interval", "repeat_share", "repeat_min_len", "seed",
    "init_from", "stop_at_step", "schedule_history"};

struct Reader {
  const json& j;
  std::string file, section;
  void checkKeys(const std::set<std::string>& known) const {
    for (auto it = j.begin(); it != j.end(); ++it)
      if (!known.count(it.key())) throw InputError(file, "unknown field '" + section + "." + it.key() + "'");
  }
  void num(const char* key, double& out) const {
    if (!j.contains(key)) return;
    if (!j[key].is_number()) throw InputError(file, "field '" + section + "." + key + "' must be a number");
    out = j[key].get<double>();
  }
  void integer(const char* key, int64_t& out) const {
    if (!j.contains(key)) return;
    const json& v = j[key];
    if (v.is_number_integer() || v.is_number_unsigned()) {
      out = v.get<int64_t>();
    } else if (v.is_number_float() && v.get<double>() == static_cast<double>(static_cast<int64_t>(v.get<double>()))) {
      out = static_cast<int64_t>(v.get<double>());  // 4e6 is fine
    } else {
      throw InputError(file, "field '" + section + "." + key + "' must be an integer, got " + v.dump());
    }
  }
};

}  // namespace

TrainConfig TrainConfig::fromFile(const std::string& path) {
  return fromJsonText(readInputFile(path, InputKind::Config, " (training config)"), path);
}

TrainConfig TrainConfig::fromJsonText(const std::string& text, const std::string& file) {
  const json j = parseJsonObject(text, file, "training config");
  for (auto it = j.begin(); it != j.end(); ++it)
    if (it.key() != "model" && it.key() != "train")
      throw InputError(file, "unknown section '" + it.key() + "' (expected \"model\" and \"train\")");
  TrainConfig c;
  bool positionsGiven = false;
  if (j.contains("model")) {
    if (!j["model"].is_object()) throw InputError(file, "'model' must be an object");
    Reader r{j["model"], file, "model"};
    r.checkKeys(kModelKeys);
    r.integer("n_layer", c.model.n_layer);
    r.integer("n_head", c.model.n_head);
    r.integer("n_embd", c.model.n_embd);
    positionsGiven = j["model"].contains("n_positions");
    r.integer("n_positions", c.model.n_positions);
    r.integer("n_inner", c.model.n_inner);
    r.num("layer_norm_epsilon", c.model.layer_norm_epsilon);
    if (j["model"].contains("activation_function")) {
      if (!j["model"]["activation_function"].is_string())
        throw InputError(file, "field 'model.activation_function' must be a string");
      c.model.activation_function = j["model"]["activation_function"].get<std::string>();
    }
  }
  if (j.contains("train")) {
    if (!j["train"].is_object()) throw InputError(file, "'train' must be an object");
    Reader r{j["train"], file, "train"};
    r.checkKeys(kTrainKeys);
    int64_t seed = static_cast<int64_t>(c.seed);
    r.integer("tokens", c.tokens);
    r.integer("batch", c.batch);
    r.integer("context", c.context);
    r.num("lr", c.lr);
    r.num("min_lr_ratio", c.minLrRatio);
    r.integer("warmup_steps", c.warmupSteps);
    r.num("weight_decay", c.weightDecay);
    r.num("beta1", c.beta1);
    r.num("beta2", c.beta2);
    r.num("grad_clip", c.gradClip);
    r.integer("eval_interval", c.evalInterval);
    r.integer("eval_tokens", c.evalTokens);
    r.integer("checkpoint_interval", c.checkpointInterval);
    r.num("repeat_share", c.repeatShare);
    r.integer("repeat_min_len", c.repeatMinLen);
    r.integer("seed", seed);
    r.integer("stop_at_step", c.stopAtStep);
    if (j["train"].contains("init_from")) {
      if (!j["train"]["init_from"].is_string()) throw InputError(file, "field 'train.init_from' must be a string");
      c.initFrom = j["train"]["init_from"].get<std::string>();
    }
    if (j["train"].contains("schedule_history")) {
      const json& h = j["train"]["schedule_history"];
      const std::string what = "field 'train.schedule_history' must be an array of {\"until_step\": N, \"tokens\": T}";
      if (!h.is_array()) throw InputError(file, what);
      for (const json& e : h) {
        if (!e.is_object()) throw InputError(file, what);
        Reader er{e, file, "train.schedule_history[]"};
        er.checkKeys({"until_step", "tokens"});
        if (!e.contains("until_step") || !e.contains("tokens")) throw InputError(file, what);
        TrainConfig::ScheduleSpan span;
        er.integer("until_step", span.untilStep);
        er.integer("tokens", span.tokens);
        c.scheduleHistory.push_back(span);
      }
    }
    if (seed < 0) throw InputError(file, "field 'train.seed' must be >= 0");
    c.seed = static_cast<uint64_t>(seed);
  }
  if (!positionsGiven) c.model.n_positions = c.context;  // the context trained is the context shipped
  c.validate(file);
  return c;
}

void TrainConfig::validate(const std::string& file) const {
  auto bad = [&](const std::string& what) { throw InputError(file, "invalid training config: " + what); };
  if (tokens < 1) bad("train.tokens must be positive");
  if (batch < 1 || batch > 1 << 16) bad("train.batch must be in 1..65536");
  if (context < 4) bad("train.context must be at least 4");
  if (context > model.n_positions)
    bad("train.context (" + std::to_string(context) + ") exceeds model.n_positions (" +
        std::to_string(model.n_positions) + ")");
  if (!(lr > 0 && lr < 10)) bad("train.lr must be in (0, 10)");
  if (!(minLrRatio >= 0 && minLrRatio <= 1)) bad("train.min_lr_ratio must be in [0, 1]");
  if (warmupSteps < 0) bad("train.warmup_steps must be >= 0");
  if (!(weightDecay >= 0)) bad("train.weight_decay must be >= 0");
  if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1)) bad("train.beta1/beta2 must be in [0, 1)");
  if (evalInterval < 1) bad("train.eval_interval must be positive");
  if (evalTokens < context) bad("train.eval_tokens must be at least one context");
  if (checkpointInterval < 1) bad("train.checkpoint_interval must be positive");
  if (stopAtStep < 0) bad("train.stop_at_step must be >= 0");
  int64_t previousUntil = 0;
  for (const ScheduleSpan& span : scheduleHistory) {
    const std::string at = "train.schedule_history entry until_step " + std::to_string(span.untilStep);
    if (span.untilStep <= previousUntil) bad(at + ": until_step must be positive and ascending");
    if (span.tokens < 1) bad(at + ": tokens must be positive");
    if (span.untilStep > stepsFor(span.tokens))
      bad(at + ": a schedule of " + std::to_string(stepsFor(span.tokens)) + " steps cannot have run to that step");
    previousUntil = span.untilStep;
  }
  if (previousUntil > steps())
    bad("train.tokens (" + std::to_string(steps()) + " steps) ends before the last schedule_history entry (step " +
        std::to_string(previousUntil) + ")");
  if (!(repeatShare >= 0 && repeatShare <= 1)) bad("train.repeat_share must be in [0, 1]");
  if (repeatMinLen < 1 || 2 * repeatMinLen + 1 > context)
    bad("train.repeat_min_len must be in 1..(context-1)/2");
  Gpt2Config m = model;
  if (m.vocab_size < 1) m.vocab_size = 1;
  m.bos_token_id = m.eos_token_id = -1;
  m.validate(file);
  // Memory the run needs, refused before anything is allocated (issue 19:
  // oversized configs allocated until killed). Parameters x 4 (weights,
  // gradients, two Adam moments) plus activations kept for the backward pass.
  const double d = static_cast<double>(model.n_embd), L = static_cast<double>(model.n_layer);
  const double inner = model.n_inner > 0 ? static_cast<double>(model.n_inner) : 4 * d;
  const double vocab = std::max<double>(static_cast<double>(model.vocab_size), 1);
  const double params = L * (4 * d * d + 2 * d * inner + 10 * d) + (vocab + static_cast<double>(model.n_positions)) * d;
  const double acts = static_cast<double>(batch) * static_cast<double>(context) *
                      (L * (16 * d + 2 * inner + 2 * static_cast<double>(model.n_head) * static_cast<double>(context)) + 2 * vocab);
  const double bytes = 4 * (4 * params + acts);
  const double avail = static_cast<double>(::sysconf(_SC_PHYS_PAGES)) * static_cast<double>(::sysconf(_SC_PAGESIZE));
  if (avail > 0 && bytes > 0.8 * avail)
    bad("this model and batch need about " + std::to_string(static_cast<int64_t>(std::min(bytes, 1e18) / (1 << 20))) +
        " MiB to train, more than this machine's " + std::to_string(static_cast<int64_t>(avail / (1 << 20))) +
        " MiB of memory; make the model, train.batch or train.context smaller");
}

json TrainConfig::toJson() const {
  json m = {{"n_layer", model.n_layer}, {"n_head", model.n_head}, {"n_embd", model.n_embd},
            {"n_positions", model.n_positions}, {"n_inner", model.n_inner},
            {"activation_function", model.activation_function}, {"layer_norm_epsilon", model.layer_norm_epsilon}};
  json t = {{"tokens", tokens}, {"batch", batch}, {"context", context}, {"lr", lr},
            {"min_lr_ratio", minLrRatio}, {"warmup_steps", warmupSteps}, {"weight_decay", weightDecay},
            {"beta1", beta1}, {"beta2", beta2}, {"grad_clip", gradClip}, {"eval_interval", evalInterval},
            {"eval_tokens", evalTokens}, {"checkpoint_interval", checkpointInterval},
            {"repeat_share", repeatShare}, {"repeat_min_len", repeatMinLen}, {"seed", seed}};
  if (!initFrom.empty()) t["init_from"] = initFrom;
  if (stopAtStep > 0) t["stop_at_step"] = stopAtStep;
  if (!scheduleHistory.empty()) {
    json h = json::array();
    for (const ScheduleSpan& span : scheduleHistory)
      h.push_back({{"until_step", span.untilStep}, {"tokens", span.tokens}});
    t["schedule_history"] = h;
  }
  return {{"model", m}, {"train", t}};
}

int64_t TrainConfig::scheduleStepsAt(int64_t step) const {
  for (const ScheduleSpan& span : scheduleHistory)
    if (step < span.untilStep) return stepsFor(span.tokens);
  return steps();
}

double TrainConfig::lrAt(int64_t step) const {
  if (step < warmupSteps) return lr * static_cast<double>(step + 1) / static_cast<double>(warmupSteps);
  const double span = static_cast<double>(std::max<int64_t>(1, scheduleStepsAt(step) - warmupSteps));
  const double progress = std::min(1.0, static_cast<double>(step - warmupSteps) / span);
  const double minLr = lr * minLrRatio;
  return minLr + 0.5 * (lr - minLr) * (1.0 + std::cos(M_PI * progress));
}

TrainConfig TrainConfig::resumedFrom(const TrainConfig& before, int64_t atStep) const {
  std::vector<ScheduleSpan> spans;
  auto push = [&](int64_t until, int64_t spanTokens) {
    const int64_t last = spans.empty() ? 0 : spans.back().untilStep;
    if (until <= last) return;
    if (!spans.empty() && spans.back().tokens == spanTokens)
      spans.back().untilStep = until;
    else
      spans.push_back({until, spanTokens});
  };
  // Steps before atStep ran under `before`'s schedule ...
  for (const ScheduleSpan& span : before.scheduleHistory) push(std::min(span.untilStep, atStep), span.tokens);
  push(atStep, before.tokens);
  // ... the rest follows this config's.
  for (const ScheduleSpan& span : scheduleHistory) push(span.untilStep, span.tokens);
  while (!spans.empty() && spans.back().tokens == tokens) spans.pop_back();
  TrainConfig r = *this;
  r.scheduleHistory = spans;
  return r;
}

}  // namespace zs
