// zscope-cli intervene: zero-ablate, scale or clamp one SAE feature on hook_z
// (with the SAE's error term kept, so that a no-op reproduces the clean run)
// and show how the next-token predictions and the per-token loss change
// (core/intervention/intervention.h).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "app/cli/command.h"
#include "app/cli/common.h"
#include "core/base/error.h"
#include "core/intervention/intervention.h"
#include "core/session/session.h"

namespace zs::cli {

std::string padRight(const std::string& s, size_t width);  // cmd_attribute.cpp

namespace {

// "L:F" -> (L, F); InputError otherwise.
std::pair<int, int64_t> parseFeature(const std::string& spec) {
  const auto colon = spec.find(':');
  auto digits = [](const std::string& s) {
    return !s.empty() && s.size() <= 12 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (colon == std::string::npos || !digits(spec.substr(0, colon)) || !digits(spec.substr(colon + 1)) ||
      spec.substr(0, colon).size() > 6)
    throw InputError("--feature must be LAYER:FEATURE (e.g. 1:63), got '" + oneLine(spec) + "'");
  return {std::stoi(spec.substr(0, colon)), std::stoll(spec.substr(colon + 1))};
}

nlohmann::json nanToNull(const std::vector<float>& v) {
  nlohmann::json j = nlohmann::json::array();
  for (float x : v) j.push_back(std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr));
  return j;
}

int runIntervene(const Args& a) {
  const std::string modeName = a.require("mode");
  Intervention iv;
  iv.mode = parseInterventionMode(modeName);
  std::tie(iv.layer, iv.feature) = parseFeature(a.require("feature"));
  if (iv.mode != InterventionMode::Zero) {
    if (!a.has("value")) throw InputError("--mode " + modeName + " needs --value V (" +
                                          (iv.mode == InterventionMode::Scale ? "the factor" : "the activation") + ")");
    iv.value = a.getFiniteIn("value", 1, -1e6, 1e6);
  } else if (a.has("value")) {
    throw InputError("--mode zero takes no --value");
  }
  const int top = static_cast<int>(a.getIntIn("top", 10, 1, 1000));

  auto session = Session::open(a.require("model"), sessionOptions(a));
  const Session& s = *session;
  session->loadSaes(a.getAll("sae"));
  if (s.saes().empty()) throw UsageError("give at least one --sae DIR");
  const std::vector<int64_t> ids = promptIds(a, s);
  const int T = static_cast<int>(ids.size());
  const std::string posArg = a.get("pos", "all");
  if (posArg != "all") {
    int64_t p = 0;
    try {
      size_t used = 0;
      p = std::stoll(posArg, &used);
      if (used != posArg.size()) throw std::invalid_argument(posArg);
    } catch (const std::exception&) {
      throw InputError("--pos must be a position or 'all', got '" + oneLine(posArg) + "'");
    }
    const int64_t q = p < 0 ? T + p : p;
    if (q < 0 || q >= T)
      throw InputError("--pos " + posArg + " is outside the prompt's " + std::to_string(T) + " tokens");
    iv.position = static_cast<int>(q);
  }
  const InterventionResult r = runIntervention(s, ids, iv, -1, top);

  std::vector<PredictionChange> clean, inter;
  for (const auto& p : r.predictions) {
    if (p.cleanRank >= 0) clean.push_back(p);
    if (p.intervenedRank >= 0) inter.push_back(p);
  }
  std::sort(clean.begin(), clean.end(), [](const auto& x, const auto& y) { return x.cleanRank < y.cleanRank; });
  std::sort(inter.begin(), inter.end(), [](const auto& x, const auto& y) { return x.intervenedRank < y.intervenedRank; });
  if (a.has("json")) {
    auto list = [](const std::vector<PredictionChange>& v, bool intervened) {
      nlohmann::json j = nlohmann::json::array();
      for (const auto& p : v)
        j.push_back({{"id", p.id}, {"token", p.display}, {"prob", intervened ? p.intervened : p.clean}});
      return j;
    };
    nlohmann::json changes = nlohmann::json::array();
    for (const auto& p : r.predictions)
      changes.push_back({{"id", p.id}, {"token", p.display}, {"clean", p.clean}, {"intervened", p.intervened}});
    auto effects = [](const std::vector<LogitEffectToken>& v) {
      nlohmann::json j = nlohmann::json::array();
      for (const auto& e : v) j.push_back({{"id", e.id}, {"token", e.display}, {"value", e.value}});
      return j;
    };
    printJson({{"layer", iv.layer},
               {"feature", iv.feature},
               {"mode", interventionModeName(iv.mode)},
               {"value", iv.mode == InterventionMode::Zero ? nlohmann::json(nullptr) : nlohmann::json(iv.value)},
               {"position", iv.position < 0 ? nlohmann::json("all") : nlohmann::json(iv.position)},
               {"predict_position", r.predictPosition},
               {"tokens", r.tokens},
               {"predictions", {{"clean", list(clean, false)}, {"intervened", list(inter, true)}, {"changes", changes}}},
               {"loss", {{"clean", nanToNull(r.lossClean)}, {"intervened", nanToNull(r.lossIntervened)},
                         {"diff", nanToNull(r.lossDiff)}}},
               {"activations", {{"before", r.actsBefore}, {"after", r.actsAfter}}},
               {"max_logit_change", r.maxLogitChange},
               {"direct_logit_effect", {{"position", r.predictPosition}, {"activation", r.actAtPredict},
                                        {"per_unit", {{"top", effects(r.directTop)}, {"bottom", effects(r.directBottom)}}}}}});
    return 0;
  }
  std::printf("L%d F%lld, %s%s at %s; predictions after position %d '%s'\n", iv.layer,
              static_cast<long long>(iv.feature), interventionModeName(iv.mode).c_str(),
              iv.mode == InterventionMode::Zero ? "" : (" " + std::to_string(iv.value)).c_str(),
              iv.position < 0 ? "every position" : ("position " + std::to_string(iv.position)).c_str(),
              r.predictPosition, r.tokens[r.predictPosition].c_str());
  std::printf("  %-18s %9s %11s\n", "token", "clean", "intervened");
  for (const auto& p : r.predictions)
    std::printf("  %s %8.2f%% %10.2f%%\n", padRight("'" + p.display + "'", 18).c_str(), 100.0 * p.clean,
                100.0 * p.intervened);
  std::printf("per-token loss (nats): pos token clean intervened diff | activation before -> after\n");
  for (int t = 0; t < static_cast<int>(r.tokens.size()); ++t)
    std::printf("  %3d %s %8.4f %8.4f %+9.4f | %8.4f -> %8.4f\n", t, padRight("'" + r.tokens[t] + "'", 16).c_str(),
                r.lossClean[t], r.lossIntervened[t], r.lossDiff[t], r.actsBefore[t], r.actsAfter[t]);
  std::printf("direct logit effect at %d per unit activation (activation there %.4f):\n  up:  ", r.predictPosition,
              r.actAtPredict);
  for (const auto& e : r.directTop) std::printf(" '%s' %+.3f", e.display.c_str(), e.value);
  std::printf("\n  down:");
  for (const auto& e : r.directBottom) std::printf(" '%s' %+.3f", e.display.c_str(), e.value);
  std::printf("\n");
  return 0;
}

Registrar reg({"intervene",
               "--model DIR --sae DIR [--sae DIR ...] (--prompt TEXT | --prompt-file F | --tokens IDS) --feature L:F "
               "--mode zero|scale|clamp [--value V] [--pos N|all (all)] [--top K (10)] [--no-bos] [--truncate] "
               "[--device D] [--dtype T] [--json]",
               "Zero-ablate, scale or clamp a feature (SAE error term kept) and show the changed predictions and loss",
               {"json", "no-bos", "truncate"}, &runIntervene});

}  // namespace
}  // namespace zs::cli
