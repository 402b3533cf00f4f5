// HeatmapPlot: see heatmap_plot.h.
#include "widgets/heatmap_plot.h"

#include <QLinearGradient>
#include <QToolTip>

#include <QHelpEvent>

#include <QVBoxLayout>

#include <cmath>

#include "widgets/qcp.h"

namespace zs::gui {

// A colour map drawn as one rectangle per cell, on screen and in every export:
// SVG and PDF get vector cells (no blurred bitmap), PNG gets crisp edges at any DPI.
class CellMap : public QCPColorMap {
 public:
  using QCPColorMap::QCPColorMap;

 protected:
  void draw(QCPPainter* painter) override {
    QCPColorMapData* d = data();
    if (!d || d->keySize() <= 0 || d->valueSize() <= 0 || !keyAxis() || !valueAxis()) return;
    const bool vector = painter->modes().testFlag(QCPPainter::pmVectorized);
    painter->save();
    painter->setRenderHint(QPainter::Antialiasing, vector);
    const QCPRange range = dataRange();
    QCPColorGradient grad = gradient();
    const bool logScale = dataScaleType() == QCPAxis::stLogarithmic;
    const int nx = d->keySize(), ny = d->valueSize();
    // Cell edges in pixels, shared by neighbours so no seams open between them.
    auto edge = [](QCPAxis* a, double c) { return a->coordToPixel(c); };
    std::vector<double> xe(nx + 1), ye(ny + 1);
    for (int i = 0; i <= nx; ++i) xe[i] = edge(keyAxis(), i - 0.5);
    for (int j = 0; j <= ny; ++j) ye[j] = edge(valueAxis(), j - 0.5);
    for (int i = 0; i < nx; ++i)
      for (int j = 0; j < ny; ++j) {
        const QColor c = QColor::fromRgba(grad.color(d->cell(i, j), range, logScale));
        QRectF r(QPointF(std::min(xe[i], xe[i + 1]), std::min(ye[j], ye[j + 1])),
                 QPointF(std::max(xe[i], xe[i + 1]), std::max(ye[j], ye[j + 1])));
        if (vector) {
          // Overlap neighbours by a hair so viewers' antialiasing shows no gaps.
          painter->setPen(QPen(c, 0.6));
        } else {
          r = QRectF(QPointF(std::round(r.left()), std::round(r.top())), QPointF(std::round(r.right()), std::round(r.bottom())));
          painter->setPen(Qt::NoPen);
        }
        painter->setBrush(c);
        painter->drawRect(r);
      }
    painter->restore();
  }
};

HeatmapPlot::HeatmapPlot(const QString& name, QWidget* parent) : QWidget(parent), name_(name) {
  auto* lay = new QVBoxLayout(this);
  lay->setContentsMargins(0, 0, 0, 0);
  plot_ = new QCustomPlot(this);
  plot_->installEventFilter(this);  // tool tips of the cell under the mouse
  lay->addWidget(plot_);
  plot_->plotLayout()->insertRow(0);
  title_ = new QCPTextElement(plot_, QString(), QFont(font().family(), 9, QFont::Bold));
  plot_->plotLayout()->addElement(0, 0, title_);
  map_ = new CellMap(plot_->xAxis, plot_->yAxis);
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
  // Wheel zooms and dragging pans along both axes, inside the data; a
  // double-click shows everything again.
  plot_->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
  for (QCPAxis* a : {plot_->xAxis, plot_->yAxis})
    connect(a, qOverload<const QCPRange&>(&QCPAxis::rangeChanged), this, [this, a](const QCPRange& r) {
      const bool x = a == plot_->xAxis;
      const int n = x ? (transposed_ ? rows_ : cols_) : (transposed_ ? cols_ : rows_);
      if (n <= 0) return;
      const QCPRange full(-0.5, n - 0.5);
      QCPRange c = r;
      if (c.size() > full.size()) c = full;
      if (c.lower < full.lower) c = QCPRange(full.lower, full.lower + c.size());
      if (c.upper > full.upper) c = QCPRange(full.upper - c.size(), full.upper);
      if (c != r) a->setRange(c);
    });
  connect(plot_, &QCustomPlot::mouseDoubleClick, this, [this](QMouseEvent*) { resetZoom(); });
  for (QCPAxis* a : {plot_->xAxis, plot_->yAxis}) {
    QFont f = a->tickLabelFont();
    f.setPointSizeF(8.5);
    a->setTickLabelFont(f);
  }
  setMinimumSize(200, 150);
  applyTheme(isDarkPalette());
  clear();
}

void HeatmapPlot::applyTheme(bool dark) { applyPlotTheme(plot_, dark); }

// The map with its axes and colour scale, or none of them (an empty plot invents no 0..5 ranges).
void HeatmapPlot::showMap(bool visible) {
  map_->setVisible(visible);
  setPlotAxesVisible(plot_, visible);
  scale_->setVisible(visible);
}

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
  showMap(false);
  if (!message.isEmpty()) title_->setText(message);
  plot_->replot(QCustomPlot::rpQueuedReplot);
}

