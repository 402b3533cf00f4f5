#include "widgets/curve_plot.h"

#include "widgets/qcp.h"
#include "widgets/series_colors.h"

#include <QGridLayout>
#include <cmath>
#include <limits>

namespace zs::gui {

CurvePlot::CurvePlot(QStringList metrics, QStringList titles, QWidget* parent)
    : QWidget(parent), metrics_(std::move(metrics)) {
  auto* grid = new QGridLayout(this);
  grid->setContentsMargins(0, 0, 0, 0);
  grid->setSpacing(2);
  seriesGraph_.resize(metrics_.size());
  for (int i = 0; i < metrics_.size(); ++i) {
    auto* p = new QCustomPlot(this);
    p->setObjectName(QStringLiteral("curve_") + metrics_[i]);
    p->setMinimumSize(200, 130);
    p->plotLayout()->insertRow(0);
    p->plotLayout()->addElement(
        0, 0, new QCPTextElement(p, i < titles.size() ? titles[i] : metrics_[i], QFont("sans", 9, QFont::Bold)));
    p->xAxis->setLabel(QStringLiteral("step"));
    p->legend->setVisible(false);
    // One compact row in the top right corner: the legend covers as little of the curves as it can.
    p->legend->setFillOrder(QCPLegend::foColumnsFirst);
    p->legend->setWrap(4);
    QFont lf = p->legend->font();
    lf.setPointSizeF(7.5);
    p->legend->setFont(lf);
    p->legend->setRowSpacing(0);
    p->legend->setColumnSpacing(6);
    p->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
    // Antialiasing off: thousands of points replot several times a second.
    p->setNotAntialiasedElements(QCP::aeAll);
    plots_.push_back(p);
    grid->addWidget(p, i / 2, i % 2);
  }
  timer_.setInterval(60);
  connect(&timer_, &QTimer::timeout, this, &CurvePlot::flush);
}

void CurvePlot::addPoint(const QString& metric, int series, double x, double y) {
  if (!std::isfinite(y) || !metrics_.contains(metric)) return;
  pending_[metric].push_back({series, x, y});
  if (!timer_.isActive()) timer_.start();
}

int CurvePlot::graphFor(int plotIndex, int series) {
  auto& map = seriesGraph_[plotIndex];
  auto it = map.find(series);
  if (it != map.end()) return it.value();
  QCustomPlot* p = plots_[plotIndex];
  QCPGraph* g = p->addGraph();
  g->setName(QStringLiteral("layer %1").arg(series));  // not "L0": that is a metric here
  g->setPen(QPen(seriesColor(series), 1.5));
  const int idx = p->graphCount() - 1;
  map.insert(series, idx);
  p->legend->setVisible(map.size() > 1);
  return idx;
}

void CurvePlot::flush() {
  timer_.stop();
  for (int i = 0; i < metrics_.size(); ++i) {
    auto it = pending_.find(metrics_[i]);
    if (it == pending_.end() || it->isEmpty()) continue;
    for (const Pending& pt : *it) {
      plots_[i]->graph(graphFor(i, pt.series))->addData(pt.x, pt.y);
      last_[metrics_[i]][pt.series] = pt.y;
      counts_[metrics_[i]] += 1;
    }
    it->clear();
    plots_[i]->rescaleAxes();
    plots_[i]->replot(QCustomPlot::rpQueuedReplot);
    ++replots_;
  }
}

void CurvePlot::clear() {
  timer_.stop();
  pending_.clear();
  counts_.clear();
  last_.clear();
  for (int i = 0; i < plots_.size(); ++i) {
    plots_[i]->clearGraphs();
    seriesGraph_[i].clear();
    plots_[i]->replot();
  }
}

int CurvePlot::pointCount(const QString& metric) const { return counts_.value(metric, 0); }

double CurvePlot::lastValue(const QString& metric, int series) const {
  auto it = last_.find(metric);
  if (it == last_.end() || !it->contains(series)) return std::numeric_limits<double>::quiet_NaN();
  return it->value(series);
}

}  // namespace zs::gui
