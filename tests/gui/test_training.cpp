// The training panel: a short run on the tiny model produces curve points (as
// many as metrics.jsonl has lines), pause + resume continues from the
// checkpoint, the trained SAE loads through the GUI's engine, and "Build
// feature database" builds a database for it.
#include <QElapsedTimer>
#include <QFile>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFileInfo>
#include <QImage>
#include <QSettings>
#include <QSpinBox>
#include <fstream>

#include "app/gui/sweep_figure.h"
#include "app/gui/training/training_panel.h"
#include "core/db/db.h"
#include "core/db/features.h"
#include "core/engine/engine.h"
#include "core/base/runtime.h"
#include "testutil.h"
#include "widgets/curve_plot.h"
#include "widgets/density_histogram.h"
#include "widgets/pareto_plot.h"
#include "widgets/training_form.h"

#include <nlohmann/json.hpp>

using namespace zs::gui;

namespace {

std::string writeCorpus() {
  const std::string path = zs::test::tempDir() + "/corpus.txt";
  std::ofstream f(path);
  const char* words[] = {"the", "cat", "sat", "on", "a", "mat", "and", "dog", "ran", "to", "house", "big", "red"};
  uint32_t s = 12345;
  for (int line = 0; line < 400; ++line) {
    for (int w = 0; w < 12; ++w) {
      s = s * 1664525u + 1013904223u;
      f << words[(s >> 16) % 13] << (w == 11 ? ".\n" : " ");
    }
  }
  return path;
}

// Lines of one kind in metrics.jsonl (an independent count of curve points).
int countLines(const QString& file, const std::string& kind, const std::string& key = {}) {
  QFile f(file);
  if (!f.open(QIODevice::ReadOnly)) return -1;
  int n = 0;
  while (!f.atEnd()) {
    auto j = nlohmann::json::parse(f.readLine().toStdString(), nullptr, false);
    if (j.is_object() && j.value("kind", "") == kind && (key.empty() || (j.contains(key) && j[key].is_number()))) ++n;
  }
  return n;
}

}  // namespace

