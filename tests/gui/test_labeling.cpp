// Labeling session mode driven by the keyboard: keys write the expected labels
// to the database, Ctrl+Z undoes the last one (across features), Tab defers,
// and a new panel on the same database resumes the queue where it stopped.
#include <QCheckBox>
#include <QLineEdit>
#include <QTextBrowser>
#include <QUndoStack>

#include "app/gui/labeling/labeling_panel.h"
#include "app/gui/labeling/labeling_start.h"
#include "app/gui/settings.h"
#include "core/db/db.h"
#include "core/db/features.h"
#include "core/db/labels.h"
#include "core/db/sessions.h"
#include "testutil.h"
#include "widgets/labeling_dashboard.h"
#include "widgets/labeling_form.h"

using namespace zs;

namespace {

// 20 features on layer 0; every 4th is dead. Feature 3.. gets a top example.
std::string makeDb(const std::string& name) {
  const std::string file = zs::test::tempDir() + "/" + name;
  auto db = db::Db::open(file);
  db->transaction([&] {
    for (int f = 0; f < 20; ++f) {
      db::FeatureStats s;
      s.layer = 0;
      s.feature = f;
      s.dead = f % 4 == 0;
      s.tokens = 1000;
      s.fireCount = s.dead ? 0 : 10 + f;
      s.density = s.fireCount / 1000.0;
      s.maxActivation = s.dead ? 0 : 1.0 + f;
      s.headAttribution = {0.25f, 0.25f, 0.25f, 0.25f};
      db::writeStats(*db, s);
      if (!s.dead) {
        db::FeatureExample e;
        e.activation = static_cast<float>(s.maxActivation);
        e.maxPos = 2;
        e.tokenIds = {0, 1, 2};
        e.tokens = {"<bos>", "The", "\u00b7cat"};
        e.activations = {0.f, 0.5f, e.activation};
        db::writeExample(*db, 0, f, e);
      }
    }
  });
  return file;
}

void typeLabel(QLineEdit* edit, Qt::Key familyKey, const QString& text) {
  QTest::keyClick(edit, familyKey);
  if (!text.isEmpty()) QTest::keyClicks(edit, text);
  QTest::keyClick(edit, Qt::Key_Return);
}

}  // namespace

