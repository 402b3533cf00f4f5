#pragma once
// Live training curves: one small QCustomPlot per metric (loss, L0, explained
// variance, dead fraction, CE loss recovered), one graph per series (layer).
//
// Points arrive in bursts from the training thread; addPoint() only buffers
// them and a QTimer flushes the buffer and replots at most every flushMs
// (PlotJuggler-style coalescing), so a fast trainer can never stall the UI.
#include <QHash>
#include <QStringList>
#include <QTimer>
#include <QVector>
#include <QWidget>

class QCustomPlot;

namespace zs::gui {

class CurvePlot : public QWidget {
  Q_OBJECT
 public:
  // metrics: keys as they appear in metrics.jsonl; titles: what the user reads.
  CurvePlot(QStringList metrics, QStringList titles, QWidget* parent = nullptr);

  // Buffers one point; drawn on the next flush. series: e.g. the layer.
  void addPoint(const QString& metric, int series, double x, double y);
  void clear();
  // Draw pending points now (tests and screenshots use it).
  void flush();

  // Points drawn (after a flush) for a metric, over all its series.
  int pointCount(const QString& metric) const;
  // Last drawn value of a metric for a series; NaN when none.
  double lastValue(const QString& metric, int series) const;
  int replotCount() const { return replots_; }
  const QStringList& metrics() const { return metrics_; }
  void setFlushInterval(int ms) { timer_.setInterval(ms); }

 private:
  struct Pending {
    int series;
    double x, y;
  };
  int graphFor(int plotIndex, int series);

  QStringList metrics_;
  QVector<QCustomPlot*> plots_;
  QHash<QString, QVector<Pending>> pending_;
  QHash<QString, int> counts_;
  QHash<QString, QHash<int, double>> last_;
  QVector<QHash<int, int>> seriesGraph_;  // per plot: series -> graph index
  QTimer timer_;
  int replots_ = 0;
};

}  // namespace zs::gui
