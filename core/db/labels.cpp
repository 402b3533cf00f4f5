#include "core/db/labels.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "core/db/db.h"
#include "core/base/error.h"

namespace zs::db {

const std::vector<std::string>& labelFamilies() {
  static const std::vector<std::string> f = {"induction", "local context", "high-level context", "other",
                                             "uninterpretable", "positional"};
  return f;
}

std::string normaliseFamily(const std::string& s) {
  std::string t;
  for (char c : s) t += (c == '_' ? ' ' : static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (t == "high level context" || t == "high-level-context") t = "high-level context";
  if (t == "local-context") t = "local context";
  const auto& families = labelFamilies();
  for (const auto& f : families)
    if (t == f) return f;
  std::string list;  // "a, b, ... or z", from the list itself so the message never falls behind it
  for (size_t i = 0; i < families.size(); ++i)
    list += (i == 0 ? "" : i + 1 == families.size() ? " or " : ", ") + families[i];
  throw UsageError("unknown family '" + s + "' (use " + list + ")");
}

bool isInterpretable(const std::string& family) { return family != "uninterpretable"; }

namespace {

const char* kHistoryCols =
    "id, action, present, layer, feature, text, family, confidence, notes, author, created_at, at, parent_id, "
    "session_id";

LabelHistoryEntry readHistory(const Stmt& s) {
  LabelHistoryEntry e;
  e.id = s.i64(0);
  e.action = s.text(1);
  e.present = s.i64(2) != 0;
  Label& l = e.state;
  l.layer = static_cast<int>(s.i64(3));
  l.feature = s.i64(4);
  l.text = s.text(5);
  l.family = s.text(6);
  if (!s.isNull(7)) l.confidence = s.f64(7);
  l.notes = s.text(8);
  l.author = s.text(9);
  l.createdAt = s.text(10);
  e.at = s.text(11);
  l.updatedAt = e.at;
  l.historyId = e.id;
  if (!s.isNull(12)) e.parentId = s.i64(12);
  if (!s.isNull(13)) l.sessionId = s.i64(13);
  return e;
}

std::optional<LabelHistoryEntry> historyRow(Db& db, int64_t id) {
  Stmt s(db, std::string("SELECT ") + kHistoryCols + " FROM label_history WHERE id=?");
  s.bind(1, id);
  if (!s.step()) return std::nullopt;
  return readHistory(s);
}

// Appends a history row holding `state` (or "no label") and makes it current.
int64_t writeState(Db& db, const std::string& action, const Label* state, int layer, int64_t feature,
                   std::optional<int64_t> parent, const std::string& at, const std::string& who = {}) {
  Stmt h(db,
         "INSERT INTO label_history(layer, feature, action, present, text, family, confidence, notes, author,"
         " created_at, at, parent_id, session_id) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)");
  h.bind(1, layer).bind(2, feature).bind(3, action).bind(4, state ? 1 : 0);
  if (state) {
    h.bind(5, state->text).bind(6, state->family);
    state->confidence ? h.bind(7, *state->confidence) : h.bindNull(7);
    h.bind(8, state->notes).bind(9, state->author).bind(10, state->createdAt);
    state->sessionId ? h.bind(13, *state->sessionId) : h.bindNull(13);
  } else {
    for (int i : {5, 6, 7, 8, 10, 13}) h.bindNull(i);
    h.bind(9, who);  // who removed the label
  }
  h.bind(11, at);
  parent ? h.bind(12, *parent) : h.bindNull(12);
  h.run();
  const int64_t id = db.lastInsertId();
  if (state) {
    Stmt u(db,
           "INSERT OR REPLACE INTO labels(layer, feature, text, family, confidence, notes, author, created_at,"
           " updated_at, history_id, session_id) VALUES(?,?,?,?,?,?,?,?,?,?,?)");
    u.bind(1, layer).bind(2, feature).bind(3, state->text).bind(4, state->family);
    state->confidence ? u.bind(5, *state->confidence) : u.bindNull(5);
    u.bind(6, state->notes).bind(7, state->author).bind(8, state->createdAt).bind(9, at).bind(10, id);
    state->sessionId ? u.bind(11, *state->sessionId) : u.bindNull(11);
    u.run();
  } else {
    Stmt d(db, "DELETE FROM labels WHERE layer=? AND feature=?");
    d.bind(1, layer).bind(2, feature).run();
  }
  return id;
}

std::optional<int64_t> currentHistoryId(Db& db, int layer, int64_t feature) {
  // The newest history row is the current state (present or not).
  Stmt s(db, "SELECT max(id) FROM label_history WHERE layer=? AND feature=?");
  s.bind(1, layer).bind(2, feature);
  if (s.step() && !s.isNull(0)) return s.i64(0);
  return std::nullopt;
}

}  // namespace

void requireFeatureExists(Db& db, int layer, int64_t feature) {
  // A database with built features accepts labels and sessions only for those
  // features (issue 19: a label for layer 4294967297 or feature 10^9 was kept).
  Stmt any(db, "SELECT EXISTS(SELECT 1 FROM features)");
  if (!any.step() || any.i64(0) == 0) return;
  Stmt s(db, "SELECT 1 FROM features WHERE layer=? AND feature=?");
  s.bind(1, layer).bind(2, feature);
  if (!s.step())
    throw InputError(db.path(), "has no layer " + std::to_string(layer) + " feature " + std::to_string(feature));
}

Label setLabel(Db& db, Label l, const std::string& action) {
  if (l.layer < 0 || l.feature < 0) throw UsageError("layer and feature must be >= 0");
  requireFeatureExists(db, l.layer, l.feature);
  l.family = normaliseFamily(l.family.empty() ? "other" : l.family);
  if (l.confidence && !(*l.confidence >= 0 && *l.confidence <= 1))
    throw UsageError("confidence must be between 0 and 1");
  db.transaction([&] {
    const std::string now = nowIso();
    auto cur = getLabel(db, l.layer, l.feature);
    const bool keepTimes = action == "import" && !l.updatedAt.empty();
    if (!keepTimes || l.createdAt.empty()) l.createdAt = cur ? cur->createdAt : now;
    const std::string at = keepTimes ? l.updatedAt : now;
    l.historyId = writeState(db, action, &l, l.layer, l.feature, currentHistoryId(db, l.layer, l.feature), at);
    l.updatedAt = at;
  });
  return l;
}

namespace {
const char* kLabelCols =
    "layer, feature, text, family, confidence, notes, author, created_at, updated_at, history_id, session_id";
Label readLabel(const Stmt& s) {
  Label l;
  l.layer = static_cast<int>(s.i64(0));
  l.feature = s.i64(1);
  l.text = s.text(2);
  l.family = s.text(3);
  if (!s.isNull(4)) l.confidence = s.f64(4);
  l.notes = s.text(5);
  l.author = s.text(6);
  l.createdAt = s.text(7);
  l.updatedAt = s.text(8);
  l.historyId = s.i64(9);
  if (!s.isNull(10)) l.sessionId = s.i64(10);
  return l;
}
}  // namespace

std::optional<Label> getLabel(Db& db, int layer, int64_t feature) {
  Stmt s(db, std::string("SELECT ") + kLabelCols + " FROM labels WHERE layer=? AND feature=?");
  s.bind(1, layer).bind(2, feature);
  if (!s.step()) return std::nullopt;
  return readLabel(s);
}

std::vector<LabelHistoryEntry> labelHistory(Db& db, int layer, int64_t feature) {
  Stmt s(db, std::string("SELECT ") + kHistoryCols + " FROM label_history WHERE layer=? AND feature=? ORDER BY id");
  s.bind(1, layer).bind(2, feature);
  std::vector<LabelHistoryEntry> out;
  while (s.step()) out.push_back(readHistory(s));
  return out;
}

std::optional<Label> undoLabel(Db& db, int layer, int64_t feature) {
  std::optional<Label> result;
  db.transaction([&] {
    auto curId = currentHistoryId(db, layer, feature);
    auto cur = curId ? historyRow(db, *curId) : std::nullopt;
    if (!cur || !cur->parentId) {
      // The first state: undo means "no label", once.
      if (cur && cur->present) {
        writeState(db, "undo", nullptr, layer, feature, std::nullopt, nowIso());
        return;
      }
      throw InputError(db.path(), "nothing to undo for layer " + std::to_string(layer) + " feature " +
                                      std::to_string(feature));
    }
    auto target = historyRow(db, *cur->parentId);
    const std::string now = nowIso();
    // The new row's parent is the target's parent, so a second undo goes one step further back.
    if (target && target->present) {
      Label st = target->state;
      writeState(db, "undo", &st, layer, feature, target->parentId, now);
      result = getLabel(db, layer, feature);
    } else {
      writeState(db, "undo", nullptr, layer, feature, target ? target->parentId : std::nullopt, now);
    }
  });
  return result;
}

bool clearLabel(Db& db, int layer, int64_t feature, const std::string& author) {
  bool had = false;
  db.transaction([&] {
    auto cur = getLabel(db, layer, feature);
    if (!cur) return;
    had = true;
    writeState(db, "clear", nullptr, layer, feature, currentHistoryId(db, layer, feature), nowIso(), author);
  });
  return had;
}

std::vector<Label> listLabels(Db& db, int layer) {
  Stmt s(db, std::string("SELECT ") + kLabelCols + " FROM labels" + (layer >= 0 ? " WHERE layer=?" : "") +
                 " ORDER BY layer, feature");
  if (layer >= 0) s.bind(1, layer);
  std::vector<Label> out;
  while (s.step()) out.push_back(readLabel(s));
  return out;
}

}  // namespace zs::db
