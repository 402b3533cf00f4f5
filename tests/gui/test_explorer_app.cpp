// The explorer as an application: loads report progress in the status bar and
// can be cancelled without losing what was open; loads are all-or-nothing in
// core; the window layout (geometry, dock visibility, palette) survives a
// restart; File > Export figure writes valid PNG/SVG/PDF/CSV files through its
// dialog and remembers the choices.
#include <QApplication>
#include <QComboBox>
#include <QDockWidget>
#include <QImage>
#include <QLabel>
#include <QLineEdit>
#include <QMenuBar>
#include <QProcess>
#include <QProgressBar>
#include <QSemaphore>
#include <QSignalSpy>
#include <QStatusBar>
#include <QSvgRenderer>
#include <QTimer>
#include <QToolButton>

#include <atomic>
#include <functional>

#include <nlohmann/json.hpp>

#include "app/gui/explorer/explorer_controller.h"
#include "app/gui/explorer/explorer_export.h"
#include "app/gui/explorer/mainwindow.h"
#include "app/gui/settings.h"
#include "app/gui/worker.h"
#include "core/db/builder.h"
#include "core/db/db.h"
#include "core/db/features.h"
#include "core/engine/engine.h"
#include "core/base/error.h"
#include "explorer_fixture.h"
#include "testutil.h"

namespace {

// Runs `fill` on the export dialog as soon as it is shown (it is modal: the
// caller's exec() only returns once the dialog is closed).
void onExportDialog(std::function<void(FigureExportDialog*)> fill) {
  auto* t = new QTimer;
  t->setInterval(20);
  QObject::connect(t, &QTimer::timeout, [t, fill] {
    if (auto* d = qobject_cast<FigureExportDialog*>(QApplication::activeModalWidget())) {
      t->stop();
      t->deleteLater();
      fill(d);
    }
  });
  t->start();
}

QAction* findAction(QWidget* w, const QString& text) {
  for (QAction* a : w->findChildren<QAction*>())
    if (a->text() == text) return a;
  return nullptr;
}

}  // namespace

class TestExplorerApp : public QObject {
  Q_OBJECT
  std::string model_, saeRoot_;

  QString tmp(const QString& name) const { return QString::fromStdString(zs::test::tempDir()) + "/" + name; }

 private Q_SLOTS:
  void initTestCase() {
    QStandardPaths::setTestModeEnabled(true);
    QSettings().clear();
    const std::string shared = zs::test::sharedDir();
    if (shared.empty()) return;
    model_ = shared + "/testdata/tiny-gpt2";
    saeRoot_ = zs::test::tempDir() + "/saes";
    zs::test::writeRandomSae(saeRoot_, 0, 64, 32, 4, 1);
    zs::test::writeRandomSae(saeRoot_, 1, 64, 32, 4, 2);
  }

  // core: stages are reported, cancellation throws Cancelled and keeps the model
  // and SAEs that were loaded; an SAE folder with one bad SAE loads none of them.
  void engineLoadsReportProgressAndAreAllOrNothing() {
    ZS_REQUIRE_SHARED(shared);
    zs::Engine e;
    std::vector<std::pair<double, double>> reports;
    zs::Progress p;
    p.report = [&](double d, double n, const std::string&) { reports.emplace_back(d, n); };
    e.loadModel(model_, "cpu", p);
    QVERIFY(reports.size() >= 3);
    QCOMPARE(reports.back().first, reports.back().second);
    reports.clear();
    QCOMPARE(e.loadSaeTree(saeRoot_, p).size(), size_t(2));
    QCOMPARE(reports.back(), std::make_pair(2.0, 2.0));

    std::atomic<bool> cancel{true};
    zs::Progress c;
    c.cancel = &cancel;
    QVERIFY_THROWS_EXCEPTION(zs::Cancelled, e.loadModel(model_, "cpu", c));
    QVERIFY(e.hasModel());
    QCOMPARE(e.saes().size(), size_t(2));  // a cancelled model load keeps the SAEs too
    QVERIFY_THROWS_EXCEPTION(zs::Cancelled, e.loadSaeTree(saeRoot_, c));
    QCOMPARE(e.saes().size(), size_t(2));
    QVERIFY_THROWS_EXCEPTION(zs::Cancelled, e.openDatabase(model_ + "/config.json", c));

    // A folder of SAEs where layer 1's has the wrong d_in: nothing replaces the loaded SAEs.
    const std::string mixed = zs::test::tempDir() + "/mixed";
    zs::test::writeRandomSae(mixed, 0, 64, 16, 4, 9);
    zs::test::writeRandomSae(mixed, 1, 32, 16, 4, 9);
    QVERIFY_THROWS_EXCEPTION(zs::InputError, e.loadSaeTree(mixed));
    const auto saes = e.saes();
    QCOMPARE(saes.size(), size_t(2));
    QCOMPARE(saes[0].dSae, 32);  // still the first tree's
  }

