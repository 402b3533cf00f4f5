// zscope-cli head-features: a head's features (the paper's polysemanticity
// view) from a feature database: the features whose head attribution gives the
// head the largest share, with their labels and families.
#include <cstdio>

#include "app/cli/command.h"
#include "app/cli/common.h"
#include "core/base/error.h"
#include "core/db/db.h"
#include "core/db/features.h"

namespace zs::cli {
namespace {

int runHeadFeatures(const Args& a) {
  if (!a.positional().empty()) throw UsageError("unexpected argument '" + a.positional()[0] + "'");
  const int layer = static_cast<int>(a.getIntIn("layer", -1, 0, 1 << 20));
  if (!a.has("layer")) throw UsageError("--layer is required");
  const int head = static_cast<int>(a.getIntIn("head", -1, 0, 1 << 20));
  if (!a.has("head")) throw UsageError("--head is required");
  const int top = static_cast<int>(a.getIntIn("top", 10, 0, 1 << 30));
  const double minShare = a.getFiniteIn("min-share", 0.0, 0.0, 1.0);
  auto d = openExistingDb(a);
  const auto feats = db::headFeatures(*d, layer, head, top, minShare, a.has("include-dead"));
  if (a.has("json")) {
    nlohmann::json j = {{"layer", layer}, {"head", head}, {"top", top}, {"min_share", minShare},
                        {"features", nlohmann::json::array()}};
    for (const auto& f : feats) j["features"].push_back(db::headFeatureJson(f));
    printJson(j);
    return 0;
  }
  std::printf("layer %d head %d: %zu feature%s with share >= %.3g%s\n", layer, head, feats.size(),
              feats.size() == 1 ? "" : "s", minShare, top > 0 ? (" (top " + std::to_string(top) + ")").c_str() : "");
  if (!feats.empty()) std::printf("%8s  %6s  %9s  %8s  %-20s  %s\n", "feature", "share", "density", "max", "family", "label");
  for (const auto& f : feats) {
    const std::string fam = f.family.empty() ? "-" : f.family + (f.familySuggested ? "?" : "");
    std::printf("%8lld  %5.1f%%  %8.3g%%  %8.4g  %-20s  %s%s\n", static_cast<long long>(f.feature), 100.0 * f.share,
                100.0 * f.density, f.maxActivation, fam.c_str(), f.label.empty() ? "-" : f.label.c_str(),
                f.dead ? "  (dead)" : "");
  }
  return 0;
}

Registrar reg({"head-features", "--db FILE --layer L --head H [--top K] [--min-share S] [--include-dead] [--json]",
               "A head's features: those its head attribution gives the largest share (labels, families)",
               {"json", "include-dead"}, &runHeadFeatures});

}  // namespace
}  // namespace zs::cli
