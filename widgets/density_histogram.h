#pragma once
// The live feature-density histogram of the training panel: how many features
// fire on a share of tokens in each half-decade of log10 density (eval-sae's
// bins, 1e-7 .. 1), plus the features that never fired in the window ("dead",
// the leftmost bar). One bar set per layer, side by side. Fed from the
// trainer's running density statistics (the "density_histogram" of each
// "train" line of metrics.jsonl).
//
// The QCustomPlot is named "curve_density_histogram" so that the main window
// themes it (dark palette) and gives it the Export figure menu like the
// training curves; each layer's bars are mirrored in a hidden graph so the
// generic CSV export ("series,x,y") carries the numbers (x = bin centre,
// the dead bar at x = first edge - 0.5).
#include <QMap>
#include <QVector>
#include <QWidget>

class QCustomPlot;
class QCPBars;
class QCPBarsGroup;

namespace zs::gui {

class DensityHistogramPlot : public QWidget {
  Q_OBJECT
 public:
  explicit DensityHistogramPlot(QWidget* parent = nullptr);

  // Replaces a layer's histogram. edges: log10 bin edges (counts.size() + 1);
  // dead: features with no firing in the window; step: the training step.
  void setHistogram(int layer, double step, const QVector<double>& edges, const QVector<double>& counts, double dead);
  void clear();

  // Features counted for a layer (bins + dead); -1 when the layer has none.
  double total(int layer) const;
  double dead(int layer) const;
  QVector<double> counts(int layer) const;
  double step(int layer) const;
  int updates() const { return updates_; }
  QCustomPlot* plot() const { return plot_; }

 private:
  struct Layer {
    QCPBars* bars = nullptr;
    int graph = -1;
    QVector<double> counts;
    double dead = 0, step = 0;
  };
  QCustomPlot* plot_ = nullptr;
  QCPBarsGroup* group_ = nullptr;
  QMap<int, Layer> layers_;
  QVector<double> edges_;
  int updates_ = 0;
};

}  // namespace zs::gui
