#pragma once
// Hand-written feature labels, durable and audited. No torch, no Qt.
//
// The `labels` table holds each feature's current label; `label_history` is
// append-only and records every change (set, undo, clear, import) with the full
// resulting state, so undo and audit work. Every write is one BEGIN IMMEDIATE
// transaction; with the connection opened durable (the default, synchronous=FULL)
// a function that returned has its label on disk: it survives kill -9 or a power cut.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace zs::db {

class Db;

// The families of the paper's labeling protocol (induction, local context, high-level context, other,
// uninterpretable) plus positional (fires by position in the context rather than by content), last so that
// the GUI's keys 1-5 keep the paper's order.
const std::vector<std::string>& labelFamilies();  // induction, local context, high-level context, other, uninterpretable, positional
// Accepts the canonical names, '-'/'_' for spaces and any case; throws UsageError otherwise.
std::string normaliseFamily(const std::string& s);
bool isInterpretable(const std::string& family);  // everything but "uninterpretable"

struct Label {
  int layer = 0;
  int64_t feature = 0;
  std::string text;
  std::string family = "other";
  std::optional<double> confidence;  // 0..1 when given
  std::string notes;
  std::string author;
  std::optional<int64_t> sessionId;
  std::string createdAt, updatedAt;  // ISO 8601 UTC; set by the store
  int64_t historyId = 0;             // label_history row of this state
};

struct LabelHistoryEntry {
  int64_t id = 0;
  std::string action;  // set | undo | clear | import
  bool present = false;  // false: the feature had no label after this change
  Label state;           // valid when present
  std::string at;
  std::optional<int64_t> parentId;
};

// Writes a label (validating family and confidence) and returns it as stored,
// with its history id. Durable when this returns.
Label setLabel(Db& db, Label label, const std::string& action = "set");
std::optional<Label> getLabel(Db& db, int layer, int64_t feature);
// Oldest first.
std::vector<LabelHistoryEntry> labelHistory(Db& db, int layer, int64_t feature);
// Reverts the feature to the state before its current one (repeatable: undo
// twice goes back two steps); the revert is itself a history row. Returns the
// state now current (nullopt: no label). Throws InputError when there is nothing to undo.
std::optional<Label> undoLabel(Db& db, int layer, int64_t feature);
// Removes the current label (recorded in the history). False when there was none.
bool clearLabel(Db& db, int layer, int64_t feature, const std::string& author = {});
// layer < 0: all layers. Ordered by layer, feature.
std::vector<Label> listLabels(Db& db, int layer = -1);

// ---- Export / import ------------------------------------------------------
// JSONL: one object per line with Neuronpedia's explanation field names
// (modelId, layer = "<L>-att-zscope" or the source id given, index as a string,
// description, typeName "zscope-human", explanationModelName "human", authorId)
// plus Zscope's own fields (family, confidence, notes, sessionId, createdAt,
// updatedAt); import reads the layer number from the start of "layer". CSV: a header row with the same names, RFC 4180 quoting.
struct ExportOptions {
  std::string modelId;        // default: meta 'model_name' of the database
  std::string sourceSuffix = "att-zscope";  // layer field = "<L>-" + suffix
};
std::string exportLabelsJsonl(Db& db, const ExportOptions& opts = {});
std::string exportLabelsCsv(Db& db, const ExportOptions& opts = {});
// Imports every row as the feature's current label (action "import"; rows equal
// to the current label are skipped). Returns the number written. Throws
// InputError naming `nameForErrors` and the line on malformed input; nothing is
// written then (one transaction).
int importLabelsJsonl(Db& db, const std::string& text, const std::string& nameForErrors);
int importLabelsCsv(Db& db, const std::string& text, const std::string& nameForErrors);

// A database rebuilt for partly new SAEs (a new shipped release): copies `from`'s labels into `to` on every
// layer whose SAE is the same in both (equal d_sae and weight fingerprint), as imports (author and times
// kept; a session id is kept only where `to` has that session on that layer). Labels on layers whose SAE
// changed belong to other features and are not copied. Returns the number written; one transaction.
int carryOverLabels(Db& from, Db& to);

}  // namespace zs::db
