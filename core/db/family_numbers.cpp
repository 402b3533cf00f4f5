// The stored form of family suggestions (family_numbers.h), and recomputing a database's suggestions from
// what it stores (the DFA shares in family_numbers and the top examples' tokens and DFA sources), so that a
// changed rule reaches a database without rebuilding it (and without touching its labels; features.h).
#include "core/db/family_numbers.h"

#include "core/db/db.h"
#include "core/db/features.h"

namespace zs::db {

nlohmann::json familyNumbersJson(const FamilySuggestion& f, int examples) {
  nlohmann::json j = {{"induction_share", f.inductionShare}, {"local_share", f.localShare},
                      {"mean_distance", f.meanDistance},      {"spread", f.spread},
                      {"mean_mass", f.totalMass},             {"examples", examples},
                      {"consistency", f.consistency},         {"rule", kFamilyRule}};
  // Positions only when known: their presence is what tells a reader that positionExamples = examples.
  if (f.positionExamples > 0) {
    j["median_position"] = f.medianPosition;
    j["position_iqr"] = f.positionIqr;
  }
  return j;
}

std::optional<FamilySuggestion> familyFromNumbers(const nlohmann::json& n) {
  if (!n.is_object() || !n.contains("induction_share")) return std::nullopt;
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
  f.consistency = n.value("consistency", -1.0);
  return f;
}

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
      std::optional<FamilySuggestion> stored = familyFromNumbers(nlohmann::json::parse(r.numbers, nullptr, false));
      if (!stored) continue;
      FamilySuggestion f = *stored;
      std::vector<std::pair<int64_t, int64_t>> maxAndSource;
      tops.reset();
      tops.bind(1, r.layer).bind(2, r.feature);
      while (tops.step()) {
        const std::vector<int32_t> toks = tops.blobAs<int32_t>(0);
        const int64_t d = tops.i64(1), s = tops.isNull(2) ? -1 : tops.i64(2);
        if (d < 0 || d >= static_cast<int64_t>(toks.size())) continue;
        maxAndSource.emplace_back(toks[static_cast<size_t>(d)],
                                  s >= 0 && s < static_cast<int64_t>(toks.size()) ? toks[static_cast<size_t>(s)] : -1);
      }
      f.consistency = exampleConsistency(maxAndSource);
      classifyFamily(f);
      if (f.family != r.family) ++changed;
      write.reset();
      write.bind(1, f.family).bind(2, familyNumbersJson(f, f.positions).dump()).bind(3, r.layer).bind(4, r.feature);
      write.run();
    }
  });
  return changed;
}

}  // namespace zs::db
