// Labeling sessions: deterministic seeded sampling of live features, progress
// that survives reopening the database, undo making an item pending again, and
// the Wilson score interval on known values.
#include <cstdio>
#include <set>

#include "core/db/db.h"
#include "core/db/features.h"
#include "core/db/sessions.h"
#include "core/base/error.h"
#include "tests/support/check.h"

using namespace zs::db;

namespace {
std::string freshPath(const std::string& name) {
  std::string p = zs::test::tempDir() + "/" + name;
  for (const char* suf : {"", "-wal", "-shm"}) std::remove((p + suf).c_str());
  return p;
}
// A database with built stats for layer 1: 100 features, every 4th dead.
std::unique_ptr<Db> builtDb(const std::string& name) {
  auto db = Db::open(freshPath(name));
  db->transaction([&] {
    for (int f = 0; f < 100; ++f) {
      FeatureStats s;
      s.layer = 1;
      s.feature = f;
      s.tokens = 1000;
      s.dead = f % 4 == 0;
      s.fireCount = s.dead ? 0 : 10;
      s.density = s.fireCount / 1000.0;
      s.headAttribution = {0.5f, 0.5f};
      // builder-style suggestions, a few features without one
      const char* sug[] = {"induction", "local context", "unclear", "high-level context", "positional"};
      if (f % 7 != 3) s.family = sug[f % 5];
      writeStats(*db, s);
    }
  });
  return db;
}
Label mk(int64_t f, const std::string& family) {
  Label l;
  l.layer = 1;
  l.feature = f;
  l.text = "feature " + std::to_string(f);
  l.family = family;
  return l;
}
}  // namespace

ZS_TEST(wilsonKnownValues) {
  // Reference values (Wilson 1927; e.g. Newcombe 1998, Table I; R's prop.test without correction).
  auto p = wilson(8, 10);
  ZS_CHECK(std::abs(p.lo - 0.4902) < 1e-4 && std::abs(p.hi - 0.9433) < 1e-4);
  p = wilson(0, 10);
  ZS_CHECK(std::abs(p.lo - 0.0) < 1e-12 && std::abs(p.hi - 0.2775) < 1e-4);
  p = wilson(10, 10);
  ZS_CHECK(std::abs(p.lo - 0.7225) < 1e-4 && std::abs(p.hi - 1.0) < 1e-12);
  p = wilson(81, 263);  // Newcombe 1998: 0.2553 - 0.3662
  ZS_CHECK(std::abs(p.lo - 0.2553) < 1e-4 && std::abs(p.hi - 0.3662) < 1e-4);
  p = wilson(0, 0);
  ZS_CHECK_FUZZY(p.lo, 0.0);
  ZS_CHECK_FUZZY(p.hi, 1.0);
}

ZS_TEST(samplingIsDeterministicAndLiveOnly) {
  std::vector<int64_t> pool(50);
  for (int i = 0; i < 50; ++i) pool[i] = 49 - i;  // order of the pool must not matter
  auto a = sampleFeatures(pool, 10, 7);
  std::reverse(pool.begin(), pool.end());
  ZS_CHECK_EQ(sampleFeatures(pool, 10, 7), a);
  ZS_CHECK(sampleFeatures(pool, 10, 8) != a);
  ZS_CHECK_EQ(sampleFeatures(pool, 100, 1).size(), size_t(50));
  // Pinned (computed independently in Python with the same SplitMix64 +
  // partial Fisher-Yates): the sample is the same on every platform.
  ZS_CHECK_EQ(a, (std::vector<int64_t>{37, 32, 20, 7, 34, 35, 40, 41, 49, 13}));
  std::set<int64_t> uniq(a.begin(), a.end());
  ZS_CHECK_EQ(uniq.size(), size_t(10));

  auto db = builtDb("sample.db");
  auto s1 = startSession(*db, 1, 20, 42, "ann");
  auto s2 = startSession(*db, 1, 20, 42, "bob");
  auto i1 = sessionItems(*db, s1.id), i2 = sessionItems(*db, s2.id);
  ZS_CHECK_EQ(i1.size(), size_t(20));
  for (size_t i = 0; i < i1.size(); ++i) {
    ZS_CHECK_EQ(i1[i].feature, i2[i].feature);
    ZS_CHECK(i1[i].feature % 4 != 0);  // live features only
  }
  ZS_CHECK_THROWS(startSession(*db, 5, 3, 1), zs::InputError);  // layer not built
}

