// Recomputing a database's family suggestions from what it stores (the DFA shares in family_numbers and the
// top examples' tokens and DFA sources), so that a changed rule reaches a database without rebuilding it
// (and without touching its labels). See features.h.
#include <nlohmann/json.hpp>

#include "core/attribution/attribution.h"
#include "core/db/db.h"
#include "core/db/features.h"

namespace zs::db {

int64_t updateFamilySuggestions(Db& db) {
  int64_t changed = 0;
  db.transaction([&] {
    Stmt feats(db, "SELECT layer, feature, family, family_numbers FROM features "
                   "WHERE family_numbers IS NOT NULL AND family_numbers != ''");
    Stmt tops(db, "SELECT tokens, max_pos, dfa_source FROM examples "
                  "WHERE layer = ? AND feature = ? AND kind = 'top' ORDER BY rank");
    Stmt write(db, "UPDATE features SET family = ?, family_numbers = ? WHERE layer = ? AND feature = ?");
    struct Row {
      int64_t layer, feature;
      std::string family, numbers;
    };
    std::vector<Row> rows;
    while (feats.step()) rows.push_back({feats.i64(0), feats.i64(1), feats.text(2), feats.text(3)});
    for (const Row& r : rows) {
      nlohmann::json n = nlohmann::json::parse(r.numbers, nullptr, false);
      if (!n.is_object() || !n.contains("induction_share")) continue;
      FamilySuggestion f;
      f.inductionShare = n.value("induction_share", 0.0);
      f.localShare = n.value("local_share", 0.0);
      f.meanDistance = n.value("mean_distance", 0.0);
      f.spread = n.value("spread", 0.0);
      f.totalMass = n.value("mean_mass", 0.0);
      f.positions = n.value("examples", 0);
      f.medianPosition = n.value("median_position", 0.0);
      f.positionIqr = n.value("position_iqr", 0.0);
      f.positionExamples = n.contains("position_iqr") ? f.positions : 0;
      std::vector<int64_t> maxT, srcT;
      tops.reset();
      tops.bind(1, r.layer).bind(2, r.feature);
      while (tops.step()) {
        const std::vector<int32_t> toks = tops.blobAs<int32_t>(0);
        const int64_t d = tops.i64(1), s = tops.isNull(2) ? -1 : tops.i64(2);
        if (d < 0 || d >= static_cast<int64_t>(toks.size())) continue;
        maxT.push_back(toks[static_cast<size_t>(d)]);
        srcT.push_back(s >= 0 && s < static_cast<int64_t>(toks.size()) ? toks[static_cast<size_t>(s)] : -1);
      }
      if (maxT.size() >= 8) f.consistency = std::max(modalShare(maxT), modalShare(srcT));
      classifyFamily(f);
      n["consistency"] = f.consistency;
      n["rule"] = kFamilyRule;
      if (f.family != r.family) ++changed;
      write.reset();
      write.bind(1, f.family).bind(2, n.dump()).bind(3, r.layer).bind(4, r.feature);
      write.run();
    }
  });
  return changed;
}

}  // namespace zs::db
