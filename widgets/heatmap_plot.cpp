// HeatmapPlot: see heatmap_plot.h.
#include "widgets/heatmap_plot.h"

#include <QVBoxLayout>

#include <cmath>

#include "widgets/qcp.h"

namespace zs::gui {

HeatmapPlot::HeatmapPlot(const QString& name, QWidget* parent) : QWidget(parent), name_(name) {
  auto* lay = new QVBoxLayout(this);
  lay->setContentsMargins(0, 0, 0, 0);
  plot_ = new QCustomPlot(this);
  lay->addWidget(plot_);
  plot_->plotLayout()->insertRow(0);
  title_ = new QCPTextElement(plot_, QString(), QFont(font().family(), 10, QFont::Bold));
  plot_->plotLayout()->addElement(0, 0, title_);
  map_ = new QCPColorMap(plot_->xAxis, plot_->yAxis);
  map_->setInterpolate(false);
  map_->setTightBoundary(true);
  scale_ = new QCPColorScale(plot_);
  plot_->plotLayout()->addElement(1, 1, scale_);
  scale_->setType(QCPAxis::atRight);
  map_->setColorScale(scale_);
  auto* group = new QCPMarginGroup(plot_);
  plot_->axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, group);
  scale_->setMarginGroup(QCP::msBottom | QCP::msTop, group);
  plot_->xAxis->grid()->setVisible(false);
  plot_->yAxis->grid()->setVisible(false);
  plot_->yAxis->setRangeReversed(true);  // row 0 at the top
  connect(plot_, &QCustomPlot::mousePress, this, [this](QMouseEvent* e) {
    auto [r, c] = cellAt(plot_->mapTo(this, e->pos()));
    if (r >= 0) Q_EMIT cellClicked(r, c);
  });
  setMinimumSize(200, 150);
  applyTheme(isDarkPalette());
  clear();
}

void HeatmapPlot::applyTheme(bool dark) { applyPlotTheme(plot_, dark); }

void HeatmapPlot::setTitle(const QString& title) {
  title_->setText(title);
  plot_->replot(QCustomPlot::rpQueuedReplot);
}

void HeatmapPlot::setAxisLabels(const QString& rowAxis, const QString& colAxis) {
  rowAxis_ = rowAxis;
  colAxis_ = colAxis;
  plot_->yAxis->setLabel(rowAxis);
  plot_->xAxis->setLabel(colAxis);
}

void HeatmapPlot::setScaleLabel(const QString& label) { scale_->axis()->setLabel(label); }

void HeatmapPlot::clear(const QString& message) {
  values_.clear();
  rows_ = cols_ = 0;
  map_->data()->clear();
  map_->setVisible(false);
  if (!message.isEmpty()) title_->setText(message);
  plot_->replot(QCustomPlot::rpQueuedReplot);
}

static QSharedPointer<QCPAxisTickerText> textTicker(const QStringList& labels) {
  QSharedPointer<QCPAxisTickerText> t(new QCPAxisTickerText);
  for (int i = 0; i < labels.size(); ++i) t->addTick(i, labels[i]);
  return t;
}

