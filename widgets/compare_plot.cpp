// ComparePlot: see compare_plot.h.
#include "widgets/compare_plot.h"

#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

#include "widgets/heatmap_plot.h"
#include "widgets/qcp.h"

namespace zs::gui {

ComparePlot::ComparePlot(QWidget* parent) : QWidget(parent), plot_(new QCustomPlot) {
  setObjectName("comparePlot");
  auto* lay = new QVBoxLayout(this);
  lay->setContentsMargins(0, 0, 0, 0);
  lay->addWidget(plot_);
  plot_->setMinimumSize(160, 120);
  plot_->plotLayout()->insertRow(0);
  plot_->plotLayout()->addElement(0, 0, new QCPTextElement(plot_, tr("Activation per token: A, B and B − A"),
                                                           QFont(plot_->font().family(), 9, QFont::Bold)));
  plot_->xAxis->setLabel(tr("token"));
  plot_->yAxis->setLabel(tr("activation"));
  const QColor colours[SeriesCount] = {QColor(33, 102, 172), QColor(230, 120, 20), QColor(110, 110, 110)};
  const QString names[SeriesCount] = {tr("A"), tr("B"), tr("B − A")};
  for (int s = 0; s < SeriesCount; ++s) {
    bars_[s] = new QCPBars(plot_->xAxis, plot_->yAxis);
    bars_[s]->setName(names[s]);
    bars_[s]->setBrush(colours[s]);
    bars_[s]->setPen(Qt::NoPen);
  }
  // The legend in one row under the title, so it never covers a bar.
  plot_->legend->setVisible(true);
  plot_->legend->setFont(QFont(plot_->font().family(), 8));
  plot_->axisRect()->insetLayout()->take(plot_->legend);
  plot_->plotLayout()->insertRow(1);
  plot_->plotLayout()->addElement(1, 0, plot_->legend);
  plot_->plotLayout()->setRowStretchFactor(1, 0.001);
  plot_->legend->setFillOrder(QCPLegend::foColumnsFirst);
  plot_->legend->setBorderPen(Qt::NoPen);
  plot_->legend->setBrush(Qt::NoBrush);
  plot_->legend->setMargins(QMargins(2, 0, 2, 0));
  applyPlotTheme(plot_, isDarkPalette());
  clear();
}

void ComparePlot::clear() {
  empty_ = true;
  c_ = zs::PromptComparison();
  for (QCPBars* b : bars_) b->data()->clear();
  bars_[Diff]->setVisible(false);
  plot_->replot(QCustomPlot::rpQueuedReplot);
}

void ComparePlot::setComparison(const zs::PromptComparison& c) {
  c_ = c;
  empty_ = false;
  const int nA = static_cast<int>(c.a.acts.size()), nB = static_cast<int>(c.b.acts.size());
  const int n = std::max(nA, nB);
  // Side by side within each position: A, B (and B − A when the positions pair up).
  const int groups = c.aligned ? 3 : 2;
  const double width = 0.8 / groups;
  auto offset = [&](int s) { return (s - (groups - 1) / 2.0) * width; };
  double lo = 0, hi = 0;
  auto fill = [&](Series s, const std::vector<float>& v) {
    QVector<double> keys, vals;
    for (size_t t = 0; t < v.size(); ++t) {
      if (!std::isfinite(v[t])) continue;
      keys << double(t) + offset(s);
      vals << double(v[t]);
      lo = std::min(lo, double(v[t]));
      hi = std::max(hi, double(v[t]));
    }
    bars_[s]->setData(keys, vals, true);
    bars_[s]->setWidth(width * 0.92);
  };
  fill(A, c.a.acts);
  fill(B, c.b.acts);
  bars_[Diff]->setVisible(c.aligned);
  if (c.aligned) fill(Diff, c.actDiff);
  else bars_[Diff]->data()->clear();
  if (bars_[Diff]->visible()) bars_[Diff]->addToLegend();
  else bars_[Diff]->removeFromLegend();
  QStringList labels;
  for (int t = 0; t < n; ++t) {
    auto tok = [&](const zs::PromptSide& s) {
      if (t >= static_cast<int>(s.tokens.size())) return QString("–");
      QString x = QString::fromStdString(s.tokens[t].display);
      return x.size() > 8 ? x.left(7) + QChar(0x2026) : x;
    };
    const QString ta = tok(c.a), tb = tok(c.b);
    labels << (ta == tb ? QString("%1 %2").arg(t).arg(ta) : QString("%1 %2/%3").arg(t).arg(ta, tb));
  }
  plot_->xAxis->setTicker(thinTextTicker(plot_->xAxis, labels));
  plot_->xAxis->setTickLabelRotation(labels.size() > 6 ? 90 : 0);
  plot_->xAxis->setRange(-0.6, std::max(1, n) - 0.4);
  const double pad = 0.08 * std::max(1e-3, hi - lo);  // a feature silent on both: a small range around 0
  plot_->yAxis->setRange(lo - pad, hi + pad);
  plot_->replot(QCustomPlot::rpQueuedReplot);
}

QVector<double> ComparePlot::values(Series s) const {
  QVector<double> out;
  if (!bars_[s]->visible()) return out;
  for (auto it = bars_[s]->data()->constBegin(); it != bars_[s]->data()->constEnd(); ++it) out << it->value;
  return out;
}

void ComparePlot::applyTheme(bool dark) {
  applyPlotTheme(plot_, dark);
  plot_->replot(QCustomPlot::rpQueuedReplot);
}

QString ComparePlot::figureName() const {
  return empty_ ? QString("compare") : QString("compare_L%1_F%2").arg(c_.layer).arg(c_.feature);
}

void ComparePlot::paintFigure(QPainter& p, const QSize& size) { paintPlot(plot_, p, size); }

QString ComparePlot::figureCsv() const {
  QString out = "position,token_a,activation_a,token_b,activation_b,activation_b_minus_a\n";
  const size_t n = std::max(c_.a.acts.size(), c_.b.acts.size());
  auto num = [](const std::vector<float>& v, size_t t) {
    return t < v.size() && std::isfinite(v[t]) ? QString::number(v[t], 'g', 9) : QString();
  };
  auto tok = [](const zs::PromptSide& s, size_t t) {
    return t < s.tokens.size() ? csvField(QString::fromStdString(s.tokens[t].display)) : QString();
  };
  for (size_t t = 0; t < n; ++t)
    out += QString("%1,%2,%3,%4,%5,%6\n").arg(t).arg(tok(c_.a, t), num(c_.a.acts, t), tok(c_.b, t), num(c_.b.acts, t),
                                                      c_.aligned ? num(c_.actDiff, t) : QString());
  return out;
}

}  // namespace zs::gui
