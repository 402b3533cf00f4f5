// zscope-cli top-features: the SAE features active at each position (or one)
// across the loaded layers, with activation and head attribution.
#include <cstdio>

#include "core/attribution/attribution.h"
#include "core/session/session.h"
#include "app/cli/command.h"
#include "app/cli/common.h"
#include "core/base/error.h"

namespace zs::cli {

int resolvePos(int64_t pos, int n);                   // cmd_attribute.cpp
std::string padRight(const std::string& s, size_t width);  // cmd_attribute.cpp

namespace {

int runTopFeatures(const Args& a) {
  auto session = Session::open(a.require("model"), sessionOptions(a));
  const Session& s = *session;
  session->loadSaes(a.getAll("sae"));
  if (s.saes().empty()) throw UsageError("give at least one --sae DIR");
  const std::vector<int64_t> ids = promptIds(a, s);
  const int top = static_cast<int>(a.getInt("top", 10));
  if (top < 0) throw UsageError("--top must be >= 0 (0: every active feature)");
  Attribution attr(s.model(), s.saePtrs(), ids);
  const auto labels = s.tokenLabels(ids);
  int from = 0, to = attr.numTokens() - 1;
  if (a.has("pos")) from = to = resolvePos(a.getInt("pos", 0), attr.numTokens());
  nlohmann::json positions = nlohmann::json::array();
  for (int p = from; p <= to; ++p) {
    nlohmann::json feats = nlohmann::json::array();
    for (const ActiveFeature& f : attr.activeFeatures(p, top))
      feats.push_back({{"layer", f.layer},
                       {"feature", f.feature},
                       {"activation", f.activation},
                       {"head_attribution", attr.headAttribution(f.layer, f.feature)}});
    positions.push_back({{"pos", p}, {"token", ids[p]}, {"text", labels[p]}, {"features", feats}});
  }
  if (a.has("json")) {
    printJson({{"layers", attr.saeLayers()}, {"positions", positions}});
    return 0;
  }
  for (const auto& pj : positions) {
    std::printf("%3d %s", pj["pos"].get<int>(), padRight("'" + pj["text"].get<std::string>() + "'", 16).c_str());
    if (pj["features"].empty()) std::printf(" (none active)");
    for (const auto& f : pj["features"])
      std::printf("  L%d F%d %.3f", f["layer"].get<int>(), f["feature"].get<int>(), f["activation"].get<double>());
    std::printf("\n");
  }
  return 0;
}

Registrar reg({"top-features",
               "--model DIR --sae DIR [--sae DIR ...] (--prompt TEXT | --prompt-file F | --tokens IDS) [--pos P] "
               "[--top K (10)] [--no-bos] [--truncate] [--json]",
               "Active SAE features per position across the loaded layers, with head attribution",
               {"json", "no-bos", "truncate"}, &runTopFeatures});

}  // namespace
}  // namespace zs::cli
