// zscope-cli suggest-families: recompute a feature database's family suggestions with the current rule
// (core/db/features.h, updateFamilySuggestions), e.g. after the rule changed; labels are untouched.
#include <cstdio>

#include "app/cli/command.h"
#include "app/cli/common.h"
#include "core/db/db.h"
#include "core/db/features.h"

namespace zs::cli {
namespace {

int runSuggestFamilies(const Args& a) {
  auto d = openExistingDb(a, /*write=*/true);
  const int64_t changed = db::updateFamilySuggestions(*d);
  if (a.has("json")) {
    printJson({{"db", a.get("db")}, {"changed", changed}});
    return 0;
  }
  std::printf("%s: %lld family suggestions changed\n", a.get("db").c_str(), static_cast<long long>(changed));
  return 0;
}

Registrar reg({"suggest-families", "--db FILE [--json]",
               "Recompute a feature database's family suggestions with the current rule (labels untouched)",
               {"json"}, &runSuggestFamilies});

}  // namespace
}  // namespace zs::cli
