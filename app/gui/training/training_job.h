#pragma once
// One SAE training run (zs::trainSaes, torch-free header) on a dedicated
// QThread, owned by the training panel. The UI thread never waits on it:
// metrics lines and progress arrive as queued signals; cancel() sets the
// atomic flag that zs::Progress polls, and trainSaes then saves a checkpoint
// and the SAEs so far (that is what "pause" is: a later start with
// resume = true continues from the checkpoint).
#include <QObject>
#include <QString>
#include <QStringList>
#include <QVector>

#include <atomic>

#include "core/train/sae_run.h"

class QThread;

namespace zs::gui {

struct MetricPoint {
  int layer = 0;
  double step = 0;
  QString key;
  double value = 0;
};

// Parses one metrics.jsonl line into points for the given keys (missing keys
// skipped): ce_* keys from "eval" lines, the others from "train" lines.
QVector<MetricPoint> parseMetricsLine(const std::string& line, const QStringList& keys);

// One layer's feature-density histogram from a "train" line (its
// "density_histogram": log10 edges, counts per bin, dead). False when absent.
struct DensityHistogram {
  int layer = 0;
  double step = 0;
  QVector<double> edges, counts;
  double dead = 0;
};
bool parseDensityHistogram(const std::string& line, DensityHistogram& out);

class TrainingJob : public QObject {
  Q_OBJECT
 public:
  explicit TrainingJob(QObject* parent = nullptr);
  ~TrainingJob() override;  // cancels and joins

  // Starts a run; false if one is already running. With replay, the lines an
  // earlier run left in outDir/metrics.jsonl (the run being resumed) are sent
  // through metrics() first, so its curves start where they stopped.
  bool start(const zs::TrainSaeParams& params, const QStringList& metricKeys, bool replay);
  void cancel() { cancel_.store(true); }
  bool running() const;
  void wait();

 Q_SIGNALS:
  void metrics(QVector<zs::gui::MetricPoint> points);
  void progress(double done, double total, QString message);
  void densityHistogram(zs::gui::DensityHistogram h);
  // Emitted once per run (queued to the receiver's thread).
  void finished(QStringList saeDirs, bool cancelled, qint64 steps, double seconds);
  void failed(QString message);

 private:
  QThread* thread_ = nullptr;
  std::atomic<bool> cancel_{false};
};

}  // namespace zs::gui

Q_DECLARE_METATYPE(QVector<zs::gui::MetricPoint>)
Q_DECLARE_METATYPE(zs::gui::DensityHistogram)