// Text ticks that leave labels out when the cells are narrower than the labels (many tokens or layers, or
// a small export), so labels never overlap: going along the axis, a label is kept when it clears the last
// kept one, measured with each label's own width (a long "<|endoftext|>" does not hide a short "·of" two
// cells on). Zooming in brings every label back.
class ThinTextTicker : public QCPAxisTickerText {
 public:
  ThinTextTicker(QCPAxis* axis, const QStringList& labels) : axis_(axis) {
    for (int i = 0; i < labels.size(); ++i) addTick(i, labels[i]);
  }

 protected:
  QVector<double> createTickVector(double, const QCPRange& range) override {
    const bool horizontal = axis_->orientation() == Qt::Horizontal;
    QCustomPlot* plot = axis_->parentPlot();
    QCPAxisRect* r = axis_->axisRect();
    // The axis rect of the last layout pass (paintPlot lays a figure out for
    // its size first; on screen a changed choice of labels asks for one more replot).
    const double length = std::max(20, horizontal ? r->width() : r->height());
    const double perCell = length / std::max(1e-9, range.size());
    const bool rotated = horizontal && std::fabs(axis_->tickLabelRotation()) > 30;
    // Measured with the font the labels are drawn in now (a figure's style may have changed it).
    const QFontMetrics fm(axis_->tickLabelFont());
    QVector<double> out;
    double lastEnd = -1e300;  // where the last kept label ends, in pixels along the axis
    for (auto it = mTicks.constBegin(); it != mTicks.constEnd(); ++it) {
      if (it.key() < range.lower || it.key() > range.upper) continue;
      const double extent = (horizontal && !rotated) ? fm.horizontalAdvance(it.value()) + 6 : fm.height() + 2;
      const double centre = (it.key() - range.lower) * perCell;
      if (centre - extent / 2 < lastEnd) continue;
      out << it.key();
      lastEnd = centre + extent / 2;
    }
    if (out != lastTicks_) {
      lastTicks_ = out;
      QMetaObject::invokeMethod(plot, [plot] { plot->replot(QCustomPlot::rpQueuedReplot); }, Qt::QueuedConnection);
    }
    return out;
  }

 private:
  QCPAxis* axis_;
  QVector<double> lastTicks_;
};

static QSharedPointer<QCPAxisTicker> textTicker(QCPAxis* axis, const QStringList& labels) {
  return QSharedPointer<QCPAxisTicker>(new ThinTextTicker(axis, labels));
}

QSharedPointer<QCPAxisTicker> thinTextTicker(QCPAxis* axis, const QStringList& labels) { return textTicker(axis, labels); }

void HeatmapPlot::setData(const std::vector<float>& values, int rows, int cols, const QStringList& rowLabels,
                          const QStringList& colLabels, bool signedData) {
  Q_ASSERT(values.size() == static_cast<size_t>(rows) * cols);
  values_ = values;
  rows_ = rows;
  cols_ = cols;
  rowLabels_ = rowLabels;
  colLabels_ = colLabels;
  showMap(rows > 0 && cols > 0);
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
  plot_->xAxis->setTickLabelRotation(transposed_ && rows > 6 ? 60 : 0);
  rowAxis->setTicker(textTicker(rowAxis, rowLabels));
  colAxis->setTicker(textTicker(colAxis, colLabels));
  rowAxis->setLabel(rowAxis_);
  colAxis->setLabel(colAxis_);
  plot_->yAxis->setRangeReversed(!transposed_);  // row 0 at the top / head 0 at the bottom
  plot_->xAxis->setRange(-0.5, nx - 0.5);
  plot_->yAxis->setRange(-0.5, ny - 0.5);
  plot_->replot(QCustomPlot::rpQueuedReplot);
}

