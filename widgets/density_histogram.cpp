#include "widgets/density_histogram.h"
#include "widgets/series_colors.h"

#include "widgets/qcp.h"

#include <QVBoxLayout>
#include <cmath>

namespace zs::gui {

DensityHistogramPlot::DensityHistogramPlot(QWidget* parent) : QWidget(parent) {
  auto* v = new QVBoxLayout(this);
  v->setContentsMargins(0, 0, 0, 0);
  plot_ = new QCustomPlot(this);
  plot_->setObjectName(QStringLiteral("curve_density_histogram"));
  plot_->setMinimumSize(200, 150);
  plot_->plotLayout()->insertRow(0);
  plot_->plotLayout()->addElement(0, 0, new QCPTextElement(plot_, tr("feature density (share of tokens, live window)"),
                                                           QFont("sans", 9, QFont::Bold)));
  plot_->xAxis->setLabel(tr("log10 density (dead at the left)"));
  plot_->yAxis->setLabel(tr("features"));
  plot_->legend->setVisible(false);
  group_ = new QCPBarsGroup(plot_);
  v->addWidget(plot_);
}

void DensityHistogramPlot::setHistogram(int layer, double step, const QVector<double>& edges,
                                        const QVector<double>& counts, double dead) {
  if (edges.size() != counts.size() + 1 || counts.isEmpty()) return;
  if (edges != edges_) {
    edges_ = edges;
    QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
    ticker->addTick(edges.front() - 0.5, tr("dead"));
    for (double e : edges)
      if (std::abs(e - std::round(e)) < 1e-9)
        ticker->addTick(e, e == 0 ? QStringLiteral("1") : QStringLiteral("1e%1").arg(e));
    plot_->xAxis->setTicker(ticker);
    plot_->xAxis->setRange(edges.front() - 1.0, edges.back() + 0.25);
  }
  Layer& L = layers_[layer];
  if (!L.bars) {
    L.bars = new QCPBars(plot_->xAxis, plot_->yAxis);
    L.bars->setName(tr("layer %1").arg(layer));
    const QColor c = seriesColor(layer);
    L.bars->setPen(QPen(c.darker(120)));
    L.bars->setBrush(QColor(c.red(), c.green(), c.blue(), 190));
    L.bars->setBarsGroup(group_);
    QCPGraph* g = plot_->addGraph();  // hidden: the numbers for the CSV export
    g->setName(tr("layer %1").arg(layer));
    g->setVisible(false);
    g->removeFromLegend();
    L.graph = plot_->graphCount() - 1;
  }
  const double width = (edges[1] - edges[0]) * 0.8 / std::max(1, static_cast<int>(layers_.size()));
  QVector<double> x, y;
  x.push_back(edges.front() - 0.5);
  y.push_back(dead);
  for (int i = 0; i < counts.size(); ++i) {
    x.push_back(0.5 * (edges[i] + edges[i + 1]));
    y.push_back(counts[i]);
  }
  L.bars->setData(x, y, true);
  plot_->graph(L.graph)->setData(x, y, true);
  L.counts = counts;
  L.dead = dead;
  L.step = step;
  double ymax = 1;
  for (auto it = layers_.begin(); it != layers_.end(); ++it) {
    it->bars->setWidth(width);
    ymax = std::max(ymax, it->dead);
    for (double c : it->counts) ymax = std::max(ymax, c);
  }
  plot_->yAxis->setRange(0, ymax * 1.08);
  plot_->legend->setVisible(layers_.size() > 1);
  ++updates_;
  plot_->replot(QCustomPlot::rpQueuedReplot);
}

void DensityHistogramPlot::clear() {
  plot_->clearPlottables();  // bars and the hidden graphs
  layers_.clear();
  plot_->legend->setVisible(false);
  plot_->replot();
}

double DensityHistogramPlot::total(int layer) const {
  auto it = layers_.find(layer);
  if (it == layers_.end()) return -1;
  double s = it->dead;
  for (double c : it->counts) s += c;
  return s;
}

double DensityHistogramPlot::dead(int layer) const { return layers_.value(layer).dead; }
QVector<double> DensityHistogramPlot::counts(int layer) const { return layers_.value(layer).counts; }
double DensityHistogramPlot::step(int layer) const { return layers_.value(layer).step; }

}  // namespace zs::gui