ZS_TEST(progressPersistsAcrossReopen) {
  const std::string path = freshPath("resume.db");
  int64_t sid = 0;
  std::vector<int64_t> order;
  {
    auto db = builtDb("resume.db");
    auto s = startSession(*db, 1, 6, 3, "ann");
    sid = s.id;
    for (const auto& it : sessionItems(*db, sid)) order.push_back(it.feature);
    labelInSession(*db, sid, mk(nextItem(*db, sid)->feature, "induction"));
    labelInSession(*db, sid, mk(nextItem(*db, sid)->feature, "uninterpretable"));
    deferItem(*db, sid, 1, nextItem(*db, sid)->feature);  // order[2] goes to the end
    skipItem(*db, sid, 1, nextItem(*db, sid)->feature);   // order[3] skipped
  }  // "app closed"
  auto db = Db::open(path);
  auto s = getSession(*db, sid);
  ZS_CHECK_EQ(s.total, int64_t(6));
  ZS_CHECK_EQ(s.done, int64_t(3));
  ZS_CHECK_EQ(activeSession(*db)->id, sid);
  ZS_CHECK_EQ(nextItem(*db, sid)->feature, order[4]);
  labelInSession(*db, sid, mk(order[4], "local context"));
  labelInSession(*db, sid, mk(order[5], "other"));
  ZS_CHECK_EQ(nextItem(*db, sid)->feature, order[2]);  // the deferred one comes back last
  // Undo makes the item pending again.
  labelInSession(*db, sid, mk(order[2], "induction"));
  ZS_CHECK(!nextItem(*db, sid).has_value());
  undoLabel(*db, 1, order[2]);
  ZS_CHECK_EQ(nextItem(*db, sid)->feature, order[2]);
  labelInSession(*db, sid, mk(order[2], "induction"));
  ZS_CHECK_THROWS(labelInSession(*db, sid, mk(0, "other")), zs::UsageError);  // not queued

  auto r = sessionReport(*db, sid);
  ZS_CHECK_EQ(r.total, int64_t(6));
  ZS_CHECK_EQ(r.labeled, int64_t(5));
  ZS_CHECK_EQ(r.skipped, int64_t(1));
  ZS_CHECK_EQ(r.interpretable.k, int64_t(4));
  ZS_CHECK_EQ(r.interpretable.n, int64_t(5));
  ZS_CHECK_FUZZY(r.interpretable.lo, wilson(4, 5).lo);
  ZS_CHECK_EQ(r.families[0].first, std::string("induction"));
  ZS_CHECK_EQ(r.families[0].second.k, int64_t(2));
  // The suggestions against the labels, counted from each feature's stored suggestion.
  int64_t agree = 0, agreeN = 0, junk = 0, junkN = 0, cells = 0;
  for (const auto& it : sessionItems(*db, sid)) {
    if (it.state != "labeled") continue;
    const std::string lab = getLabel(*db, 1, it.feature)->family, sug = readStats(*db, 1, it.feature)->family;
    if (sug.empty()) continue;
    ++cells;
    if (lab == "uninterpretable") {
      ++junkN;
      junk += sug != "unclear";
    } else {
      ++agreeN;
      agree += sug == lab || (lab == "other" && sug == "unclear");
    }
  }
  ZS_CHECK(cells > 0);
  ZS_CHECK_EQ(r.agreement.k, agree);
  ZS_CHECK_EQ(r.agreement.n, agreeN);
  ZS_CHECK_EQ(r.junkGivenFamily.k, junk);
  ZS_CHECK_EQ(r.junkGivenFamily.n, junkN);
  int64_t total = 0;
  for (const auto& [key, n] : r.confusion) total += n;
  ZS_CHECK_EQ(total, cells);
  finishSession(*db, sid);
  ZS_CHECK(!activeSession(*db).has_value());
}