  // GUI: a load shows the progress bar and Cancel while it runs and takes them
  // down when done; Cancel stops a queued load and what was open stays open.
  void loadsShowProgressAndCanBeCancelled() {
    ZS_REQUIRE_SHARED(shared);
    StartupOptions o;
    o.noDefaultModel = true;
    o.threads = 1;
    MainWindow w(o);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    auto* bar = w.findChild<QProgressBar*>("jobProgress");
    auto* cancel = w.findChild<QToolButton*>("jobCancel");
    QVERIFY(bar && cancel);
    QVERIFY(!w.busy() && bar->isHidden());

    QSignalSpy progress(w.worker(), &Worker::progress);
    QSignalSpy models(&w, &MainWindow::modelChanged);
    w.openModel(QString::fromStdString(model_));
    QVERIFY(w.busy());
    QVERIFY(bar->isVisible() && cancel->isVisible());
    QVERIFY(w.activeJobs().join(' ').contains("tiny-gpt2"));
    QTRY_VERIFY_WITH_TIMEOUT(!w.busy(), 20000);
    QCOMPARE(models.count(), 1);
    QVERIFY(bar->isHidden() && cancel->isHidden());
    QVERIFY(progress.count() >= 3);

    // Hold the worker so the next loads are queued, then cancel them.
    QSemaphore hold, entered;
    w.worker()->post([&](zs::Engine&) {
      entered.release();
      hold.acquire();
    });
    QVERIFY(entered.tryAcquire(1, 10000));
    QSignalSpy saes(&w, &MainWindow::saesChanged);
    w.openSae(QString::fromStdString(saeRoot_));
    w.openModel(QString::fromStdString(model_));
    QCOMPARE(w.activeJobs().size(), 2);
    QTest::mouseClick(cancel, Qt::LeftButton);
    hold.release();
    QTRY_VERIFY_WITH_TIMEOUT(!w.busy(), 20000);
    QCOMPARE(saes.count(), 0);
    QCOMPARE(models.count(), 1);
    QVERIFY(w.statusBar()->currentMessage().contains("cancelled"));
    QVERIFY(w.modelStatus().contains("tiny-gpt2"));

    // A load issued after the cancel runs normally.
    w.openSae(QString::fromStdString(saeRoot_));
    QTRY_VERIFY_WITH_TIMEOUT(!w.busy(), 20000);
    QCOMPARE(saes.count(), 2);
    bool remembered = false;
    for (const auto& f : zs::gui::settings::recentFiles())
      remembered |= f.kind == zs::gui::settings::RecentKind::Model && f.path == QFileInfo(QString::fromStdString(model_)).absoluteFilePath();
    QVERIFY(remembered);
  }

  // Geometry, dock visibility and the palette are remembered across restarts.
  void layoutIsRestoredAfterRestart() {
    QSettings().remove("window");
    StartupOptions o;
    o.noDefaultModel = true;
    QSize saved;
    {
      MainWindow w(o);
      w.show();
      QVERIFY(QTest::qWaitForWindowExposed(&w));
      w.resize(1010, 707);
      auto* dfa = w.findChild<QDockWidget*>("dfaDock");
      auto* dash = w.findChild<QDockWidget*>("dashboardDock");
      QVERIFY(dfa && dash);
      QVERIFY(dfa->isVisible());
      dfa->hide();
      dash->setFloating(true);
      w.setDarkPalette(true);
      QTRY_COMPARE(w.width(), 1010);  // (the height may be raised to the docks' minimum)
      saved = w.size();
      QVERIFY(w.close());
    }
    QVERIFY(!QSettings().value("window/state").toByteArray().isEmpty());
    {
      MainWindow w(o);
      w.show();
      QVERIFY(QTest::qWaitForWindowExposed(&w));
      QTRY_COMPARE(w.size(), saved);  // not the default 1400 x 900
      QVERIFY(w.findChild<QDockWidget*>("dfaDock")->isHidden());
      QVERIFY(w.findChild<QDockWidget*>("dashboardDock")->isFloating());
      QVERIFY(w.findChild<QDockWidget*>("headsDock")->isVisible());
      QVERIFY(findAction(&w, "&Dark palette")->isChecked());
      w.setDarkPalette(false);
      w.close();
    }
    QSettings().remove("window");
  }

