// zscope-cli feature: one feature's dashboard from a feature database.
#include <cstdio>
#include <iostream>

#include "app/cli/command.h"
#include "app/cli/common.h"
#include "core/db/db.h"
#include "core/db/features.h"
#include "core/base/error.h"

namespace zs::cli {
namespace {

std::string exampleLine(const db::FeatureExample& e) {
  std::string s;
  for (size_t i = 1; i < e.tokens.size(); ++i)
    s += static_cast<int>(i) == e.maxPos ? "[[" + e.tokens[i] + "]]" : e.tokens[i];
  if (s.size() > 160) s = "…" + s.substr(s.size() - 160);
  return s;
}

int runFeature(const Args& a) {
  if (!a.positional().empty()) throw UsageError("unexpected argument '" + a.positional()[0] + "'");
  const auto [layer, feature] = requireLayerFeature(a);
  auto d = openExistingDb(a);
  auto dash = db::readDashboard(*d, layer, feature);
  const bool blind = a.has("blind");
  if (blind) db::hideSuggestion(dash);
  if (a.has("json")) {
    printJson(db::dashboardJson(dash));
    return 0;
  }
  const auto& s = dash.stats;
  std::printf("layer %d feature %lld%s\n", layer, static_cast<long long>(feature), s.dead ? "  (dead)" : "");
  std::printf("density %.3g%% (%lld of %lld tokens), mean %.4g, max %.4g\n", 100 * s.density,
              static_cast<long long>(s.fireCount), static_cast<long long>(s.tokens), s.meanActivation,
              s.maxActivation);
  std::printf("head attribution:");
  for (size_t h = 0; h < s.headAttribution.size(); ++h) std::printf(" h%zu %.2f", h, s.headAttribution[h]);
  std::printf("\n");
  if (!blind) std::printf("family suggestion: %s\n", s.family.empty() ? "-" : s.family.c_str());
  if (dash.label)
    std::printf("label: \"%s\" [%s] by %s\n", dash.label->text.c_str(), dash.label->family.c_str(),
                dash.label->author.c_str());
  std::printf("top logits:");
  for (const auto& e : s.logitsTop) std::printf(" %s %+.2f", e.token.c_str(), e.value);
  std::printf("\nbottom logits:");
  for (const auto& e : s.logitsBottom) std::printf(" %s %+.2f", e.token.c_str(), e.value);
  std::printf("\ntop examples:\n");
  for (const auto& e : dash.top) {
    std::printf("  %8.4f  %s", e.activation, exampleLine(e).c_str());
    // dfa_source comes from the file: print it only when it names a token of the example.
    if (e.dfaSource >= 0 && static_cast<size_t>(e.dfaSource) < e.tokens.size())
      std::printf("   (DFA: src %d '%s' head %d)", e.dfaSource, e.tokens[static_cast<size_t>(e.dfaSource)].c_str(),
                  e.dfaHead);
    std::printf("\n");
  }
  return 0;
}

Registrar reg({"feature", "--db FILE --layer L --feature F [--blind] [--json]",
               "Show a feature's dashboard (examples, density, histogram, logits, heads, label); --blind leaves "
               "out the family suggestion, for labeling blind to it",
               {"json", "blind"},
               &runFeature});

}  // namespace
}  // namespace zs::cli
