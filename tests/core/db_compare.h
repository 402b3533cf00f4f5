#pragma once
// Two feature databases hold the same dashboards: the features, histograms and
// examples tables equal row for row and byte for byte (first 13 columns).
#include <string>

#include "core/db/db.h"

namespace zs::test {

// Empty when equal; otherwise the first query whose rows differ (or that has no rows).
inline std::string differingDbTable(const std::string& fileA, const std::string& fileB) {
  auto a = db::Db::open(fileA), b = db::Db::open(fileB);
  for (const char* q : {"SELECT * FROM features ORDER BY layer, feature", "SELECT * FROM histograms ORDER BY layer, feature",
                        "SELECT * FROM examples ORDER BY layer, feature, kind, bucket, rank"}) {
    db::Stmt sa(*a, q), sb(*b, q);
    int rows = 0;
    bool same = true;
    for (;;) {
      const bool ha = sa.step(), hb = sb.step();
      same = same && ha == hb;
      if (!ha || !hb) break;
      ++rows;
      for (int c = 0; c < 13; ++c) same = same && (sa.isNull(c) == sb.isNull(c)) && sa.blob(c) == sb.blob(c);
    }
    if (!same || rows == 0) return q;
  }
  return {};
}

}  // namespace zs::test
