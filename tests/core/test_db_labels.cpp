// Feature database storage: schema migration, transactions, labels with
// history and undo, export/import round trips, and durability under kill -9.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <set>

#include "core/db/db.h"
#include "core/db/features.h"
#include "core/db/labels.h"
#include "core/db/sessions.h"
#include "core/db/schema.h"
#include "core/base/error.h"
#include "tests/support/check.h"

using namespace zs::db;

namespace {
std::string freshPath(const std::string& name) {
  std::string p = zs::test::tempDir() + "/" + name;
  for (const char* suf : {"", "-wal", "-shm"}) std::remove((p + suf).c_str());
  return p;
}
Label mk(int layer, int64_t f, const std::string& text, const std::string& family = "other") {
  Label l;
  l.layer = layer;
  l.feature = f;
  l.text = text;
  l.family = family;
  l.author = "tester";
  return l;
}
void exportImportRoundTripsRow(const std::string& format) {
  const bool csv = format == "csv";
  auto src = Db::open(freshPath("src-" + format + ".db"));
  metaSet(*src, "model_name", "tiny-gpt2");
  Label a = mk(0, 3, "commas, \"quotes\"\nand newlines", "induction");
  a.confidence = 0.1 + 0.2;  // not exactly representable in short decimal
  a.notes = "ünïcödé ✓";
  setLabel(*src, a);
  setLabel(*src, mk(1, 42, "plain", "uninterpretable"));
  Label c = mk(2, 7, "", "local context");
  c.sessionId = 9;
  setLabel(*src, c);
  const std::string text = csv ? exportLabelsCsv(*src) : exportLabelsJsonl(*src);
  if (!csv) ZS_CHECK(text.find("\"modelId\":\"tiny-gpt2\"") != std::string::npos);
  if (!csv) ZS_CHECK(text.find("\"layer\":\"1-att-zscope\",") != std::string::npos || text.find("\"index\":\"42\"") != std::string::npos);

  auto dst = Db::open(freshPath("dst-" + format + ".db"));
  metaSet(*dst, "model_name", "tiny-gpt2");
  const int n = csv ? importLabelsCsv(*dst, text, "labels.csv") : importLabelsJsonl(*dst, text, "labels.jsonl");
  ZS_CHECK_EQ(n, 3);
  const std::string again = csv ? exportLabelsCsv(*dst) : exportLabelsJsonl(*dst);
  ZS_CHECK_EQ(again, text);
  auto la = getLabel(*dst, 0, 3);
  ZS_CHECK_EQ(la->text, a.text);
  ZS_CHECK_EQ(*la->confidence, *a.confidence);  // bit-exact
  ZS_CHECK_EQ(*getLabel(*dst, 2, 7)->sessionId, int64_t(9));
  // Importing the same file again changes nothing.
  ZS_CHECK_EQ(csv ? importLabelsCsv(*dst, text, "x") : importLabelsJsonl(*dst, text, "x"), 0);
}

}  // namespace

ZS_TEST(freshDatabaseHasCurrentSchemaAndWal) {
  auto db = Db::open(freshPath("fresh.db"));
  ZS_CHECK_EQ(db->userVersion(), kSchemaVersion);
  Stmt s(*db, "PRAGMA journal_mode");
  ZS_CHECK(s.step());
  ZS_CHECK_EQ(s.text(0), std::string("wal"));
  Stmt y(*db, "PRAGMA synchronous");
  ZS_CHECK(y.step());
  ZS_CHECK_EQ(y.i64(0), int64_t(2));  // FULL
}