void HeatmapPlot::setData(const std::vector<float>& values, int rows, int cols, const QStringList& rowLabels,
                          const QStringList& colLabels, bool signedData) {
  Q_ASSERT(values.size() == static_cast<size_t>(rows) * cols);
  values_ = values;
  rows_ = rows;
  cols_ = cols;
  rowLabels_ = rowLabels;
  colLabels_ = colLabels;
  map_->setVisible(rows > 0 && cols > 0);
  if (rows <= 0 || cols <= 0) {
    plot_->replot(QCustomPlot::rpQueuedReplot);
    return;
  }
  // Cell (row r, col c) has its centre at key c, value r (key r, value c when transposed).
  const int nx = transposed_ ? rows : cols, ny = transposed_ ? cols : rows;
  map_->data()->setSize(nx, ny);
  map_->data()->setRange(QCPRange(0, std::max(nx - 1, 1)), QCPRange(0, std::max(ny - 1, 1)));
  if (nx == 1) map_->data()->setKeyRange(QCPRange(0, 0));
  if (ny == 1) map_->data()->setValueRange(QCPRange(0, 0));
  float maxAbs = 0, lo = 0, hi = 0;
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) {
      const float v = values[static_cast<size_t>(r) * cols + c];
      if (transposed_) map_->data()->setCell(r, c, v);
      else map_->data()->setCell(c, r, v);
      maxAbs = std::max(maxAbs, std::fabs(v));
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  if (signedData) {
    QCPColorGradient g;
    g.setColorStopAt(0, QColor(33, 102, 172));
    g.setColorStopAt(0.5, QColor(247, 247, 247));
    g.setColorStopAt(1, QColor(178, 24, 43));
    map_->setGradient(g);
    const float m = maxAbs > 0 ? maxAbs : 1;
    map_->setDataRange(QCPRange(-m, m));
  } else {
    // Viridis-like stops (perceptually ordered, readable on light and dark).
    QCPColorGradient g;
    g.setColorStopAt(0, QColor(68, 1, 84));
    g.setColorStopAt(0.25, QColor(59, 82, 139));
    g.setColorStopAt(0.5, QColor(33, 145, 140));
    g.setColorStopAt(0.75, QColor(94, 201, 98));
    g.setColorStopAt(1, QColor(253, 231, 37));
    map_->setGradient(g);
    map_->setDataRange(QCPRange(std::min(lo, 0.f), hi > lo ? hi : lo + 1));
  }
  QCPAxis* rowAxis = transposed_ ? plot_->xAxis : plot_->yAxis;
  QCPAxis* colAxis = transposed_ ? plot_->yAxis : plot_->xAxis;
  rowAxis->setTicker(textTicker(rowLabels));
  colAxis->setTicker(textTicker(colLabels));
  rowAxis->setLabel(rowAxis_);
  colAxis->setLabel(colAxis_);
  plot_->xAxis->setTickLabelRotation(transposed_ && rows > 6 ? 60 : 0);
  plot_->yAxis->setRangeReversed(!transposed_);  // row 0 at the top / head 0 at the bottom
  plot_->xAxis->setRange(-0.5, nx - 0.5);
  plot_->yAxis->setRange(-0.5, ny - 0.5);
  plot_->replot(QCustomPlot::rpQueuedReplot);
}

QPair<int, int> HeatmapPlot::cellAt(const QPoint& widgetPos) const {
  if (rows_ <= 0 || cols_ <= 0) return {-1, -1};
  const QPoint p = plot_->mapFrom(this, widgetPos);
  if (!plot_->axisRect()->rect().contains(p)) return {-1, -1};
  const double x = plot_->xAxis->pixelToCoord(p.x()), y = plot_->yAxis->pixelToCoord(p.y());
  int c = static_cast<int>(std::lround(x)), r = static_cast<int>(std::lround(y));
  if (transposed_) std::swap(r, c);
  if (r < 0 || r >= rows_ || c < 0 || c >= cols_) return {-1, -1};
  return {r, c};
}

QPoint HeatmapPlot::cellCenter(int row, int col) const {
  // Lay out first: a hidden or never-shown plot has no axis rect geometry yet.
  plot_->replot(QCustomPlot::rpImmediateRefresh);
  const double key = transposed_ ? row : col, value = transposed_ ? col : row;
  const QPoint p(qRound(plot_->xAxis->coordToPixel(key)), qRound(plot_->yAxis->coordToPixel(value)));
  return plot_->mapTo(this, p);
}

QSize HeatmapPlot::figureSize() const { return QSize(std::max(480, width()), std::max(320, height())); }

void HeatmapPlot::paintFigure(QPainter& p, const QSize& size) {
  plot_->toPainter(static_cast<QCPPainter*>(&p), size.width(), size.height());
}

QString HeatmapPlot::figureCsv() const {
  QString s = csvField(rowAxis_.isEmpty() ? "row" : rowAxis_);
  for (int c = 0; c < cols_; ++c) s += "," + csvField(c < colLabels_.size() ? colLabels_[c] : QString::number(c));
  s += "\n";
  for (int r = 0; r < rows_; ++r) {
    s += csvField(r < rowLabels_.size() ? rowLabels_[r] : QString::number(r));
    for (int c = 0; c < cols_; ++c) s += "," + QString::number(value(r, c), 'g', 9);
    s += "\n";
  }
  return s;
}

}  // namespace zs::gui
