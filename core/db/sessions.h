#pragma once
// Labeling sessions as in the paper: N live features of one layer sampled at
// random (seeded, deterministic), or an explicit list; the queue and progress
// live in the database, so a session resumes after a restart. No torch, no Qt.
//
// An item is done when the feature's current label was written in this session
// (so undoing it makes the item pending again) or when it was skipped. Deferring
// moves an item to the end of the queue.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/db/labels.h"

namespace zs::db {

class Db;

struct SessionItem {
  int layer = 0;
  int64_t feature = 0;
  int64_t order = 0;
  std::string state;  // pending | labeled | skipped
};

struct Session {
  int64_t id = 0;
  std::string name, author, status;  // status: active | finished
  int layer = 0;
  int64_t n = 0;
  uint64_t seed = 0;
  std::string createdAt, updatedAt;
  int64_t total = 0, done = 0;  // progress "done / total"
};

// Deterministic sample of n of `pool` (sorted ids) for a seed: the same on every
// platform (SplitMix64 + partial Fisher-Yates). Result in sampled order.
std::vector<int64_t> sampleFeatures(std::vector<int64_t> pool, int64_t n, uint64_t seed);

// Samples n live features (features.dead = 0) of the layer. Throws InputError
// when the database has no built features for the layer, UsageError if n < 1.
Session startSession(Db& db, int layer, int64_t n, uint64_t seed, const std::string& author = {},
                     const std::string& name = {});
// A session over an explicit list of features (e.g. a head's top features).
Session startSessionWithList(Db& db, int layer, const std::vector<int64_t>& features,
                             const std::string& author = {}, const std::string& name = {});
Session getSession(Db& db, int64_t id);  // InputError if absent
std::vector<Session> listSessions(Db& db);
// The most recent active session, if any (what the GUI resumes).
std::optional<Session> activeSession(Db& db);

std::vector<SessionItem> sessionItems(Db& db, int64_t id);  // queue order
// The first pending item in queue order; nullopt when the session is complete.
std::optional<SessionItem> nextItem(Db& db, int64_t id);
// Writes the label for a queued feature with the session's id (durable on return).
Label labelInSession(Db& db, int64_t id, Label label);
void skipItem(Db& db, int64_t id, int layer, int64_t feature);   // done, not judged
void deferItem(Db& db, int64_t id, int layer, int64_t feature);  // to the end of the queue
void finishSession(Db& db, int64_t id);

struct Proportion {
  int64_t k = 0, n = 0;
  double share = 0, lo = 0, hi = 0;  // share k/n and its 95% Wilson interval
};
// Wilson score interval for k successes of n (z = 1.959964 for 95%); n = 0 gives [0, 1].
Proportion wilson(int64_t k, int64_t n, double z = 1.959963984540054);

struct SessionReport {
  int64_t sessionId = 0;
  int64_t total = 0, labeled = 0, skipped = 0, pending = 0;
  Proportion interpretable;                                // of labeled items
  std::vector<std::pair<std::string, Proportion>> families;  // each family's share of labeled items
  // The builder's family suggestions against the labels (features without a stored suggestion are left out):
  //   agreement: of interpretable labeled features, the suggestion names the label's family ("unclear"
  //              counts as naming "other");
  //   junkGivenFamily: of uninterpretable ones, the suggestion names a family (anything but "unclear").
  Proportion agreement, junkGivenFamily;
  std::map<std::pair<std::string, std::string>, int64_t> confusion;  // (label family, suggestion) -> count
};
SessionReport sessionReport(Db& db, int64_t id);

}  // namespace zs::db
