#include "core/db/schema.h"

#include <string>
#include <vector>

#include "core/db/db.h"
#include "core/base/error.h"

namespace zs::db {
namespace {

// Version 1, as first released. Never edit: files in the wild have it.
const char* kV1 = R"SQL(
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE features (
  layer INTEGER NOT NULL, feature INTEGER NOT NULL,
  fire_count INTEGER NOT NULL, tokens INTEGER NOT NULL,
  density REAL NOT NULL, mean_activation REAL NOT NULL, max_activation REAL NOT NULL,
  dead INTEGER NOT NULL,
  head_attribution BLOB,          -- float32 per head, sums to 1
  family TEXT, family_numbers TEXT,  -- suggestion + JSON of the numbers behind it
  logits_top TEXT, logits_bottom TEXT,  -- JSON [[token_id, token, value], ...]
  PRIMARY KEY (layer, feature));
CREATE TABLE histograms (
  layer INTEGER NOT NULL, feature INTEGER NOT NULL,
  counts BLOB NOT NULL,           -- int64 per bin, bins in meta 'hist_edges'
  PRIMARY KEY (layer, feature));
CREATE TABLE examples (
  layer INTEGER NOT NULL, feature INTEGER NOT NULL,
  kind TEXT NOT NULL,             -- 'top' or 'quantile'
  bucket INTEGER NOT NULL,        -- quantile bucket (-1 for top)
  rank INTEGER NOT NULL,          -- 0 = largest (top) / order in bucket
  window INTEGER NOT NULL,        -- window index in the corpus pass
  activation REAL NOT NULL,       -- max over the window (BOS excluded)
  max_pos INTEGER NOT NULL,
  tokens BLOB NOT NULL,           -- int32 ids, BOS first
  activations BLOB NOT NULL,      -- float32 per token (BOS stored as 0)
  dfa_source INTEGER, dfa_head INTEGER, dfa_value REAL,
  PRIMARY KEY (layer, feature, kind, bucket, rank));
CREATE TABLE labels (
  layer INTEGER NOT NULL, feature INTEGER NOT NULL,
  text TEXT NOT NULL, family TEXT NOT NULL, confidence REAL, notes TEXT NOT NULL,
  author TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
  history_id INTEGER NOT NULL,
  PRIMARY KEY (layer, feature));
CREATE TABLE label_history (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  layer INTEGER NOT NULL, feature INTEGER NOT NULL,
  action TEXT NOT NULL,           -- set | undo | clear | import
  present INTEGER NOT NULL,       -- 0: the state after this row is "no label"
  text TEXT, family TEXT, confidence REAL, notes TEXT, author TEXT,
  created_at TEXT,                -- created_at of the label in this state
  at TEXT NOT NULL,               -- when this row was written
  parent_id INTEGER);             -- the row that was current before (undo target)
CREATE INDEX label_history_feature ON label_history (layer, feature, id);
)SQL";

// Version 2: labeling sessions and the builder's checkpoint tables.
const char* kV2 = R"SQL(
ALTER TABLE labels ADD COLUMN session_id INTEGER;
ALTER TABLE label_history ADD COLUMN session_id INTEGER;
CREATE TABLE sessions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL, layer INTEGER NOT NULL, n INTEGER NOT NULL, seed INTEGER NOT NULL,
  author TEXT NOT NULL, status TEXT NOT NULL,   -- active | finished
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE session_items (
  session_id INTEGER NOT NULL REFERENCES sessions(id),
  ord INTEGER NOT NULL,           -- queue order (deferring moves an item to the end)
  layer INTEGER NOT NULL, feature INTEGER NOT NULL,
  state TEXT NOT NULL,            -- pending | skipped
  PRIMARY KEY (session_id, layer, feature));
CREATE INDEX session_items_ord ON session_items (session_id, ord);
CREATE TABLE build_accumulators (
  layer INTEGER PRIMARY KEY,
  fire_count BLOB NOT NULL, sum BLOB NOT NULL, max BLOB NOT NULL, hist BLOB NOT NULL);
CREATE TABLE build_candidates (   -- heap and reservoir entries
  layer INTEGER NOT NULL, feature INTEGER NOT NULL, bucket INTEGER NOT NULL,
  activation REAL NOT NULL, key INTEGER NOT NULL, window INTEGER NOT NULL);
CREATE TABLE build_windows (window INTEGER PRIMARY KEY, tokens BLOB NOT NULL);
CREATE TABLE token_strings (id INTEGER PRIMARY KEY, display TEXT NOT NULL);  -- tokens the dashboards show
)SQL";

const std::vector<const char*>& steps() {
  static const std::vector<const char*> s = {kV1, kV2};  // steps()[i] takes i -> i+1
  return s;
}

}  // namespace

void migrate(Db& db, int target) {
  int v = db.userVersion();
  if (v > kSchemaVersion)
    throw InputError(db.path(), "schema version " + std::to_string(v) +
                                    " is newer than this Zscope understands (" +
                                    std::to_string(kSchemaVersion) + ")");
  if (target > kSchemaVersion) target = kSchemaVersion;
  while (v < target) {
    // Re-read the version under the write lock: another connection may have
    // migrated meanwhile. The version bump commits together with the step.
    db.transaction([&] {
      v = db.userVersion();
      if (v >= target) return;
      db.exec(steps()[static_cast<size_t>(v)]);
      db.setUserVersion(v + 1);
      ++v;
    });
  }
}

}  // namespace zs::db
