// The tool panels inside the real main window: train SAEs from the training
// dock, see them load into the explorer's worker, build their feature database
// from the same dock, and label a few features in the labeling dock on it.
// With ZSCOPE_SCREENSHOT_DIR set (docs/images; run under xvfb-run -a with
// QT_QPA_PLATFORM=xcb) it also renders the docs' screenshots training.png
// and labeling.png, with a longer run for nicer curves, on the shipped default
// model when ZSCOPE_DATA_DIR has it (else on tiny-gpt2).
#include <QDockWidget>
#include <QFileInfo>
#include <QLineEdit>

#include <fstream>

#include "app/gui/labeling/labeling_panel.h"
#include "app/gui/explorer/mainwindow.h"
#include "app/gui/manager/manager_panel.h"
#include "app/gui/training/training_panel.h"
#include "core/db/db.h"
#include "core/db/labels.h"
#include "core/base/runtime.h"
#include "testutil.h"
#include "widgets/labeling_form.h"
#include "widgets/training_form.h"

using namespace zs::gui;

namespace {

QString corpusFile() {
  // The project's corpus when present (real text for the screenshots), else a small one.
  const char* data = std::getenv("ZSCOPE_DATA_DIR");
  const QString real = QString::fromUtf8(data ? data : "") + "/corpus/out/train.jsonl";
  if (data && QFileInfo::exists(real)) return real;
  const std::string path = zs::test::tempDir() + "/corpus.txt";
  std::ofstream f(path);
  for (int i = 0; i < 300; ++i)
    f << "The cat sat on the mat. When Mary and John went to the store, John gave a drink to Mary.\n";
  return QString::fromStdString(path);
}

void shoot(QDockWidget* dock, const QString& name) {
  const QString dir = qEnvironmentVariable("ZSCOPE_SCREENSHOT_DIR");
  if (dir.isEmpty()) return;
  // The panel on its own, floated to a readable size (in the window it shares a column with other docks).
  dock->setFloating(true);
  dock->resize(1400, 720);
  dock->show();
  dock->raise();
  QTest::qWait(600);  // let the layout settle and the plots replot
  QVERIFY(dock->grab().save(dir + "/" + name, "PNG"));
  qInfo("wrote %s", qPrintable(dir + "/" + name));
  dock->setFloating(false);
}

}  // namespace

class TestTrainingApp : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase() {
    QStandardPaths::setTestModeEnabled(true);
    zs::runtime::setThreads(1);  // see test_training: no OpenMP spinning on a loaded machine
  }

  void trainLoadBuildLabelInMainWindow() {
    ZS_REQUIRE_SHARED(shared);
    const bool screenshots = !qEnvironmentVariableIsEmpty("ZSCOPE_SCREENSHOT_DIR");
    QString model = QString::fromStdString(shared + "/testdata/tiny-gpt2");
    int nLayer = 2;
    const QString shipped = qEnvironmentVariable("ZSCOPE_DATA_DIR") + "/models/zscope-4l";
    if (screenshots && QFileInfo::exists(shipped + "/config.json")) {
      model = shipped;  // real English in the screenshots
      nLayer = 4;
    }
    StartupOptions o;
    o.model = model;
    o.device = "cpu";
    MainWindow w(o);
    w.resize(1500, 980);
    w.show();
    auto* training = w.findChild<TrainingPanel*>();
    auto* labeling = w.findChild<LabelingPanel*>();
    auto* manager = w.findChild<ManagerPanel*>();
    QVERIFY(training && labeling && manager);
    QVERIFY(w.findChild<QDockWidget*>("dock_training"));

    // The panels learn the model from the worker.
    QTRY_VERIFY_WITH_TIMEOUT(!training->form()->request().modelDir.isEmpty(), 30000);
    QCOMPARE(manager->model().nLayer, nLayer);

    TrainingRequest r = training->form()->request();
    std::vector<int64_t> all(static_cast<size_t>(nLayer));
    for (int l = 0; l < nLayer; ++l) all[static_cast<size_t>(l)] = l;
    QCOMPARE(r.layers, all);  // every layer by default
    r.layers = {0, 1};
    r.dSae = 256;
    r.batch = 256;
    r.tokens = screenshots ? 256 * 600 : 256 * 60;
    r.context = 32;
    r.device = "cpu";
    r.corpus = corpusFile();
    r.outDir = QString::fromStdString(zs::test::tempDir()) + "/app-run";
    training->form()->setRequest(r);
    QVERIFY(training->start());
    // An explicit loop: QTRY_* with a timeout of minutes misbehaved under load here.
    for (int i = 0; i < (screenshots ? 600 : 120) && training->state() == TrainingPanel::State::Running; ++i)
      QTest::qWait(500);
    QVERIFY2(training->state() == TrainingPanel::State::Done, qPrintable(training->lastError()));
    qInfo("trained");

    // The trained SAEs are now the explorer's SAEs (the worker reports both).
    // (The default model starts with its four shipped SAEs; the two trained ones replace layers 0 and 1.)
    QTRY_COMPARE_WITH_TIMEOUT(manager->loadedSaes().size(), nLayer == 4 ? 4 : 2, 30000);
    QTRY_COMPARE_WITH_TIMEOUT(manager->loadedSaes().join("\n").count("app-run"), 2, 30000);
    shoot(w.findChild<QDockWidget*>("dock_training"), "training.png");

    // Feature database from the training dock; it opens in the labeling dock.
    training->setDatabaseTokens(screenshots ? 60000 : 4000);
    QVERIFY(training->buildDatabase());
    QTRY_VERIFY_WITH_TIMEOUT(training->databaseBuilt(), 120000);
    QTRY_COMPARE_WITH_TIMEOUT(labeling->databaseFile(), training->databaseFile(), 30000);
    qInfo("database built and opened");

    QVERIFY2(labeling->startSession(1, 12, 1), qPrintable(labeling->lastError()));
    QLineEdit* edit = labeling->form()->labelEdit();
    const std::pair<Qt::Key, QString> labels[] = {{Qt::Key_2, "after 'the'"},
                                                  {Qt::Key_5, ""},
                                                  {Qt::Key_3, "names in a story"}};
    for (const auto& [key, text] : labels) {
      QTest::keyClick(edit, key);
      QTest::keyClicks(edit, text);
      QTest::keyClick(edit, Qt::Key_Return);
    }
    QCOMPARE(labeling->progressText(), QStringLiteral("3 / 12"));
    auto db = zs::db::Db::open(training->databaseFile().toStdString());
    QCOMPARE(zs::db::listLabels(*db, 1).size(), size_t(3));
    QTest::keyClick(edit, Qt::Key_1);
    QTest::keyClicks(edit, QStringLiteral("copies the token after"));  // mid-typing in the screenshot
    shoot(w.findChild<QDockWidget*>("dock_labeling"), "labeling.png");
  }
};

QTEST_MAIN(TestTrainingApp)
#include "test_training_app.moc"
