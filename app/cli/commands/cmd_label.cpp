// zscope-cli label: write (or undo, or show the history of) a feature's label.
// Returns only after the label is durable (synchronous=FULL commit).
#include <cstdint>
#include <iostream>

#include "app/cli/command.h"
#include "app/cli/common.h"
#include "core/db/db.h"
#include "core/db/features.h"
#include "core/db/labels.h"
#include "core/db/sessions.h"
#include "core/base/error.h"

namespace zs::cli {
namespace {

nlohmann::json historyJson(const db::LabelHistoryEntry& e) {
  nlohmann::json j = {{"id", e.id}, {"action", e.action}, {"at", e.at}};
  j["label"] = e.present ? db::labelJson(e.state) : nlohmann::json(nullptr);
  return j;
}

int runLabel(const Args& a) {
  if (!a.positional().empty()) throw UsageError("unexpected argument '" + a.positional()[0] + "'");
  int modes = 0;
  for (const char* k : {"label", "undo", "clear", "history"}) modes += a.has(k) ? 1 : 0;
  if (modes > 1) throw UsageError("give only one of --label, --undo, --clear and --history");
  if (!a.has("label"))
    for (const char* k : {"family", "confidence", "notes", "session"})
      if (a.has(k)) throw UsageError(std::string("--") + k + " goes with --label");
  const auto [layer, feature] = requireLayerFeature(a);
  auto d = openExistingDb(a, !a.has("history"));
  if (a.has("history")) {
    nlohmann::json h = nlohmann::json::array();
    for (const auto& e : db::labelHistory(*d, layer, feature)) h.push_back(historyJson(e));
    printJson(h);
    return 0;
  }
  std::optional<db::Label> now;
  if (a.has("undo")) {
    now = db::undoLabel(*d, layer, feature);
  } else if (a.has("clear")) {
    db::clearLabel(*d, layer, feature, a.get("author"));
  } else {
    db::Label l;
    l.layer = layer;
    l.feature = feature;
    l.text = a.require("label");
    l.family = a.get("family", "other");
    if (a.has("confidence")) l.confidence = a.getFiniteIn("confidence", 0, 0, 1);
    l.notes = a.get("notes");
    l.author = a.get("author", std::getenv("USER") ? std::getenv("USER") : "");
    // In a session the feature must be queued there; the item then counts as done.
    now = a.has("session") ? db::labelInSession(*d, a.getIntIn("session", 0, 1, INT64_MAX), l) : db::setLabel(*d, l);
  }
  if (a.has("json")) {
    printJson(now ? db::labelJson(*now) : nlohmann::json(nullptr));
  } else if (now) {
    std::cout << "layer " << layer << " feature " << feature << ": \"" << now->text << "\" [" << now->family
              << "] (history id " << now->historyId << ", saved)\n";
  } else {
    std::cout << "layer " << layer << " feature " << feature << ": no label (saved)\n";
  }
  return 0;
}

Registrar reg({"label",
               "--db FILE --layer L --feature F (--label TEXT [--family induction|local-context|high-level-context|"
               "other|uninterpretable|positional] [--confidence 0..1] [--notes TEXT] [--author NAME] [--session ID] | --undo | "
               "--clear | --history) [--json]",
               "Label a feature in a feature database (durable on return), undo, or show its history",
               {"undo", "clear", "history", "json"}, &runLabel});

}  // namespace
}  // namespace zs::cli
