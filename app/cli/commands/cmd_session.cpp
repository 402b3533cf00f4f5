// zscope-cli session start|next|skip|defer|report|list: labeling sessions as in
// the paper (N random live features of a layer), resumable from the database.
#include <cstdio>
#include <iostream>

#include "app/cli/command.h"
#include "app/cli/common.h"
#include "core/db/db.h"
#include "core/db/features.h"
#include "core/db/sessions.h"
#include "core/base/error.h"

namespace zs::cli {
namespace {

std::vector<int64_t> parseList(const std::string& s) {
  std::vector<int64_t> out;
  size_t i = 0;
  while (i <= s.size()) {
    size_t j = s.find(',', i);
    if (j == std::string::npos) j = s.size();
    const std::string item = s.substr(i, j - i);
    size_t pos = 0;
    long long v = -1;
    try {
      v = std::stoll(item, &pos);
    } catch (const std::exception&) {
      pos = 0;
    }
    if (pos == 0 || pos != item.size() || v < 0) throw UsageError("--features expects ids like 1,2,3, got '" + s + "'");
    out.push_back(v);
    i = j + 1;
  }
  return out;
}

int64_t sessionId(const Args& a, db::Db& d) {
  if (a.has("session")) return a.getIntIn("session", 0, 1, INT64_MAX);
  auto s = db::activeSession(d);
  if (!s) throw UsageError("no active session: give --session ID or start one");
  return s->id;
}

nlohmann::json sessionJson(const db::Session& s) {
  return {{"id", s.id},        {"name", s.name},   {"layer", s.layer}, {"n", s.n},
          {"seed", s.seed},    {"author", s.author}, {"status", s.status}, {"done", s.done},
          {"total", s.total},  {"created_at", s.createdAt}, {"updated_at", s.updatedAt}};
}

nlohmann::json propJson(const db::Proportion& p) {
  return {{"k", p.k}, {"n", p.n}, {"share", p.share}, {"ci95", {p.lo, p.hi}}};
}

int runStart(const Args& a) {
  if (a.has("features") && (a.has("n") || a.has("seed"))) throw UsageError("give --features or --n/--seed, not both");
  if (!a.has("layer")) throw UsageError("give --layer L");
  const int layer = static_cast<int>(a.getIntIn("layer", -1, 0, 1 << 20));
  auto d = openExistingDb(a, true);
  const std::string author = a.get("author", std::getenv("USER") ? std::getenv("USER") : "");
  db::Session s = a.has("features")
                      ? db::startSessionWithList(*d, layer, parseList(a.get("features")), author, a.get("name"))
                      : db::startSession(*d, layer, a.getIntIn("n", 30, 1, 1 << 24), static_cast<uint64_t>(a.getInt("seed", 0)),
                                         author, a.get("name"));
  if (a.has("json")) {
    printJson(sessionJson(s));
  } else {
    std::cout << "session " << s.id << ": " << s.total << " features of layer " << layer << " queued\n";
  }
  return 0;
}

int runNext(const Args& a) {
  auto d = openExistingDb(a);
  const int64_t id = sessionId(a, *d);
  auto s = db::getSession(*d, id);
  auto it = db::nextItem(*d, id);
  if (a.has("json")) {
    nlohmann::json j = {{"session", sessionJson(s)}};
    j["next"] = it ? nlohmann::json{{"layer", it->layer}, {"feature", it->feature}} : nlohmann::json(nullptr);
    if (it && a.has("dashboard")) {
      db::FeatureDashboard dash = db::readDashboard(*d, it->layer, it->feature);
      if (a.has("blind")) db::hideSuggestion(dash);
      j["dashboard"] = db::dashboardJson(dash);
    }
    printJson(j);
  } else if (it) {
    std::cout << "session " << id << ": " << s.done << " / " << s.total << " done; next: layer " << it->layer
              << " feature " << it->feature << "\n";
  } else {
    std::cout << "session " << id << ": complete (" << s.total << " features)\n";
  }
  return 0;
}

int runMark(const Args& a, bool skip) {
  auto d = openExistingDb(a, true);
  const int64_t id = sessionId(a, *d);
  auto s = db::getSession(*d, id);
  if (!a.has("feature")) throw UsageError("give --feature F");
  const int64_t f = a.getIntIn("feature", -1, 0, int64_t{1} << 40);
  const int layer = static_cast<int>(a.getIntIn("layer", s.layer, 0, 1 << 20));
  skip ? db::skipItem(*d, id, layer, f) : db::deferItem(*d, id, layer, f);
  std::cout << (skip ? "skipped" : "deferred") << " layer " << layer << " feature " << f << "\n";
  return 0;
}

int runReport(const Args& a) {
  auto d = openExistingDb(a, a.has("finish"));
  const int64_t id = sessionId(a, *d);
  auto r = db::sessionReport(*d, id);
  if (a.has("finish")) db::finishSession(*d, id);
  if (a.has("json")) {
    nlohmann::json j = {{"session", id},         {"total", r.total},     {"labeled", r.labeled},
                        {"skipped", r.skipped},  {"pending", r.pending}, {"interpretable", propJson(r.interpretable)}};
    for (const auto& [fam, p] : r.families) j["families"][fam] = propJson(p);
    j["suggestion_agreement"] = propJson(r.agreement);
    j["junk_given_family"] = propJson(r.junkGivenFamily);
    j["confusion"] = nlohmann::json::array();
    for (const auto& [key, n] : r.confusion)
      j["confusion"].push_back({{"label", key.first}, {"suggestion", key.second}, {"count", n}});
    printJson(j);
    return 0;
  }
  std::printf("session %lld: %lld labeled, %lld skipped, %lld pending of %lld\n", static_cast<long long>(id),
              static_cast<long long>(r.labeled), static_cast<long long>(r.skipped),
              static_cast<long long>(r.pending), static_cast<long long>(r.total));
  auto line = [](const std::string& name, const db::Proportion& p) {
    std::printf("  %-20s %3lld / %-3lld  %5.1f%%  95%% CI [%.1f%%, %.1f%%]\n", name.c_str(),
                static_cast<long long>(p.k), static_cast<long long>(p.n), 100 * p.share, 100 * p.lo, 100 * p.hi);
  };
  line("interpretable", r.interpretable);
  for (const auto& [fam, p] : r.families) line(fam, p);
  std::printf("family suggestions against the labels:\n");
  line("agree (interpretable)", r.agreement);
  line("junk given a family", r.junkGivenFamily);
  for (const auto& [key, n] : r.confusion)
    std::printf("  label %-20s suggestion %-20s %lld\n", key.first.c_str(), key.second.c_str(),
                static_cast<long long>(n));
  return 0;
}

int runList(const Args& a) {
  auto d = openExistingDb(a);
  nlohmann::json j = nlohmann::json::array();
  for (const auto& s : db::listSessions(*d)) j.push_back(sessionJson(s));
  printJson(j);
  return 0;
}

const char* kSel = "--db FILE [--session ID (default: the active one)]";
Registrar r1({"session start",
              "--db FILE --layer L (--n N [--seed S] | --features 1,2,3) [--author NAME] [--name TEXT] [--json]",
              "Start a labeling session: N random live features of a layer (seeded), or a list", {"json"},
              &runStart});
Registrar r2({"session next", std::string(kSel) + " [--json [--dashboard [--blind]]]",
              "The session's progress and the next feature to label (label it with `label --session ID`); "
              "--blind leaves the family suggestion out of the dashboard",
              {"json", "dashboard", "blind"}, &runNext});
Registrar r3({"session skip", std::string(kSel) + " --feature F [--layer L]", "Skip a queued feature (not judged)", {},
              [](const Args& a) { return runMark(a, true); }});
Registrar r4({"session defer", std::string(kSel) + " --feature F [--layer L]", "Move a queued feature to the end of the queue",
              {}, [](const Args& a) { return runMark(a, false); }});
Registrar r5({"session report", std::string(kSel) + " [--finish] [--json]",
              "Share of features judged interpretable, overall and per family, with 95% Wilson intervals",
              {"json", "finish"}, &runReport});
Registrar r6({"session list", "--db FILE", "List labeling sessions", {}, &runList});

}  // namespace
}  // namespace zs::cli