class TestTraining : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase() {
    QStandardPaths::setTestModeEnabled(true);
    // One intra-op thread: the tiny model gains nothing from more, and on a
    // loaded 2-core machine spinning OpenMP workers slow every step down
    // (measured: 68 s with 2 threads under load vs 2.4 s with 1).
    zs::runtime::setThreads(1);
  }

  void shortRunPauseResumeLoadAndBuildDb() {
    ZS_REQUIRE_SHARED(shared);
    const QString model = QString::fromStdString(shared + "/testdata/tiny-gpt2");
    TrainingPanel panel;
    panel.resize(1100, 700);
    panel.show();
    panel.setModel(model, 2, 64, 64);
    TrainingRequest r = panel.form()->request();
    QCOMPARE(r.layers, (std::vector<int64_t>{0, 1}));  // defaults from the model
    r.layers = {1};
    r.dSae = 128;
    r.batch = 128;
    r.tokens = 128 * 120;
    r.context = 32;
    r.seed = 3;
    r.device = "cpu";
    r.corpus = QString::fromStdString(writeCorpus());
    r.outDir = QString::fromStdString(zs::test::tempDir()) + "/run";
    panel.form()->setRequest(r);
    QVERIFY(panel.form()->validate().isEmpty());

    QElapsedTimer clock;
    clock.start();
    QVERIFY(panel.start());
    QCOMPARE(panel.state(), TrainingPanel::State::Running);
    // Pause as soon as the first curve points are drawn, then resume.
    QTRY_VERIFY_WITH_TIMEOUT(panel.plot()->pointCount("loss") > 0 || panel.state() != TrainingPanel::State::Running,
                             60000);
    panel.pause();
    QTRY_VERIFY_WITH_TIMEOUT(panel.state() != TrainingPanel::State::Running, 60000);
    QVERIFY2(panel.state() == TrainingPanel::State::Paused, qPrintable(panel.lastError()));
    QVERIFY(QFileInfo::exists(r.outDir + "/checkpoint"));
    const int pointsAtPause = panel.plot()->pointCount("loss");
    QVERIFY(panel.resume());
    QTRY_VERIFY_WITH_TIMEOUT(panel.state() != TrainingPanel::State::Running, 120000);
    QVERIFY2(panel.state() == TrainingPanel::State::Done, qPrintable(panel.lastError()));
    panel.plot()->flush();
    qInfo("training: %lld ms", static_cast<long long>(clock.restart()));

    // Every train line of metrics.jsonl is a point of the loss / L0 / EV / dead curves;
    // every eval line one of CE loss recovered.
    const QString metrics = r.outDir + "/metrics.jsonl";
    const int trainLines = countLines(metrics, "train");
    QCOMPARE(countLines(metrics, "resume"), 1);  // continued from the checkpoint, not restarted
    QVERIFY(trainLines > pointsAtPause);
    QVERIFY(trainLines >= 10);
    QCOMPARE(panel.plot()->pointCount("loss"), trainLines);
    QCOMPARE(panel.plot()->pointCount("l0"), trainLines);
    QCOMPARE(panel.plot()->pointCount("dead_fraction"), trainLines);
    QCOMPARE(panel.plot()->pointCount("ce_loss_recovered"), countLines(metrics, "eval", "ce_loss_recovered"));
    QVERIFY(panel.plot()->pointCount("ce_loss_recovered") >= 1);
    const double ev = panel.plot()->lastValue("explained_variance", 1);
    QVERIFY(ev > 0 && ev <= 1.0);

    // The trained SAE loads through the engine the explorer uses.
    QCOMPARE(panel.saeDirs().size(), 1);
    zs::Engine engine;
    engine.loadModel(model.toStdString(), "cpu");
    const zs::SaeInfo info = engine.loadSae(panel.saeDirs().first().toStdString());
    QCOMPARE(info.layer, 1);
    QCOMPARE(info.dSae, int64_t(128));
    QCOMPARE(info.dIn, int64_t(64));

    // Feature database for it, from the same panel.
    panel.setDatabaseTokens(2000);
    QVERIFY(panel.buildDatabase());
    QTRY_VERIFY_WITH_TIMEOUT(panel.databaseBuilt(), 120000);
    qInfo("build-db: %lld ms", static_cast<long long>(clock.restart()));
    auto db = zs::db::Db::open(panel.databaseFile().toStdString());
    const auto dbi = zs::db::dbInfo(*db);
    QCOMPARE(dbi.layers, (std::vector<int>{1}));
    QCOMPARE(zs::db::readLayerStats(*db, 1).size(), size_t(128));
  }

  // Choosing topk with k = 6 in the panel trains a TopK SAE: its saved cfg says
  // topk with k 6, its held-out L0 is 6; the live density histogram receives
  // per-layer counts (dead included) that sum to d_sae; the choice is remembered.
  void topkFromThePanelAndDensityHistogram() {
    ZS_REQUIRE_SHARED(shared);
    QSettings().remove("training");
    const QString model = QString::fromStdString(shared + "/testdata/tiny-gpt2");
    {
      TrainingPanel panel;
      panel.setModel(model, 2, 64, 64);
      // New users get train-sae's default architecture and k.
      QCOMPARE(panel.form()->request().architecture, QString::fromStdString(zs::TrainSaeParams{}.architecture));
      QCOMPARE(panel.form()->request().k, zs::TrainSaeParams{}.k);
      panel.form()->architectureBox()->setCurrentText("jumprelu");
      QVERIFY(panel.form()->l0Box()->isEnabled() && !panel.form()->kBox()->isEnabled());
      panel.form()->architectureBox()->setCurrentText("topk");
      QVERIFY(panel.form()->kBox()->isEnabled());
      QVERIFY(!panel.form()->l0Box()->isEnabled());
      QVERIFY(!panel.form()->l1Box()->isEnabled());
      panel.form()->kBox()->setValue(6);
      TrainingRequest r = panel.form()->request();
      QCOMPARE(r.architecture, QString("topk"));
      QCOMPARE(r.k, int64_t(6));
      r.layers = {0};
      r.dSae = 96;
      r.batch = 128;
      r.tokens = 128 * 60;
      r.context = 32;
      r.device = "cpu";
      r.corpus = QString::fromStdString(writeCorpus());
      r.outDir = QString::fromStdString(zs::test::tempDir()) + "/topk";
      panel.form()->setRequest(r);
      r.k = 200;  // more than d_sae: refused by the form
      panel.form()->setRequest(r);
      QVERIFY(panel.form()->validate().contains("d_sae"));
      r.k = 6;
      panel.form()->setRequest(r);
      QVERIFY(panel.form()->validate().isEmpty());
      QVERIFY(panel.start());
      QTRY_VERIFY_WITH_TIMEOUT(panel.state() != TrainingPanel::State::Running, 120000);
      QVERIFY2(panel.state() == TrainingPanel::State::Done, qPrintable(panel.lastError()));
      QCOMPARE(panel.saeDirs().size(), 1);
      QFile cfgFile(panel.saeDirs().first() + "/cfg.json");
      QVERIFY(cfgFile.open(QIODevice::ReadOnly));
      const auto cfg = nlohmann::json::parse(cfgFile.readAll().toStdString());
      // SAELens's flat layout writes TopK as activation_fn_str "topk" (architecture
      // "standard"); its v6 layout as architecture "topk".
      const std::string arch = cfg.value("activation_fn_str", std::string()) == "topk"
                                   ? std::string("topk")
                                   : cfg.value("architecture", std::string());
      QCOMPARE(QString::fromStdString(arch), QString("topk"));
      const int64_t k = cfg.contains("k") ? cfg["k"].get<int64_t>() : cfg["activation_fn_kwargs"]["k"].get<int64_t>();
      QCOMPARE(k, int64_t(6));
      // L0 on the held-out windows (the last eval line) and in training: exactly k.
      QFile mf(r.outDir + "/metrics.jsonl");
      QVERIFY(mf.open(QIODevice::ReadOnly));
      double evalL0 = -1, trainL0 = -1;
      while (!mf.atEnd()) {
        auto j = nlohmann::json::parse(mf.readLine().toStdString(), nullptr, false);
        if (!j.is_object() || !j.contains("l0")) continue;
        (j.value("kind", "") == "eval" ? evalL0 : trainL0) = j["l0"].get<double>();
      }
      QVERIFY2(std::abs(evalL0 - 6.0) < 1e-9, qPrintable(QString::number(evalL0)));
      QVERIFY2(std::abs(trainL0 - 6.0) < 1e-9, qPrintable(QString::number(trainL0)));
      // The live density histogram: data arrived, counts + dead = d_sae.
      DensityHistogramPlot* h = panel.densityPlot();
      QVERIFY(h->updates() > 0);
      QCOMPARE(h->total(0), 96.0);
      QCOMPARE(h->counts(0).size(), 14);
      QVERIFY(h->step(0) > 0);
      QCOMPARE(h->total(1), -1.0);  // not trained
    }
    // Remembered: a new panel starts with topk and k 6.
    TrainingPanel again;
    QCOMPARE(again.form()->architectureBox()->currentText(), QString("topk"));
    QCOMPARE(again.form()->kBox()->value(), 6);
  }

  // The sweep figure (zscope --export-figure pareto --data results.json): one
  // panel per layer, one series per architecture; its CSV holds every point;
  // a file that is not a sweep is refused with status 3.
  void sweepFigureExports() {
    const QString dir = QString::fromStdString(zs::test::tempDir());
    const QString json = dir + "/sweep.json";
    {
      QFile f(json);
      QVERIFY(f.open(QIODevice::WriteOnly));
      f.write(R"({"model":"m","complete":false,"points":[
        {"run":"s1","architecture":"standard","layer":0,"l0":20,"ce_loss_recovered":0.5},
        {"run":"s2","architecture":"standard","layer":0,"l0":40,"ce_loss_recovered":0.7},
        {"run":"t1","architecture":"topk","layer":0,"l0":16,"ce_loss_recovered":0.8},
        {"run":"t1","architecture":"topk","layer":1,"l0":16,"ce_loss_recovered":0.9},
        {"run":"bad","architecture":"topk","layer":1,"l0":"x","ce_loss_recovered":0.9}]})");
    }
    QCOMPARE(exportSweepFigure(json, dir + "/sweep.csv", QSize(), 96, false), 0);
    QFile csv(dir + "/sweep.csv");
    QVERIFY(csv.open(QIODevice::ReadOnly));
    const QStringList lines = QString::fromUtf8(csv.readAll()).split('\n', Qt::SkipEmptyParts);
    QCOMPARE(lines.size(), 5);  // header + the 4 numeric points
    QVERIFY(lines.contains("1,topk,t1,16,0.9"));
    QCOMPARE(exportSweepFigure(json, dir + "/sweep.png", QSize(), 96, true), 0);
    QImage img(dir + "/sweep.png");
    QVERIFY(!img.isNull() && img.width() >= 700);  // two panels
    ParetoPlot plot;
    plot.setData({{"a", 0, 1, 0.5, {}}, {"b", 2, 2, 0.6, {}}}, "x", "y", "layer %1", "t", true);
    QCOMPARE(plot.panelCount(), 2);
    QCOMPARE(plot.seriesCount(), 2);
    QFile bad(dir + "/bad.json");
    QVERIFY(bad.open(QIODevice::WriteOnly));
    bad.write("[1,2]");
    bad.close();
    QCOMPARE(exportSweepFigure(dir + "/bad.json", dir + "/bad.png", QSize(), 96, false), 3);
  }

  void refusesBadForm() {
    TrainingPanel panel;
    QVERIFY(!panel.start());  // no model
    QCOMPARE(panel.state(), TrainingPanel::State::Failed);
    QVERIFY(panel.lastError().contains("model"));
  }
};

QTEST_MAIN(TestTraining)
#include "test_training.moc"