void HeatmapPlot::resetZoom() {
  const int nx = transposed_ ? rows_ : cols_, ny = transposed_ ? cols_ : rows_;
  if (nx <= 0 || ny <= 0) return;
  plot_->xAxis->setRange(-0.5, nx - 0.5);
  plot_->yAxis->setRange(-0.5, ny - 0.5);
  plot_->replot(QCustomPlot::rpQueuedReplot);
}

QString HeatmapPlot::cellToolTip(int row, int col) const {
  if (row < 0 || col < 0 || row >= rows_ || col >= cols_) return {};
  if (cellToolTip_) return cellToolTip_(row, col);
  return QString::number(value(row, col), 'g', 4);
}

bool HeatmapPlot::eventFilter(QObject* obj, QEvent* ev) {
  if (obj == plot_ && ev->type() == QEvent::ToolTip) {
    auto* he = static_cast<QHelpEvent*>(ev);
    const QPair<int, int> c = cellAt(mapFrom(plot_, he->pos()));
    const QString text = cellToolTip(c.first, c.second);
    if (text.isEmpty()) QToolTip::hideText();
    else QToolTip::showText(he->globalPos(), text, plot_);
    return true;
  }
  return QWidget::eventFilter(obj, ev);
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

namespace {
// QCPAxis::draw is protected; a member pointer named through this class calls it
// (the axis is drawn exactly as QCustomPlot draws it, ticks and label included).
struct AxisDrawAccess : QCPAxis {
  using QCPAxis::draw;
};
}  // namespace

// QCustomPlot paints a colour scale's bar as a bitmap. In SVG and PDF the bar is
// hidden while the plot paints, then drawn in its place as a vector gradient
// (sampled from the scale's own gradient and range) with the scale's axes on top,
// so a paper's figure has no bitmap at all and the same layout as the PNG.
void HeatmapPlot::paintFigure(QPainter& p, const QSize& size) {
  QCPAxisRect* bar = scale_->axis() ? scale_->axis()->axisRect() : nullptr;
  if (!isVectorPainter(p) || !bar || !scale_->realVisibility() || !bar->visible()) {
    paintPlot(plot_, p, size);
    return;
  }
  bar->setVisible(false);
  paintPlot(plot_, p, size, [this, bar](QPainter& painter) {
    auto* qp = static_cast<QCPPainter*>(&painter);
    const QRect r = bar->rect().adjusted(0, -1, 0, -1);  // where QCustomPlot draws its bitmap
    if (r.width() > 0 && r.height() > 0) {
      const QCPRange range = scale_->dataRange();
      const bool logScale = scale_->dataScaleType() == QCPAxis::stLogarithmic;
      QCPColorGradient g = scale_->gradient();
      const bool vertical = scale_->type() == QCPAxis::atLeft || scale_->type() == QCPAxis::atRight;
      const bool reversed = scale_->axis()->rangeReversed();
      // The low end of the range at the bottom (vertical) or the left (horizontal), unless reversed.
      QPointF from = vertical ? QPointF(r.left(), r.bottom() + 1) : QPointF(r.left(), r.top());
      QPointF to = vertical ? QPointF(r.left(), r.top()) : QPointF(r.right() + 1, r.top());
      if (reversed) std::swap(from, to);
      QLinearGradient lg(from, to);
      constexpr int kStops = 64;
      for (int i = 0; i <= kStops; ++i) {
        const double t = double(i) / kStops;
        const double v = logScale ? range.lower * std::pow(range.upper / range.lower, t) : range.lower + t * range.size();
        lg.setColorAt(t, QColor::fromRgba(g.color(v, range, logScale)));
      }
      painter.save();
      painter.setPen(Qt::NoPen);
      painter.setBrush(lg);
      painter.drawRect(QRectF(r.left(), r.top(), r.width(), r.height()));
      painter.restore();
    }
    void (QCPAxis::*drawAxis)(QCPPainter*) = &AxisDrawAccess::draw;
    for (QCPAxis* a : bar->axes()) {
      if (!a->visible()) continue;
      painter.save();
      qp->setAntialiasing(a->antialiased());
      (a->*drawAxis)(qp);
      painter.restore();
    }
  });
  bar->setVisible(true);
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