ZS_TEST(migratesFromVersion1KeepingLabels) {
  const std::string p = freshPath("v1.db");
  {
    OpenOptions o;
    o.migrate = false;
    auto db = Db::open(p, o);
    migrate(*db, 1);
    ZS_CHECK_EQ(db->userVersion(), 1);
    // A label as version 1 wrote it (no session columns yet).
    db->exec(
        "INSERT INTO label_history(id, layer, feature, action, present, text, family, confidence, notes, author,"
        " created_at, at, parent_id) VALUES(1, 3, 17, 'set', 1, 'old label', 'induction', 0.5, 'n', 'ann',"
        " '2025-01-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z', NULL);"
        "INSERT INTO labels VALUES(3, 17, 'old label', 'induction', 0.5, 'n', 'ann', '2025-01-01T00:00:00.000Z',"
        " '2025-01-01T00:00:00.000Z', 1);");
    bool threw = false;
    try {
      db->exec("SELECT session_id FROM labels");
    } catch (const zs::InputError&) {
      threw = true;
    }
    ZS_CHECK(threw);
  }
  auto db = Db::open(p);  // migrates to the current version
  ZS_CHECK_EQ(db->userVersion(), kSchemaVersion);
  auto l = getLabel(*db, 3, 17);
  ZS_CHECK(l.has_value());
  ZS_CHECK_EQ(l->text, std::string("old label"));
  ZS_CHECK_EQ(l->family, std::string("induction"));
  ZS_CHECK(!l->sessionId.has_value());
  // The new tables work, and a v1 label can be undone through the v2 code.
  db->exec("SELECT count(*) FROM sessions");
  setLabel(*db, mk(3, 17, "new label"));
  auto back = undoLabel(*db, 3, 17);
  ZS_CHECK(back.has_value());
  ZS_CHECK_EQ(back->text, std::string("old label"));
  ZS_CHECK_EQ(db->integrityCheck(), std::string("ok"));
}

ZS_TEST(refusesNewerSchemaAndNonDatabases) {
  const std::string p = freshPath("newer.db");
  {
    auto db = Db::open(p);
    db->setUserVersion(kSchemaVersion + 1);
  }
  ZS_CHECK_THROWS(Db::open(p), zs::InputError);
  const std::string junk = freshPath("junk.db");
  FILE* f = std::fopen(junk.c_str(), "wb");
  std::fputs("this is not an sqlite file, not at all, no no no no no no no no no no no no", f);
  std::fclose(f);
  ZS_CHECK_THROWS(Db::open(junk), zs::InputError);
}

ZS_TEST(failedTransactionLeavesNothing) {
  auto db = Db::open(freshPath("tx.db"));
  try {
    db->transaction([&] {
      metaSet(*db, "a", "1");
      throw std::runtime_error("boom");
    });
  } catch (const std::runtime_error&) {
  }
  ZS_CHECK_EQ(metaGet(*db, "a", "none"), std::string("none"));
}

ZS_TEST(setGetHistoryUndo) {
  auto db = Db::open(freshPath("labels.db"));
  ZS_CHECK(!getLabel(*db, 0, 5).has_value());
  Label a = mk(0, 5, "A", "Induction");
  a.confidence = 0.75;
  a.notes = "first";
  auto sa = setLabel(*db, a);
  ZS_CHECK_EQ(sa.family, std::string("induction"));
  setLabel(*db, mk(0, 5, "B", "local_context"));
  setLabel(*db, mk(0, 5, "C", "high-level context"));
  ZS_CHECK_EQ(getLabel(*db, 0, 5)->text, std::string("C"));
  ZS_CHECK_EQ(getLabel(*db, 0, 5)->createdAt, sa.createdAt);
  // Undo walks back one state at a time, and each undo is recorded.
  ZS_CHECK_EQ(undoLabel(*db, 0, 5)->text, std::string("B"));
  auto a2 = undoLabel(*db, 0, 5);
  ZS_CHECK_EQ(a2->text, std::string("A"));
  ZS_CHECK_EQ(*a2->confidence, 0.75);
  ZS_CHECK_EQ(a2->notes, std::string("first"));
  ZS_CHECK(!undoLabel(*db, 0, 5).has_value());  // back to "no label"
  ZS_CHECK(!getLabel(*db, 0, 5).has_value());
  ZS_CHECK_THROWS(undoLabel(*db, 0, 5), zs::InputError);
  auto h = labelHistory(*db, 0, 5);
  ZS_CHECK_EQ(h.size(), size_t(6));
  std::vector<std::string> actions;
  for (const auto& e : h) actions.push_back(e.action);
  ZS_CHECK_EQ(actions, (std::vector<std::string>{"set", "set", "set", "undo", "undo", "undo"}));
  ZS_CHECK(!h.back().present);
  // Clear is recorded and undoable.
  setLabel(*db, mk(0, 5, "D"));
  ZS_CHECK(clearLabel(*db, 0, 5, "tester"));
  ZS_CHECK(!getLabel(*db, 0, 5).has_value());
  ZS_CHECK_EQ(undoLabel(*db, 0, 5)->text, std::string("D"));
  // Validation.
  ZS_CHECK_THROWS(setLabel(*db, mk(0, 1, "x", "funny")), zs::UsageError);
  Label bad = mk(0, 1, "x");
  bad.confidence = 1.5;
  ZS_CHECK_THROWS(setLabel(*db, bad), zs::UsageError);
}

