#include "core/db/sessions.h"

#include <algorithm>
#include <cmath>

#include "core/db/db.h"
#include "core/db/features.h"
#include "core/base/error.h"

namespace zs::db {
void requireFeatureExists(Db& db, int layer, int64_t feature);  // labels.cpp
namespace {

uint64_t splitmix64(uint64_t& s) {
  uint64_t z = (s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Uniform in [0, n) without modulo bias (rejection), platform independent.
uint64_t below(uint64_t& s, uint64_t n) {
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t r;
  do r = splitmix64(s);
  while (r >= limit);
  return r % n;
}

Session readSession(Db& db, int64_t id) {
  Stmt s(db, "SELECT name, layer, n, seed, author, status, created_at, updated_at FROM sessions WHERE id=?");
  s.bind(1, id);
  if (!s.step()) throw InputError(db.path(), "no labeling session " + std::to_string(id));
  Session r;
  r.id = id;
  r.name = s.text(0);
  r.layer = static_cast<int>(s.i64(1));
  r.n = s.i64(2);
  r.seed = static_cast<uint64_t>(s.i64(3));
  r.author = s.text(4);
  r.status = s.text(5);
  r.createdAt = s.text(6);
  r.updatedAt = s.text(7);
  for (const auto& it : sessionItems(db, id)) {
    ++r.total;
    r.done += it.state != "pending";
  }
  return r;
}

Session create(Db& db, int layer, const std::vector<int64_t>& feats, uint64_t seed, const std::string& author,
               const std::string& name) {
  int64_t id = 0;
  if (layer < 0) throw UsageError("layer must be >= 0");
  for (int64_t f : feats) {
    if (f < 0) throw UsageError("features must be >= 0");
    requireFeatureExists(db, layer, f);
  }
  db.transaction([&] {
    const std::string now = nowIso();
    Stmt s(db,
           "INSERT INTO sessions(name, layer, n, seed, author, status, created_at, updated_at)"
           " VALUES(?,?,?,?,?,'active',?,?)");
    s.bind(1, name.empty() ? "layer " + std::to_string(layer) + " seed " + std::to_string(seed) : name)
        .bind(2, layer)
        .bind(3, static_cast<int64_t>(feats.size()))
        .bind(4, static_cast<int64_t>(seed))
        .bind(5, author)
        .bind(6, now)
        .bind(7, now)
        .run();
    id = db.lastInsertId();
    Stmt it(db, "INSERT INTO session_items(session_id, ord, layer, feature, state) VALUES(?,?,?,?,'pending')");
    for (size_t i = 0; i < feats.size(); ++i) {
      it.reset();
      it.bind(1, id).bind(2, static_cast<int64_t>(i)).bind(3, layer).bind(4, feats[i]).run();
    }
  });
  return readSession(db, id);
}

void touch(Db& db, int64_t id) {
  Stmt s(db, "UPDATE sessions SET updated_at=? WHERE id=?");
  s.bind(1, nowIso()).bind(2, id).run();
}

void requireItem(Db& db, int64_t id, int layer, int64_t feature) {
  Stmt s(db, "SELECT 1 FROM session_items WHERE session_id=? AND layer=? AND feature=?");
  s.bind(1, id).bind(2, layer).bind(3, feature);
  if (!s.step())
    throw UsageError("layer " + std::to_string(layer) + " feature " + std::to_string(feature) +
                     " is not in session " + std::to_string(id));
}

}  // namespace

std::vector<int64_t> sampleFeatures(std::vector<int64_t> pool, int64_t n, uint64_t seed) {
  std::sort(pool.begin(), pool.end());
  pool.erase(std::unique(pool.begin(), pool.end()), pool.end());
  const size_t k = static_cast<size_t>(std::min<int64_t>(std::max<int64_t>(n, 0), pool.size()));
  uint64_t s = seed;
  for (size_t i = 0; i < k; ++i) std::swap(pool[i], pool[i + below(s, pool.size() - i)]);
  pool.resize(k);
  return pool;
}

Session startSession(Db& db, int layer, int64_t n, uint64_t seed, const std::string& author,
                     const std::string& name) {
  if (n < 1) throw UsageError("a session needs at least one feature");
  Stmt s(db, "SELECT feature, dead FROM features WHERE layer=? ORDER BY feature");
  s.bind(1, layer);
  std::vector<int64_t> live;
  bool any = false;
  while (s.step()) {
    any = true;
    if (s.i64(1) == 0) live.push_back(s.i64(0));
  }
  if (!any) throw InputError(db.path(), "no features built for layer " + std::to_string(layer));
  if (live.empty()) throw InputError(db.path(), "every feature of layer " + std::to_string(layer) + " is dead");
  return create(db, layer, sampleFeatures(live, n, seed), seed, author, name);
}

Session startSessionWithList(Db& db, int layer, const std::vector<int64_t>& features, const std::string& author,
                             const std::string& name) {
  if (features.empty()) throw UsageError("a session needs at least one feature");
  std::vector<int64_t> uniq;
  for (int64_t f : features)
    if (std::find(uniq.begin(), uniq.end(), f) == uniq.end()) uniq.push_back(f);
  return create(db, layer, uniq, 0, author, name);
}

Session getSession(Db& db, int64_t id) { return readSession(db, id); }

std::vector<Session> listSessions(Db& db) {
  std::vector<int64_t> ids;
  Stmt s(db, "SELECT id FROM sessions ORDER BY id");
  while (s.step()) ids.push_back(s.i64(0));
  std::vector<Session> out;
  for (int64_t id : ids) out.push_back(readSession(db, id));
  return out;
}

std::optional<Session> activeSession(Db& db) {
  Stmt s(db, "SELECT id FROM sessions WHERE status='active' ORDER BY updated_at DESC, id DESC LIMIT 1");
  if (!s.step()) return std::nullopt;
  return readSession(db, s.i64(0));
}

std::vector<SessionItem> sessionItems(Db& db, int64_t id) {
  // Labeled = the feature's current label was written in this session.
  Stmt s(db,
         "SELECT i.layer, i.feature, i.ord, i.state, l.session_id FROM session_items i"
         " LEFT JOIN labels l ON l.layer=i.layer AND l.feature=i.feature"
         " WHERE i.session_id=? ORDER BY i.ord");
  s.bind(1, id);
  std::vector<SessionItem> out;
  while (s.step()) {
    SessionItem it;
    it.layer = static_cast<int>(s.i64(0));
    it.feature = s.i64(1);
    it.order = s.i64(2);
    it.state = s.text(3);
    if (it.state == "pending" && !s.isNull(4) && s.i64(4) == id) it.state = "labeled";
    out.push_back(it);
  }
  return out;
}

std::optional<SessionItem> nextItem(Db& db, int64_t id) {
  for (const auto& it : sessionItems(db, id))
    if (it.state == "pending") return it;
  return std::nullopt;
}

Label labelInSession(Db& db, int64_t id, Label label) {
  Label out;
  db.transaction([&] {
    requireItem(db, id, label.layer, label.feature);
    label.sessionId = id;
    out = setLabel(db, label);
    touch(db, id);
  });
  return out;
}

void skipItem(Db& db, int64_t id, int layer, int64_t feature) {
  db.transaction([&] {
    requireItem(db, id, layer, feature);
    Stmt s(db, "UPDATE session_items SET state='skipped' WHERE session_id=? AND layer=? AND feature=?");
    s.bind(1, id).bind(2, layer).bind(3, feature).run();
    touch(db, id);
  });
}

void deferItem(Db& db, int64_t id, int layer, int64_t feature) {
  db.transaction([&] {
    requireItem(db, id, layer, feature);
    Stmt s(db,
           "UPDATE session_items SET ord=(SELECT max(ord)+1 FROM session_items WHERE session_id=?1)"
           " WHERE session_id=?1 AND layer=?2 AND feature=?3");
    s.bind(1, id).bind(2, layer).bind(3, feature).run();
    touch(db, id);
  });
}

void finishSession(Db& db, int64_t id) {
  db.transaction([&] {
    readSession(db, id);
    Stmt s(db, "UPDATE sessions SET status='finished', updated_at=? WHERE id=?");
    s.bind(1, nowIso()).bind(2, id).run();
  });
}

Proportion wilson(int64_t k, int64_t n, double z) {
  Proportion p;
  p.k = k;
  p.n = n;
  if (n <= 0) {
    p.lo = 0;
    p.hi = 1;
    return p;
  }
  const double nn = static_cast<double>(n), ph = static_cast<double>(k) / nn, z2 = z * z;
  const double denom = 1 + z2 / nn;
  const double centre = (ph + z2 / (2 * nn)) / denom;
  const double half = z / denom * std::sqrt(ph * (1 - ph) / nn + z2 / (4 * nn * nn));
  p.share = ph;
  p.lo = std::max(0.0, centre - half);
  p.hi = std::min(1.0, centre + half);
  return p;
}

SessionReport sessionReport(Db& db, int64_t id) {
  readSession(db, id);
  SessionReport r;
  r.sessionId = id;
  std::vector<std::string> fams;
  int64_t agree = 0, agreeN = 0, junkFam = 0, junkN = 0;
  for (const auto& it : sessionItems(db, id)) {
    ++r.total;
    if (it.state == "skipped") ++r.skipped;
    if (it.state == "pending") ++r.pending;
    if (it.state != "labeled") continue;
    ++r.labeled;
    const std::string fam = getLabel(db, it.layer, it.feature)->family;
    fams.push_back(fam);
    const auto stats = readStats(db, it.layer, it.feature);
    if (!stats || stats->family.empty()) continue;
    const std::string& sug = stats->family;
    ++r.confusion[{fam, sug}];
    if (isInterpretable(fam)) {
      ++agreeN;
      agree += sug == fam || (fam == "other" && sug == "unclear");
    } else {
      ++junkN;
      junkFam += sug != "unclear";
    }
  }
  int64_t interp = 0;
  for (const auto& f : fams) interp += isInterpretable(f);
  r.interpretable = wilson(interp, r.labeled);
  for (const auto& fam : labelFamilies())
    r.families.emplace_back(fam, wilson(std::count(fams.begin(), fams.end(), fam), r.labeled));
  r.agreement = wilson(agree, agreeN);
  r.junkGivenFamily = wilson(junkFam, junkN);
  return r;
}

}  // namespace zs::db
