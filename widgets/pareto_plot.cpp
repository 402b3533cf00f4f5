#include "widgets/pareto_plot.h"
#include "widgets/series_colors.h"

#include "widgets/qcp.h"

#include <QVBoxLayout>
#include <algorithm>
#include <cmath>

namespace zs::gui {

namespace {
QCPScatterStyle::ScatterShape seriesShape(int i) {
  static const QCPScatterStyle::ScatterShape s[] = {QCPScatterStyle::ssCircle, QCPScatterStyle::ssSquare,
                                                    QCPScatterStyle::ssTriangle, QCPScatterStyle::ssDiamond,
                                                    QCPScatterStyle::ssCross, QCPScatterStyle::ssPlus};
  return s[((i % 6) + 6) % 6];
}
}  // namespace

ParetoPlot::ParetoPlot(QWidget* parent) : QWidget(parent) {
  auto* v = new QVBoxLayout(this);
  v->setContentsMargins(0, 0, 0, 0);
  plot_ = new QCustomPlot(this);
  plot_->setObjectName(QStringLiteral("pareto"));
  v->addWidget(plot_);
}

void ParetoPlot::setData(const QVector<ParetoPoint>& pts, const QString& xLabel, const QString& yLabel,
                         const QString& panelTitle, const QString& title, bool logX) {
  pts_ = pts;
  panels_.clear();
  series_.clear();
  for (const auto& p : pts) {
    if (!panels_.contains(p.panel)) panels_.push_back(p.panel);
    if (!series_.contains(p.series)) series_.push_back(p.series);
  }
  std::sort(panels_.begin(), panels_.end());
  plot_->clearPlottables();
  plot_->plotLayout()->clear();
  plot_->legend = nullptr;  // owned by the cleared layout
  int row = 0;
  if (!title.isEmpty()) {
    plot_->plotLayout()->addElement(0, 0, new QCPTextElement(plot_, title, QFont("sans", 10, QFont::Bold)));
    row = 1;
  }
  auto* rects = new QCPLayoutGrid;
  plot_->plotLayout()->addElement(row, 0, rects);
  for (int pi = 0; pi < panels_.size(); ++pi) {
    auto* sub = new QCPLayoutGrid;
    rects->addElement(0, pi, sub);
    sub->addElement(0, 0, new QCPTextElement(plot_, QString(panelTitle).arg(panels_[pi]), QFont("sans", 9, QFont::Bold)));
    auto* rect = new QCPAxisRect(plot_);
    sub->addElement(1, 0, rect);
    sub->setRowStretchFactor(0, 0.01);
    QCPAxis* xa = rect->axis(QCPAxis::atBottom);
    QCPAxis* ya = rect->axis(QCPAxis::atLeft);
    xa->setLabel(xLabel);
    ya->setLabel(pi == 0 ? yLabel : QString());
    if (logX) {
      xa->setScaleType(QCPAxis::stLogarithmic);
      xa->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
    }
    double xmin = 1e300, xmax = -1e300, ymin = 1e300, ymax = -1e300;
    for (int si = 0; si < series_.size(); ++si) {
      QVector<ParetoPoint> s;
      for (const auto& p : pts_)
        if (p.panel == panels_[pi] && p.series == series_[si] && std::isfinite(p.x) && std::isfinite(p.y) &&
            (!logX || p.x > 0))
          s.push_back(p);
      if (s.isEmpty()) continue;
      std::sort(s.begin(), s.end(), [](const ParetoPoint& a, const ParetoPoint& b) { return a.x < b.x; });
      auto* g = plot_->addGraph(xa, ya);
      g->setName(series_[si]);
      g->setPen(QPen(seriesColor(si), 1.6));
      g->setScatterStyle(QCPScatterStyle(seriesShape(si), seriesColor(si), 7));
      QVector<double> x, y;
      for (const auto& p : s) {
        x.push_back(p.x);
        y.push_back(p.y);
        xmin = std::min(xmin, p.x);
        xmax = std::max(xmax, p.x);
        ymin = std::min(ymin, p.y);
        ymax = std::max(ymax, p.y);
      }
      g->setData(x, y, true);
    }
    if (xmin <= xmax) {
      if (logX) xa->setRange(xmin / 1.4, xmax * 1.4);
      else xa->setRange(xmin - 0.05 * (xmax - xmin + 1), xmax + 0.05 * (xmax - xmin + 1));
      const double pad = 0.06 * std::max(1e-3, ymax - ymin);
      ya->setRange(ymin - pad, ymax + pad);
    }
  }
  // One legend for the figure, in a row under the panels.
  plot_->legend = new QCPLegend;
  plot_->legend->setVisible(true);
  plot_->legend->setFillOrder(QCPLegend::foColumnsFirst);
  plot_->legend->setWrap(std::max(1, static_cast<int>(series_.size())));
  plot_->plotLayout()->addElement(row + 1, 0, plot_->legend);
  plot_->plotLayout()->setRowStretchFactor(row + 1, 0.001);
  plot_->legend->setLayer(QStringLiteral("legend"));
  for (int i = 0; i < plot_->graphCount(); ++i) {
    bool dup = false;
    for (int j = 0; j < i; ++j) dup = dup || plot_->graph(j)->name() == plot_->graph(i)->name();
    if (!dup) plot_->graph(i)->addToLegend();
  }
  plot_->replot();
}

void ParetoPlot::setDark(bool dark) {
  applyPlotTheme(plot_, dark);
  if (plot_->legend) {
    plot_->legend->setBrush(dark ? QColor(30, 30, 30) : Qt::white);
    plot_->legend->setTextColor(dark ? QColor(220, 220, 220) : QColor(30, 30, 30));
    plot_->legend->setBorderPen(QPen(dark ? QColor(90, 90, 90) : QColor(180, 180, 180)));
  }
  for (QCPLayoutElement* e : plot_->plotLayout()->elements(true))
    if (auto* t = qobject_cast<QCPTextElement*>(e)) t->setTextColor(dark ? QColor(220, 220, 220) : QColor(30, 30, 30));
  plot_->replot();
}

void ParetoPlot::paintFigure(QPainter& p, const QSize& size) { paintPlot(plot_, p, size); }

QString ParetoPlot::figureCsv() const {
  QString s = QStringLiteral("panel,series,label,x,y\n");
  for (const auto& p : pts_)
    s += QStringLiteral("%1,%2,%3,%4,%5\n")
             .arg(p.panel)
             .arg(csvField(p.series), csvField(p.label))
             .arg(p.x, 0, 'g', 9)
             .arg(p.y, 0, 'g', 9);
  return s;
}

}  // namespace zs::gui