ZS_TEST(exportImportRoundTrips) {
  for (const std::string format : {"jsonl", "csv"}) {
    ZS_CONTEXT("row " + format);
    exportImportRoundTripsRow(format);
  }
}

ZS_TEST(importRejectsMalformedAtomically) {
  auto db = Db::open(freshPath("bad.db"));
  const std::string good = "{\"layer\":\"0-att-zscope\",\"index\":\"1\",\"description\":\"ok\"}\n";
  ZS_CHECK_THROWS(importLabelsJsonl(*db, good + "{not json}\n", "f.jsonl"), zs::InputError);
  ZS_CHECK_THROWS(importLabelsJsonl(*db, good + "{\"layer\":\"0\",\"index\":\"x\",\"description\":\"d\"}\n", "f"), zs::InputError);
  ZS_CHECK_THROWS(importLabelsJsonl(*db, good + "{\"layer\":\"0\",\"index\":\"2\",\"description\":\"d\",\"family\":\"zzz\"}\n", "f"), zs::InputError);
  ZS_CHECK_THROWS(importLabelsCsv(*db, "layer,index,description\n0,1\n", "f.csv"), zs::InputError);
  ZS_CHECK_THROWS(importLabelsCsv(*db, "layer,index,description\n0,1,\"open\n", "f.csv"), zs::InputError);
  ZS_CHECK(listLabels(*db).empty());  // nothing half-imported
  ZS_CHECK_EQ(importLabelsJsonl(*db, good, "f"), 1);
}

