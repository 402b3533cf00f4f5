#pragma once
// A feature's family suggestion as the database stores it (the features table's family_numbers): the
// numbers behind the suggestion and the rule that made it. One place for the keys, written by the builder
// and read back by updateFamilySuggestions (features.h).
#include <optional>

#include <nlohmann/json.hpp>

#include "core/attribution/attribution.h"

namespace zs::db {

// The stored form of f; examples = the number of top examples the shares were averaged over (median_position
// and position_iqr only when f.positionExamples > 0).
nlohmann::json familyNumbersJson(const FamilySuggestion& f, int examples);
// The numbers of a stored form, ready for classifyFamily (family and reason not set; consistency as
// stored, -1 when absent). A JSON that is not such an object gives std::nullopt.
std::optional<FamilySuggestion> familyFromNumbers(const nlohmann::json& n);

}  // namespace zs::db
