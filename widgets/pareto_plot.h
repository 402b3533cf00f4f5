#pragma once
// A sweep figure: y against x (e.g. CE loss recovered against L0) for several
// series (e.g. SAE architectures), one panel per group (e.g. layer), each
// series a line through its points sorted by x. Plain data in; exported by
// `zscope --export-figure pareto --data results.json` and the figure exporter
// (PNG/SVG/PDF/CSV). Light or dark (applyPlotTheme).
#include <QSize>
#include <QString>
#include <QVector>
#include <QWidget>

#include "widgets/figure_export.h"

class QCustomPlot;

namespace zs::gui {

struct ParetoPoint {
  QString series;  // one line + marker style per series
  int panel = 0;   // one axis rect per panel (left to right, ascending)
  double x = 0, y = 0;
  QString label;   // e.g. the sparsity setting, written in the CSV
};

class ParetoPlot : public QWidget, public FigureSource {
  Q_OBJECT
 public:
  explicit ParetoPlot(QWidget* parent = nullptr);
  // panelTitle: "%1" is replaced by the panel number (e.g. "layer %1").
  void setData(const QVector<ParetoPoint>& pts, const QString& xLabel, const QString& yLabel,
               const QString& panelTitle, const QString& title, bool logX);
  void setDark(bool dark);
  QCustomPlot* plot() const { return plot_; }
  int panelCount() const { return panels_.size(); }
  int seriesCount() const { return series_.size(); }

  QString figureName() const override { return QStringLiteral("pareto"); }
  QSize figureSize() const override { return QSize(360 * std::max(1, static_cast<int>(panels_.size())), 330); }
  void paintFigure(QPainter& p, const QSize& size) override;
  QString figureCsv() const override;

 private:
  QCustomPlot* plot_ = nullptr;
  QVector<ParetoPoint> pts_;
  QVector<int> panels_;
  QStringList series_;
};

}  // namespace zs::gui