// A child writes labels in a loop and reports each confirmed history id on a
// pipe; we kill -9 it mid-way. Every confirmed label must be there afterwards.
ZS_TEST(confirmedLabelsSurviveKill9) {
  const std::string p = freshPath("crash.db");
  { Db::open(p); }  // schema created before the race
  int fds[2];
  ZS_CHECK_EQ(pipe(fds), 0);
  pid_t pid = fork();
  ZS_CHECK(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    try {  // the child never returns into the test runner
      auto db = Db::open(p);
      for (int i = 0;; ++i) {
        Label l = mk(i % 7, i, "label " + std::to_string(i), i % 2 ? "induction" : "other");
        l.notes = std::string(200 + i % 50, 'n');
        auto s = setLabel(*db, l);
        char line[64];
        int len = std::snprintf(line, sizeof line, "%d %lld\n", i, static_cast<long long>(s.historyId));
        if (write(fds[1], line, len) != len) _exit(1);
      }
    } catch (...) {
      _exit(1);
    }
  }
  close(fds[1]);
  FILE* in = fdopen(fds[0], "r");
  std::vector<std::pair<int, long long>> confirmed;
  int i;
  long long id;
  const auto t0 = std::chrono::steady_clock::now();
  while (confirmed.size() < 150 && std::fscanf(in, "%d %lld", &i, &id) == 2) confirmed.emplace_back(i, id);
  std::printf("150 durable label writes in %lld ms (includes the child's start-up)\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::steady_clock::now() - t0).count()));
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ZS_CHECK(WIFSIGNALED(status));
  while (std::fscanf(in, "%d %lld", &i, &id) == 2) confirmed.emplace_back(i, id);  // reported before death
  std::fclose(in);
  ZS_CHECK(confirmed.size() >= 150);

  auto db = Db::open(p);
  ZS_CHECK_EQ(db->integrityCheck(), std::string("ok"));
  for (auto [n, hid] : confirmed) {
    auto l = getLabel(*db, n % 7, n);
    ZS_CHECK_MSG(l.has_value(), zs::test::cat("confirmed label ", n, " lost"));
    ZS_CHECK_EQ(l->text, "label " + std::to_string(n));
    ZS_CHECK_EQ(l->historyId, int64_t(hid));
  }
  // No half-written label: every label row has its history row and full notes.
  Stmt s(*db, "SELECT count(*) FROM labels l LEFT JOIN label_history h ON h.id=l.history_id"
              " WHERE h.id IS NULL OR length(l.notes) < 200");
  ZS_CHECK(s.step());
  ZS_CHECK_EQ(s.i64(0), int64_t(0));
}

// A database rebuilt for partly new SAEs gets the labels of the layers whose SAE did not change (author and
// creation time kept, a session id only where the new database has that session on that layer), and none
// of the changed layer's, whose feature ids now name other features. Running it again writes nothing.
ZS_TEST(carryOverLabelsKeepsUnchangedLayersOnly) {
  auto build = [](const std::string& name, const std::string& layer1Fingerprint) {
    auto db = Db::open(freshPath(name));
    db->transaction([&] {
      for (int layer : {0, 1})
        for (int64_t f = 0; f < 4; ++f) {
          FeatureStats s;
          s.layer = layer;
          s.feature = f;
          s.tokens = 100;
          s.fireCount = 5;
          s.density = 0.05;
          writeStats(*db, s);
        }
    });
    metaSet(*db, "sae_fingerprints", R"({"0":"same","1":")" + layer1Fingerprint + R"("})");
    return db;
  };
  auto oldDb = build("carry-old.db", "before");
  auto newDb = build("carry-new.db", "after");
  const Session s0 = startSessionWithList(*oldDb, 0, {1, 2}, "ann");
  startSessionWithList(*newDb, 0, {1, 3}, "shipped");  // the same id, on the same layer
  Label mine = mk(0, 1, "the user's label", "local context");
  mine.author = "ann";
  mine.sessionId = s0.id;
  const Label stored = setLabel(*oldDb, mine);
  Label other = mk(0, 2, "no such session in the new one", "induction");
  other.sessionId = 999;
  setLabel(*oldDb, other);
  setLabel(*oldDb, mk(1, 0, "layer 1 changed: another feature now"));
  setLabel(*newDb, mk(0, 3, "shipped label", "positional"));

  ZS_CHECK_EQ(carryOverLabels(*oldDb, *newDb), 2);
  const auto a = getLabel(*newDb, 0, 1);
  ZS_CHECK(a.has_value());
  if (a) {
    ZS_CHECK_EQ(a->text, std::string("the user's label"));
    ZS_CHECK_EQ(a->author, std::string("ann"));
    ZS_CHECK_EQ(a->createdAt, stored.createdAt);
    ZS_CHECK(a->sessionId == s0.id);
  }
  const auto b = getLabel(*newDb, 0, 2);
  ZS_CHECK(b.has_value() && !b->sessionId.has_value());
  ZS_CHECK(!getLabel(*newDb, 1, 0).has_value());
  ZS_CHECK_EQ(getLabel(*newDb, 0, 3)->text, std::string("shipped label"));
  ZS_CHECK_EQ(carryOverLabels(*oldDb, *newDb), 0);
}
