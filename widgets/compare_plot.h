#pragma once
// The Compare prompts view's figure: the selected feature's activation on every
// token of prompt A and prompt B as grouped bars, and B − A where the positions
// pair up (PromptComparison::aligned). Exports like every other plot
// (FigureSource: PNG/SVG/PDF, the numbers as CSV).
#include <QVector>
#include <QWidget>

#include "core/engine/engine.h"
#include "widgets/figure_export.h"

class QCustomPlot;
class QCPBars;

namespace zs::gui {

class ComparePlot : public QWidget, public FigureSource {
  Q_OBJECT
 public:
  enum Series { A = 0, B, Diff, SeriesCount };
  explicit ComparePlot(QWidget* parent = nullptr);

  void setComparison(const zs::PromptComparison& c);
  void clear();
  bool isEmpty() const { return empty_; }
  // The bar heights drawn for a series, by position (tests read them back from
  // the plot): A and B always, Diff only when aligned (else empty).
  QVector<double> values(Series s) const;
  QCustomPlot* plot() const { return plot_; }
  void applyTheme(bool dark);

  // FigureSource
  QString figureName() const override;
  QSize figureSize() const override { return QSize(640, 320); }
  void paintFigure(QPainter& p, const QSize& size) override;
  QString figureCsv() const override;

 private:
  QCustomPlot* plot_;
  QCPBars* bars_[SeriesCount] = {};
  zs::PromptComparison c_;
  bool empty_ = true;
};

}  // namespace zs::gui
