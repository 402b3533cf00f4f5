#pragma once
// A labelled heatmap (QCustomPlot QCPColorMap + QCPColorScale): rows × columns
// with text ticks on both axes. Used for the head-attribution map (layers ×
// heads) and the DFA map (source tokens × heads). Signed data get a diverging
// gradient symmetric around zero. Clicking a cell emits cellClicked.
#include <QSharedPointer>
#include <QStringList>
#include <QWidget>

#include <functional>
#include <vector>

#include "widgets/figure_export.h"

class QCustomPlot;
class QCPColorMap;
class QCPColorScale;
class QCPTextElement;
class QCPAxis;
class QCPAxisTicker;

namespace zs::gui {

// Text tick labels at 0, 1, 2, … that show only every k-th label when the
// positions are closer than a label's size (for the axis's current length).
QSharedPointer<QCPAxisTicker> thinTextTicker(QCPAxis* axis, const QStringList& labels);

class HeatmapPlot : public QWidget, public FigureSource {
  Q_OBJECT
 public:
  explicit HeatmapPlot(const QString& name, QWidget* parent = nullptr);

  // values: row-major [rows][cols]. Row 0 is drawn at the top.
  void setData(const std::vector<float>& values, int rows, int cols, const QStringList& rowLabels,
               const QStringList& colLabels, bool signedData);
  void setTitle(const QString& title);
  // Draw rows along the x axis (labels rotated): long row lists such as source
  // tokens get the window's width. Data, value() and cellClicked stay (row, col).
  void setTransposed(bool on) { transposed_ = on; }
  void setAxisLabels(const QString& rowAxis, const QString& colAxis);
  void setScaleLabel(const QString& label);
  void clear(const QString& message = {});
  // Shows every cell again after wheel zoom or drag (also: double-click).
  void resetZoom();

  int rows() const { return rows_; }
  int cols() const { return cols_; }
  float value(int row, int col) const { return values_.at(static_cast<size_t>(row) * cols_ + col); }
  // The cell under a widget position (row, col), or (-1, -1).
  QPair<int, int> cellAt(const QPoint& widgetPos) const;
  // Widget position of a cell's centre (tests click it).
  QPoint cellCenter(int row, int col) const;
  QCustomPlot* plot() const { return plot_; }
  void applyTheme(bool dark);
  // Text shown when the mouse rests on a cell (empty: the value alone).
  void setCellToolTip(std::function<QString(int row, int col)> fn) { cellToolTip_ = std::move(fn); }
  QString cellToolTip(int row, int col) const;

  // FigureSource
  QString figureName() const override { return name_; }
  QSize figureSize() const override;
  void paintFigure(QPainter& p, const QSize& size) override;
  QString figureCsv() const override;

 Q_SIGNALS:
  void cellClicked(int row, int col);

 protected:
  bool eventFilter(QObject* obj, QEvent* ev) override;

 private:
  void showMap(bool visible);
  std::function<QString(int, int)> cellToolTip_;
  QString name_;
  QCustomPlot* plot_;
  QCPColorMap* map_;
  QCPColorScale* scale_;
  QCPTextElement* title_;
  std::vector<float> values_;
  int rows_ = 0, cols_ = 0;
  bool transposed_ = false;
  QStringList rowLabels_, colLabels_;
  QString rowAxis_, colAxis_;
};

}  // namespace zs::gui