  // File > Export figure > Head attribution…: each format through the dialog,
  // a failed export keeps the dialog open with the error, choices are remembered.
  void exportDialogWritesEveryFormat() {
    ZS_REQUIRE_SHARED(shared);
    StartupOptions o;
    o.model = QString::fromStdString(model_);
    o.saes = {QString::fromStdString(saeRoot_)};
    o.threads = 1;
    o.prompt = "the cat sat on the mat. the cat sat";
    MainWindow w(o);
    w.resize(1200, 800);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    QTRY_VERIFY_WITH_TIMEOUT(!w.busy() && !w.explorer()->analysis().tokens.empty(), 20000);
    QAction* act = findAction(&w, "Head attribution…");
    QVERIFY(act);

    // PNG at 192 DPI: twice the logical size in pixels.
    const QString png = tmp("heads.png");
    onExportDialog([&](FigureExportDialog* d) {
      d->setFile(png);
      d->setFigureSize(QSize(400, 300));
      d->setDpi(192);
      d->accept();
    });
    act->trigger();
    QImage img(png);
    QVERIFY(!img.isNull());
    QCOMPARE(img.size(), QSize(800, 600));
    QCOMPARE(QSettings().value("export/dpi").toInt(), 192);

    // The format box sets the suffix; SVG, PDF and CSV come out valid.
    for (const QString suffix : {QString("svg"), QString("pdf"), QString("csv")}) {
      onExportDialog([&](FigureExportDialog* d) {
        QCOMPARE(d->dpi(), 192);  // remembered
        QCOMPARE(d->figureSize(), QSize(400, 300));
        QVERIFY(d->file().startsWith(tmp("")));  // the last folder
        d->setFile(tmp("heads.png"));
        d->formatBox()->setCurrentIndex(d->formatBox()->findData(suffix));
        QCOMPARE(d->file(), tmp("heads." + suffix));
        d->accept();
      });
      act->trigger();
      QFile f(tmp("heads." + suffix));
      QVERIFY2(f.open(QIODevice::ReadOnly), qPrintable(suffix));
      const QByteArray bytes = f.readAll();
      if (suffix == "svg") QVERIFY(QSvgRenderer(bytes).isValid());
      if (suffix == "pdf") QVERIFY(bytes.startsWith("%PDF-") && bytes.trimmed().endsWith("%%EOF"));
      if (suffix == "csv") {
        const QStringList lines = QString::fromUtf8(bytes).split('\n', Qt::SkipEmptyParts);
        QCOMPARE(lines.size(), 3);  // header + one row per layer of tiny-gpt2
        QCOMPARE(lines[1].split(',').size(), 5);  // row label + 4 heads
      }
    }

    // A folder that does not exist: the dialog stays open and says why.
    bool stayedOpen = false;
    QString shown;
    onExportDialog([&](FigureExportDialog* d) {
      d->setFile("/nonexistent-zscope-dir/heads.png");
      d->accept();
      stayedOpen = d->isVisible();
      shown = d->findChild<QLabel*>("exportError")->text();
      d->reject();
    });
    act->trigger();
    QVERIFY(stayedOpen);
    QVERIFY2(shown.contains("nonexistent-zscope-dir"), qPrintable(shown));
    QVERIFY(!QFile::exists("/nonexistent-zscope-dir/heads.png"));
  }

