// Feature database storage: schema migration, transactions, labels with
// history and undo, export/import round trips, and durability under kill -9.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <set>

#include "core/db/db.h"
#include "core/db/labels.h"
#include "core/db/schema.h"
#include "core/base/error.h"
#include "testutil.h"

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
}  // namespace

class TestDbLabels : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void freshDatabaseHasCurrentSchemaAndWal() {
    auto db = Db::open(freshPath("fresh.db"));
    QCOMPARE(db->userVersion(), kSchemaVersion);
    Stmt s(*db, "PRAGMA journal_mode");
    QVERIFY(s.step());
    QCOMPARE(QString::fromStdString(s.text(0)), QString("wal"));
    Stmt y(*db, "PRAGMA synchronous");
    QVERIFY(y.step());
    QCOMPARE(y.i64(0), int64_t(2));  // FULL
  }

  void migratesFromVersion1KeepingLabels() {
    const std::string p = freshPath("v1.db");
    {
      OpenOptions o;
      o.migrate = false;
      auto db = Db::open(p, o);
      migrate(*db, 1);
      QCOMPARE(db->userVersion(), 1);
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
      QVERIFY(threw);
    }
    auto db = Db::open(p);  // migrates to the current version
    QCOMPARE(db->userVersion(), kSchemaVersion);
    auto l = getLabel(*db, 3, 17);
    QVERIFY(l.has_value());
    QCOMPARE(QString::fromStdString(l->text), QString("old label"));
    QCOMPARE(QString::fromStdString(l->family), QString("induction"));
    QVERIFY(!l->sessionId.has_value());
    // The new tables work, and a v1 label can be undone through the v2 code.
    db->exec("SELECT count(*) FROM sessions");
    setLabel(*db, mk(3, 17, "new label"));
    auto back = undoLabel(*db, 3, 17);
    QVERIFY(back.has_value());
    QCOMPARE(QString::fromStdString(back->text), QString("old label"));
    QCOMPARE(QString::fromStdString(db->integrityCheck()), QString("ok"));
  }

  void refusesNewerSchemaAndNonDatabases() {
    const std::string p = freshPath("newer.db");
    {
      auto db = Db::open(p);
      db->setUserVersion(kSchemaVersion + 1);
    }
    QVERIFY_THROWS_EXCEPTION(zs::InputError, Db::open(p));
    const std::string junk = freshPath("junk.db");
    FILE* f = std::fopen(junk.c_str(), "wb");
    std::fputs("this is not an sqlite file, not at all, no no no no no no no no no no no no", f);
    std::fclose(f);
    QVERIFY_THROWS_EXCEPTION(zs::InputError, Db::open(junk));
  }

  void failedTransactionLeavesNothing() {
    auto db = Db::open(freshPath("tx.db"));
    try {
      db->transaction([&] {
        metaSet(*db, "a", "1");
        throw std::runtime_error("boom");
      });
    } catch (const std::runtime_error&) {
    }
    QCOMPARE(QString::fromStdString(metaGet(*db, "a", "none")), QString("none"));
  }

  void setGetHistoryUndo() {
    auto db = Db::open(freshPath("labels.db"));
    QVERIFY(!getLabel(*db, 0, 5).has_value());
    Label a = mk(0, 5, "A", "Induction");
    a.confidence = 0.75;
    a.notes = "first";
    auto sa = setLabel(*db, a);
    QCOMPARE(QString::fromStdString(sa.family), QString("induction"));
    setLabel(*db, mk(0, 5, "B", "local_context"));
    setLabel(*db, mk(0, 5, "C", "high-level context"));
    QCOMPARE(QString::fromStdString(getLabel(*db, 0, 5)->text), QString("C"));
    QCOMPARE(QString::fromStdString(getLabel(*db, 0, 5)->createdAt), QString::fromStdString(sa.createdAt));
    // Undo walks back one state at a time, and each undo is recorded.
    QCOMPARE(QString::fromStdString(undoLabel(*db, 0, 5)->text), QString("B"));
    auto a2 = undoLabel(*db, 0, 5);
    QCOMPARE(QString::fromStdString(a2->text), QString("A"));
    QCOMPARE(*a2->confidence, 0.75);
    QCOMPARE(QString::fromStdString(a2->notes), QString("first"));
    QVERIFY(!undoLabel(*db, 0, 5).has_value());  // back to "no label"
    QVERIFY(!getLabel(*db, 0, 5).has_value());
    QVERIFY_THROWS_EXCEPTION(zs::InputError, undoLabel(*db, 0, 5));
    auto h = labelHistory(*db, 0, 5);
    QCOMPARE(h.size(), size_t(6));
    QStringList actions;
    for (const auto& e : h) actions << QString::fromStdString(e.action);
    QCOMPARE(actions, QStringList({"set", "set", "set", "undo", "undo", "undo"}));
    QVERIFY(!h.back().present);
    // Clear is recorded and undoable.
    setLabel(*db, mk(0, 5, "D"));
    QVERIFY(clearLabel(*db, 0, 5, "tester"));
    QVERIFY(!getLabel(*db, 0, 5).has_value());
    QCOMPARE(QString::fromStdString(undoLabel(*db, 0, 5)->text), QString("D"));
    // Validation.
    QVERIFY_THROWS_EXCEPTION(zs::UsageError, setLabel(*db, mk(0, 1, "x", "funny")));
    Label bad = mk(0, 1, "x");
    bad.confidence = 1.5;
    QVERIFY_THROWS_EXCEPTION(zs::UsageError, setLabel(*db, bad));
  }

  void exportImportRoundTrips_data() {
    QTest::addColumn<QString>("format");
    QTest::newRow("jsonl") << "jsonl";
    QTest::newRow("csv") << "csv";
  }
  void exportImportRoundTrips() {
    QFETCH(QString, format);
    const bool csv = format == "csv";
    auto src = Db::open(freshPath("src-" + format.toStdString() + ".db"));
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
    if (!csv) QVERIFY(text.find("\"modelId\":\"tiny-gpt2\"") != std::string::npos);
    if (!csv) QVERIFY(text.find("\"layer\":\"1-att-zscope\",") != std::string::npos || text.find("\"index\":\"42\"") != std::string::npos);

    auto dst = Db::open(freshPath("dst-" + format.toStdString() + ".db"));
    metaSet(*dst, "model_name", "tiny-gpt2");
    const int n = csv ? importLabelsCsv(*dst, text, "labels.csv") : importLabelsJsonl(*dst, text, "labels.jsonl");
    QCOMPARE(n, 3);
    const std::string again = csv ? exportLabelsCsv(*dst) : exportLabelsJsonl(*dst);
    QCOMPARE(QString::fromStdString(again), QString::fromStdString(text));
    auto la = getLabel(*dst, 0, 3);
    QCOMPARE(QString::fromStdString(la->text), QString::fromStdString(a.text));
    QCOMPARE(*la->confidence, *a.confidence);  // bit-exact
    QCOMPARE(*getLabel(*dst, 2, 7)->sessionId, int64_t(9));
    // Importing the same file again changes nothing.
    QCOMPARE(csv ? importLabelsCsv(*dst, text, "x") : importLabelsJsonl(*dst, text, "x"), 0);
  }

  void importRejectsMalformedAtomically() {
    auto db = Db::open(freshPath("bad.db"));
    const std::string good = "{\"layer\":\"0-att-zscope\",\"index\":\"1\",\"description\":\"ok\"}\n";
    QVERIFY_THROWS_EXCEPTION(zs::InputError, importLabelsJsonl(*db, good + "{not json}\n", "f.jsonl"));
    QVERIFY_THROWS_EXCEPTION(zs::InputError,
                             importLabelsJsonl(*db, good + "{\"layer\":\"0\",\"index\":\"x\",\"description\":\"d\"}\n", "f"));
    QVERIFY_THROWS_EXCEPTION(zs::InputError,
                             importLabelsJsonl(*db, good + "{\"layer\":\"0\",\"index\":\"2\",\"description\":\"d\",\"family\":\"zzz\"}\n", "f"));
    QVERIFY_THROWS_EXCEPTION(zs::InputError, importLabelsCsv(*db, "layer,index,description\n0,1\n", "f.csv"));
    QVERIFY_THROWS_EXCEPTION(zs::InputError, importLabelsCsv(*db, "layer,index,description\n0,1,\"open\n", "f.csv"));
    QVERIFY(listLabels(*db).empty());  // nothing half-imported
    QCOMPARE(importLabelsJsonl(*db, good, "f"), 1);
  }

  // A child writes labels in a loop and reports each confirmed history id on a
  // pipe; we kill -9 it mid-way. Every confirmed label must be there afterwards.
  void confirmedLabelsSurviveKill9() {
    const std::string p = freshPath("crash.db");
    { Db::open(p); }  // schema created before the race
    int fds[2];
    QCOMPARE(pipe(fds), 0);
    pid_t pid = fork();
    QVERIFY(pid >= 0);
    if (pid == 0) {
      close(fds[0]);
      auto db = Db::open(p);
      for (int i = 0;; ++i) {
        Label l = mk(i % 7, i, "label " + std::to_string(i), i % 2 ? "induction" : "other");
        l.notes = std::string(200 + i % 50, 'n');
        auto s = setLabel(*db, l);
        char line[64];
        int len = std::snprintf(line, sizeof line, "%d %lld\n", i, static_cast<long long>(s.historyId));
        if (write(fds[1], line, len) != len) _exit(1);
      }
    }
    close(fds[1]);
    FILE* in = fdopen(fds[0], "r");
    std::vector<std::pair<int, long long>> confirmed;
    int i;
    long long id;
    QElapsedTimer timer;
    timer.start();
    while (confirmed.size() < 150 && std::fscanf(in, "%d %lld", &i, &id) == 2) confirmed.emplace_back(i, id);
    qInfo("150 durable label writes in %lld ms (includes the child's start-up)", static_cast<long long>(timer.elapsed()));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    QVERIFY(WIFSIGNALED(status));
    while (std::fscanf(in, "%d %lld", &i, &id) == 2) confirmed.emplace_back(i, id);  // reported before death
    std::fclose(in);
    QVERIFY(confirmed.size() >= 150);

    auto db = Db::open(p);
    QCOMPARE(QString::fromStdString(db->integrityCheck()), QString("ok"));
    for (auto [n, hid] : confirmed) {
      auto l = getLabel(*db, n % 7, n);
      QVERIFY2(l.has_value(), qPrintable(QString("confirmed label %1 lost").arg(n)));
      QCOMPARE(QString::fromStdString(l->text), QString("label %1").arg(n));
      QCOMPARE(l->historyId, int64_t(hid));
    }
    // No half-written label: every label row has its history row and full notes.
    Stmt s(*db, "SELECT count(*) FROM labels l LEFT JOIN label_history h ON h.id=l.history_id"
                " WHERE h.id IS NULL OR length(l.notes) < 200");
    QVERIFY(s.step());
    QCOMPARE(s.i64(0), int64_t(0));
  }
};

QTEST_MAIN(TestDbLabels)
#include "test_db_labels.moc"