class TestLabeling : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase() { QStandardPaths::setTestModeEnabled(true); }

  void keysWriteLabelsUndoAndResume() {
    const std::string file = makeDb("keys.zscope.db");
    auto check = db::Db::open(file);
    std::vector<int64_t> live;
    for (int f = 0; f < 20; ++f)
      if (f % 4) live.push_back(f);
    const auto expected = db::sampleFeatures(live, 5, 7);  // the queue the session must use

    std::vector<int64_t> order;
    {
      gui::LabelingPanel panel;
      panel.resize(1000, 600);
      panel.show();
      QVERIFY2(panel.openDatabase(QString::fromStdString(file)), qPrintable(panel.lastError()));
      QVERIFY(!panel.hasSession());
      QVERIFY2(panel.startSession(0, 5, 7), qPrintable(panel.lastError()));
      QCOMPARE(panel.progressText(), QStringLiteral("0 / 5"));
      QLineEdit* edit = panel.form()->labelEdit();
      QCOMPARE(panel.currentItem()->feature, expected[0]);

      // Feature 1: key 2 = local context, then the text, Enter.
      typeLabel(edit, Qt::Key_2, QStringLiteral("previous token is 'the'"));
      auto l0 = db::getLabel(*check, 0, expected[0]);
      QVERIFY(l0);
      QCOMPARE(QString::fromStdString(l0->text), QStringLiteral("previous token is 'the'"));
      QCOMPARE(l0->family, std::string("local context"));
      QCOMPARE(panel.progressText(), QStringLiteral("1 / 5"));
      QCOMPARE(panel.currentItem()->feature, expected[1]);
      QVERIFY(edit->text().isEmpty());

      // Feature 2: key 1 picks induction; digits typed after text are text.
      typeLabel(edit, Qt::Key_1, QStringLiteral("induction 3rd"));
      auto l1 = db::getLabel(*check, 0, expected[1]);
      QVERIFY(l1);
      QCOMPARE(QString::fromStdString(l1->text), QStringLiteral("induction 3rd"));
      QCOMPARE(l1->family, std::string("induction"));
      QCOMPARE(panel.currentItem()->feature, expected[2]);

      // Enter with no family chosen saves nothing.
      QTest::keyClicks(edit, QStringLiteral("x"));
      QTest::keyClick(edit, Qt::Key_Return);
      QVERIFY(!db::getLabel(*check, 0, expected[2]));
      QCOMPARE(panel.currentItem()->feature, expected[2]);
      edit->clear();

      // Tab defers feature 3 to the end of the queue.
      QTest::keyClick(edit, Qt::Key_Tab);
      QCOMPARE(panel.currentItem()->feature, expected[3]);
      QVERIFY(!db::getLabel(*check, 0, expected[2]));

      // Ctrl+Z undoes the last label (feature 2) although we moved on twice.
      QTest::keyClick(edit, Qt::Key_Z, Qt::ControlModifier);
      QVERIFY(!db::getLabel(*check, 0, expected[1]));
      QVERIFY(db::getLabel(*check, 0, expected[0]));
      QCOMPARE(panel.currentItem()->feature, expected[1]);
      QCOMPARE(edit->text(), QStringLiteral("induction 3rd"));  // back in the form, ready to fix
      QCOMPARE(panel.form()->family(), QStringLiteral("induction"));
      QCOMPARE(panel.progressText(), QStringLiteral("1 / 5"));

      // Redo writes it again; undo once more, then save an edited label.
      QTest::keyClick(edit, Qt::Key_Z, Qt::ControlModifier | Qt::ShiftModifier);
      QCOMPARE(QString::fromStdString(db::getLabel(*check, 0, expected[1])->text), QStringLiteral("induction 3rd"));
      QTest::keyClick(edit, Qt::Key_Z, Qt::ControlModifier);
      QVERIFY(!db::getLabel(*check, 0, expected[1]));
      QTest::keyClicks(edit, QStringLiteral(" (fixed)"));
      QTest::keyClick(edit, Qt::Key_Return);
      QCOMPARE(QString::fromStdString(db::getLabel(*check, 0, expected[1])->text),
               QStringLiteral("induction 3rd (fixed)"));
      QCOMPARE(panel.progressText(), QStringLiteral("2 / 5"));
      order.push_back(panel.currentItem()->feature);
      QCOMPARE(order[0], expected[3]);  // the deferred one comes after the rest
    }  // "closing the app": the panel and its connection go away

    {
      gui::LabelingPanel panel;
      panel.show();
      QVERIFY(panel.openDatabase(QString::fromStdString(file)));
      QVERIFY(panel.hasSession());
      QCOMPARE(panel.currentItem()->feature, order[0]);
      QCOMPARE(panel.progressText(), QStringLiteral("2 / 5"));
      QLineEdit* edit = panel.form()->labelEdit();
      typeLabel(edit, Qt::Key_5, {});  // uninterpretable, no text needed
      QCOMPARE(db::getLabel(*check, 0, expected[3])->family, std::string("uninterpretable"));
      QCOMPARE(panel.currentItem()->feature, expected[4]);
      typeLabel(edit, Qt::Key_3, QStringLiteral("legal documents"));
      QCOMPARE(panel.currentItem()->feature, expected[2]);  // the deferred one
      typeLabel(edit, Qt::Key_4, QStringLiteral("mostly commas"));
      QVERIFY(panel.sessionComplete());
      QCOMPARE(panel.progressText(), QStringLiteral("5 / 5"));

      // 4 of 5 interpretable; Wilson 95% interval for 4/5 = [0.3755, 0.9638].
      const auto r = panel.report();
      QCOMPARE(r.labeled, int64_t(5));
      QCOMPARE(r.interpretable.k, int64_t(4));
      QVERIFY(std::abs(r.interpretable.lo - 0.3755) < 1e-3);
      QVERIFY(std::abs(r.interpretable.hi - 0.9638) < 1e-3);
      auto* view = panel.findChild<QTextBrowser*>(QStringLiteral("labelingReport"));
      QVERIFY(view && view->toPlainText().contains(QStringLiteral("interpretable")));

      const QString csv = QString::fromStdString(zs::test::tempDir()) + "/labels.csv";
      QVERIFY2(panel.exportLabels(csv), qPrintable(panel.lastError()));
      QFile f(csv);
      QVERIFY(f.open(QIODevice::ReadOnly));
      const QString all = QString::fromUtf8(f.readAll());
      QCOMPARE(all.count(QLatin1Char('\n')) >= 6, true);  // header + 5 labels
      QVERIFY(all.contains(QStringLiteral("legal documents")));
    }
    QCOMPARE(QString::fromStdString(check->integrityCheck()), QStringLiteral("ok"));
  }

  // "Blind" hides the database's family suggestion from the dashboard (the paper-style measurement),
  // shows it again when unticked, and is remembered.
  void blindHidesTheSuggestion() {
    const std::string file = makeDb("blind.zscope.db");
    {
      auto db = db::Db::open(file);
      for (int f = 0; f < 20; ++f) {
        auto s = db::readStats(*db, 0, f);
        QVERIFY(s);
        s->family = "local context";
        db::writeStats(*db, *s);
      }
    }
    gui::settings::labelingBlind.set(false);
    gui::LabelingPanel panel;
    panel.resize(1000, 600);
    panel.show();
    QVERIFY2(panel.openDatabase(QString::fromStdString(file)), qPrintable(panel.lastError()));
    QVERIFY2(panel.startSession(0, 3, 1), qPrintable(panel.lastError()));
    auto* dash = panel.findChild<gui::LabelingDashboard*>();
    auto* blind = panel.findChild<QCheckBox*>("labelingBlind");
    QVERIFY(dash && blind && !blind->isChecked());
    QTRY_VERIFY_WITH_TIMEOUT(dash->titleText().contains("suggested family: local context"), 10000);
    blind->setChecked(true);
    QVERIFY(!dash->titleText().contains("suggested"));
    QVERIFY(dash->titleText().contains(QString("F%1").arg(panel.currentItem()->feature)));
    QVERIFY(gui::settings::labelingBlind.get());
    // The next feature's dashboard comes blind too.
    typeLabel(panel.form()->labelEdit(), Qt::Key_5, QString());
    QTRY_VERIFY_WITH_TIMEOUT(dash->titleText().contains(QString("F%1").arg(panel.currentItem()->feature)), 10000);
    QVERIFY(!dash->titleText().contains("suggested"));
    blind->setChecked(false);
    QVERIFY(dash->titleText().contains("suggested family: local context"));
    QVERIFY(!gui::settings::labelingBlind.get());
  }

  void listSessionAndErrors() {
    const std::string file = makeDb("list.zscope.db");
    gui::LabelingPanel panel;
    QVERIFY(!panel.openDatabase(QString::fromStdString(zs::test::tempDir() + "/missing.db")));
    QVERIFY(!panel.lastError().isEmpty());
    QVERIFY(panel.openDatabase(QString::fromStdString(file)));
    QVERIFY(!panel.startSession(3, 5, 1));  // no features built for layer 3
    QVERIFY(panel.lastError().contains(QStringLiteral("layer 3")));
    std::vector<int64_t> ids;
    QString bad;
    QVERIFY(gui::parseFeatureList(QStringLiteral("9, 5 ;11\n5"), ids, &bad));
    QCOMPARE(ids, (std::vector<int64_t>{9, 5, 11, 5}));
    QVERIFY(!gui::parseFeatureList(QStringLiteral("9 x"), ids, &bad));
    QCOMPARE(bad, QStringLiteral("x"));
    QVERIFY(panel.startSessionWithList(0, {9, 5, 11, 5}));
    QCOMPARE(panel.progressText(), QStringLiteral("0 / 3"));
    QCOMPARE(panel.currentItem()->feature, int64_t(9));
    panel.skip();
    QCOMPARE(panel.currentItem()->feature, int64_t(5));
    QCOMPARE(panel.progressText(), QStringLiteral("1 / 3"));
  }
};

QTEST_MAIN(TestLabeling)
#include "test_labeling.moc"