  // A feature database records its SAEs' fingerprints; the engine refuses to show
  // it against other SAEs (other d_sae, or the same shape with other weights).
  void databaseOfOtherSaesIsRefused() {
    ZS_REQUIRE_SHARED(shared);
    const std::string dir = zs::test::tempDir() + "/dbcheck";
    const zs::db::BuildOptions o = zs::test::smallDbOptions(
        model_, {saeRoot_ + "/blocks.0.attn.hook_z", saeRoot_ + "/blocks.1.attn.hook_z"}, dir, 600, 2);
    QVERIFY(zs::db::buildFeatureDb(o).completed);
    {
      auto db = zs::db::Db::open(o.out);
      QCOMPARE(zs::db::dbInfo(*db).saeFingerprints.size(), size_t(2));
    }
    zs::Engine e;
    e.loadModel(model_, "cpu");
    e.loadSaeTree(saeRoot_);
    e.openDatabase(o.out);  // its own SAEs: fine
    QVERIFY(e.hasDatabase());
    // Same shapes, other weights (seed 5): refused, naming the layer.
    zs::Engine other;
    other.loadModel(model_, "cpu");
    zs::test::writeRandomSae(dir + "/other", 0, 64, 32, 4, 5);
    other.loadSaeTree(dir + "/other");
    try {
      other.openDatabase(o.out);
      QFAIL("opened a database of other SAEs");
    } catch (const zs::InputError& err) {
      QVERIFY2(std::string(err.what()).find("other SAEs") != std::string::npos, err.what());
      QVERIFY2(std::string(err.what()).find("layer 0") != std::string::npos, err.what());
    }
    QVERIFY(!other.hasDatabase());
    // Another d_sae: refused too.
    zs::Engine wide;
    wide.loadModel(model_, "cpu");
    zs::test::writeRandomSae(dir + "/wide", 1, 64, 48, 4, 2);
    wide.loadSaeTree(dir + "/wide");
    QVERIFY_THROWS_EXCEPTION(zs::InputError, wide.openDatabase(o.out));
  }

  // zscope --bench-latency N prints the Ctrl+Enter latency percentiles as JSON and quits.
  void benchLatencyPrintsJson() {
    ZS_REQUIRE_SHARED(shared);
    const QString gui = qEnvironmentVariable("ZSCOPE_GUI");
    if (gui.isEmpty()) QSKIP("ZSCOPE_GUI is not set (run through ctest)");
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert("XDG_CONFIG_HOME", tmp("xdg-config"));  // keep the user's settings out of it
    env.insert("XDG_DATA_HOME", tmp("xdg-data"));
    env.insert("QT_QPA_PLATFORM", "offscreen");
    auto run = [&](const QStringList& args, QByteArray* out, QByteArray* err) {
      QProcess p;
      p.setProcessEnvironment(env);
      p.start(gui, args);
      if (!p.waitForFinished(120000)) {
        p.kill();
        return -1;
      }
      *out = p.readAllStandardOutput();
      *err = p.readAllStandardError();
      return p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
    };
    QByteArray out, err;
    const int rc = run({"--model", QString::fromStdString(model_), "--sae", QString::fromStdString(saeRoot_),
                        "--threads", "1", "--prompt", "the cat sat on the mat", "--bench-latency", "3"},
                       &out, &err);
    QVERIFY2(rc == 0, err.constData());
    const auto j = nlohmann::json::parse(out.toStdString());
    QCOMPARE(j["iters"].get<int>(), 3);
    QVERIFY(j["tokens"].get<int>() > 3);
    QVERIFY(j["request_to_screen_ms"]["p50"].get<double>() > 0);
    QVERIFY(j["request_to_screen_ms"]["p50"].get<double>() >= j["worker_ms"]["p50"].get<double>() * 0.5);
    QCOMPARE(run({"--bench-latency", "0"}, &out, &err), 2);
    QVERIFY(err.contains("--bench-latency"));
  }

  // Without a display (a server, CI): --help and --version still answer, and starting the window says
  // why it cannot instead of failing in Qt's platform plugin.
  void withoutADisplayItSaysSo() {
    const QString gui = qEnvironmentVariable("ZSCOPE_GUI");
    if (gui.isEmpty()) QSKIP("ZSCOPE_GUI is not set (run through ctest)");
#if !defined(__linux__)
    QSKIP("the display variables are Linux's");
#endif
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    for (const char* v : {"QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"}) env.remove(v);
    env.insert("XDG_CONFIG_HOME", tmp("xdg-config-nodisplay"));
    env.insert("XDG_DATA_HOME", tmp("xdg-data-nodisplay"));
    auto run = [&](const QStringList& args, QByteArray* out) {
      QProcess p;
      p.setProcessEnvironment(env);
      p.setProcessChannelMode(QProcess::MergedChannels);
      p.start(gui, args);
      if (!p.waitForFinished(60000)) {
        p.kill();
        return -1;
      }
      *out = p.readAll();
      return p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
    };
    QByteArray out;
    QCOMPARE(run({"--help"}, &out), 0);
    QVERIFY2(out.contains("--export-figure"), out.constData());
    QCOMPARE(run({"--version"}, &out), 0);
    QVERIFY2(out.contains("0.1"), out.constData());
    QCOMPARE(run({"--prompt", "hello"}, &out), 1);
    QVERIFY2(out.contains("no display") && out.contains("xvfb-run"), out.constData());
  }
};

QTEST_MAIN(TestExplorerApp)
#include "test_explorer_app.moc"
