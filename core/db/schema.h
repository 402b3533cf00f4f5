#pragma once
// Schema of the feature database (*.zscope.db) and its numbered migrations.
// PRAGMA user_version holds the version; migrate() applies every step from the
// file's version to kSchemaVersion, each step in its own transaction.
//
// v1: meta, features, histograms, examples, labels, label_history.
// v2: labeling sessions (sessions, session_items) and a session_id on labels
//     and label_history; the builder's resumable state (build_*); display
//     strings of the tokens that dashboards show (token_strings).
namespace zs::db {

class Db;

constexpr int kSchemaVersion = 2;

// Brings the schema to `target` (default: current). A file newer than this
// build is refused with an InputError (never silently downgraded).
void migrate(Db& db, int target = kSchemaVersion);

}  // namespace zs::db
