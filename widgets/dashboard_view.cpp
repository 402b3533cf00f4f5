// DashboardView: see dashboard_view.h.
#include "widgets/dashboard_view.h"

#include <QGridLayout>
#include <QSplitter>
#include <QTextBrowser>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

#include "widgets/heatmap_plot.h"
#include "widgets/qcp.h"

namespace zs::gui {

namespace {
QCustomPlot* smallPlot(QWidget* parent, const QString& name, const QString& title) {
  auto* p = new QCustomPlot(parent);
  p->setObjectName(name);
  p->setMinimumSize(160, 110);
  p->plotLayout()->insertRow(0);
  auto* t = new QCPTextElement(p, title, QFont(p->font().family(), 9, QFont::Bold));
  t->setObjectName("title");
  p->plotLayout()->addElement(0, 0, t);
  return p;
}
QCPTextElement* titleOf(QCustomPlot* p) { return qobject_cast<QCPTextElement*>(p->plotLayout()->element(0, 0)); }

QString num(double v) { return QString::number(v, 'g', 3); }
}  // namespace

DashboardView::DashboardView(QWidget* parent) : QWidget(parent) {
  auto* lay = new QVBoxLayout(this);
  lay->setContentsMargins(0, 0, 0, 0);
  auto* split = new QSplitter(Qt::Vertical, this);
  split->setChildrenCollapsible(false);
  text_ = new QTextBrowser(split);
  text_->setOpenLinks(false);
  text_->setMinimumHeight(80);
  auto* plots = new QWidget(split);
  auto* grid = new QGridLayout(plots);
  grid->setContentsMargins(0, 0, 0, 0);
  grid->setSpacing(2);
  hist_ = smallPlot(plots, "histogramPlot", tr("Activation histogram"));
  hist_->xAxis->setLabel(tr("activation (log scale)"));
  hist_->yAxis->setLabel(tr("tokens"));
  hist_->xAxis->setScaleType(QCPAxis::stLogarithmic);
  logits_ = smallPlot(plots, "logitsPlot", tr("Logit effects"));
  logits_->xAxis->setLabel(tr("direct effect on the logit"));
  heads_ = smallPlot(plots, "headBarsPlot", tr("Head attribution"));
  heads_->yAxis->setLabel(tr("fraction"));
  heads_->xAxis->setLabel(tr("head"));
  grid->addWidget(hist_, 0, 0, 1, 2);
  grid->addWidget(logits_, 1, 0);
  grid->addWidget(heads_, 1, 1);
  grid->setRowStretch(0, 1);
  grid->setRowStretch(1, 1);
  grid->setColumnStretch(0, 3);
  grid->setColumnStretch(1, 2);
  split->addWidget(text_);
  split->addWidget(plots);
  split->setStretchFactor(0, 1);
  split->setStretchFactor(1, 1);
  lay->addWidget(split);
  logitsFig_ = std::make_unique<PlotFigure>(
      logits_, [this] { return QString("logits_L%1_F%2").arg(dash_.layer).arg(dash_.feature); },
      [this] {
        QString s = "kind,token,value\n";
        for (const auto& [t, v] : dash_.topLogits) s += "top," + csvField(QString::fromStdString(t)) + "," + QString::number(v, 'g', 9) + "\n";
        for (const auto& [t, v] : dash_.bottomLogits) s += "bottom," + csvField(QString::fromStdString(t)) + "," + QString::number(v, 'g', 9) + "\n";
        return s;
      },
      QSize(420, 360));
  headsFig_ = std::make_unique<PlotFigure>(
      heads_, [this] { return QString("heads_L%1_F%2").arg(dash_.layer).arg(dash_.feature); },
      [this] {
        QString s = "head,fraction\n";
        for (size_t h = 0; h < dash_.headAttribution.size(); ++h) s += QString("%1,%2\n").arg(h).arg(dash_.headAttribution[h], 0, 'g', 9);
        return s;
      },
      QSize(360, 240));
  applyTheme(isDarkPalette());
  showMessage(tr("no feature database loaded"));
}

DashboardView::~DashboardView() = default;

FigureSource* DashboardView::logitsFigure() const { return logitsFig_.get(); }
FigureSource* DashboardView::headsFigure() const { return headsFig_.get(); }

void DashboardView::applyTheme(bool dark) {
  for (QCustomPlot* p : {hist_, logits_, heads_}) applyPlotTheme(p, dark);
  if (dash_.available) setDashboard(Dashboard(dash_));  // item colours follow the palette
}

void DashboardView::showMessage(const QString& message) {
  dash_ = zs::Dashboard();
  dash_.message = message.toStdString();
  text_->setHtml("<p><i>" + message.toHtmlEscaped() + "</i></p>");
  for (QCustomPlot* p : {hist_, logits_, heads_}) {
    p->clearPlottables();
    p->clearItems();
    setPlotAxesVisible(p, false);
    p->replot(QCustomPlot::rpQueuedReplot);
  }
}

QString DashboardView::html() const { return text_->toHtml(); }

QString DashboardView::exampleHtml(const zs::Example& e, float scaleMax, int context) {
  QString s;
  const int n = static_cast<int>(e.tokens.size());
  int from = 0, to = n;
  if (context >= 0) {
    from = std::max(0, e.maxIndex - context);
    to = std::min(n, e.maxIndex + context + 1);
  }
  if (from > 0) s += "<span style=\"color:#888\">…</span>";
  for (int i = from; i < to; ++i) {
    const auto& t = e.tokens[i];
    const double a = scaleMax > 0 ? std::clamp(t.act / scaleMax, 0.f, 1.f) : 0.0;
    const QColor c = QColor::fromRgbF(1.0, 1.0 - 0.45 * a, 1.0 - a);
    QString tok = QString::fromStdString(t.display).toHtmlEscaped();
    if (i == e.maxIndex) tok = "<u><b>" + tok + "</b></u>";
    else if (i == e.dfaSource) tok = "<i>" + tok + "</i>";
    s += QString("<span style=\"background-color:%1; color:#000\" title=\"%2\">%3</span>")
             .arg(c.name()).arg(t.act, 0, 'f', 3).arg(tok);
  }
  if (to < n) s += "<span style=\"color:#888\">…</span>";
  return s;
}

static QString dfaNote(const zs::Example& e) {
  if (e.dfaSource < 0 || e.dfaSource >= static_cast<int>(e.tokens.size())) return {};
  return QObject::tr(" · DFA source <i>%1</i> (pos %2, H%3, %4)")
      .arg(QString::fromStdString(e.tokens[e.dfaSource].display).toHtmlEscaped())
      .arg(e.dfaSource).arg(e.dfaHead).arg(e.dfaValue, 0, 'f', 3);
}

void DashboardView::setDashboard(const zs::Dashboard& d) {
  if (!d.available) {
    showMessage(d.message.empty() ? tr("no feature database loaded") : QString::fromStdString(d.message));
    dash_ = d;
    return;
  }
  dash_ = d;
  for (QCustomPlot* p : {hist_, logits_, heads_}) setPlotAxesVisible(p, true);
  constexpr int kContext = 10;  // tokens either side of the max
  QString h = QString("<h3>Layer %1 · feature %2</h3>").arg(d.layer).arg(d.feature);
  h += QString("<p><b>Label:</b> %1 &nbsp; <b>Family:</b> %2")
           .arg(d.label.empty() ? tr("<i>unlabelled</i>") : QString::fromStdString(d.label).toHtmlEscaped(),
                d.family.empty() ? tr("—") : QString::fromStdString(d.family).toHtmlEscaped());
  if (!d.familySuggestion.empty()) h += tr(" &nbsp; <b>Suggested:</b> ") + QString::fromStdString(d.familySuggestion).toHtmlEscaped();
  h += QString("<br><b>Density:</b> %1% &nbsp; <b>max</b> %2 &nbsp; <b>mean</b> %3</p>")
           .arg(100 * d.density, 0, 'g', 3).arg(d.maxActivation, 0, 'f', 3).arg(d.meanActivation, 0, 'f', 3);
  if (!d.topLogits.empty() || !d.bottomLogits.empty()) {
    h += "<table cellspacing=0 cellpadding=2><tr><th align=left>" + tr("Promotes") + "</th><th></th><th>&nbsp;&nbsp;</th><th align=left>" +
         tr("Suppresses") + "</th><th></th></tr>";
    const size_t rows = std::max(d.topLogits.size(), d.bottomLogits.size());
    for (size_t i = 0; i < rows; ++i) {
      h += "<tr>";
      for (const auto* v : {&d.topLogits, &d.bottomLogits}) {
        if (i < v->size())
          h += QString("<td><code>%1</code></td><td align=right>%2</td>")
                   .arg(QString::fromStdString((*v)[i].first).toHtmlEscaped()).arg((*v)[i].second, 0, 'f', 2);
        else
          h += "<td></td><td></td>";
        if (v == &d.topLogits) h += "<td></td>";
      }
      h += "</tr>";
    }
    h += "</table>";
  }
  const float scale = static_cast<float>(d.maxActivation);
  h += tr("<h4>Top activating examples</h4>");
  for (const auto& e : d.top)
    h += QString("<p><small>%1 (max %2)%3</small><br>%4</p>")
             .arg(QString::fromStdString(e.title)).arg(e.maxAct, 0, 'f', 3).arg(dfaNote(e)).arg(exampleHtml(e, scale, kContext));
  int bucket = -2;
  for (const auto& e : d.quantiles) {
    if (e.bucket != bucket) {
      bucket = e.bucket;
      const QString range = std::isinf(e.rangeHi) ? tr("activation ≥ %1").arg(num(e.rangeLo))
                            : e.rangeLo <= 0    ? tr("activation < %1").arg(num(e.rangeHi))
                                                : tr("activation %1 – %2").arg(num(e.rangeLo), num(e.rangeHi));
      h += QString("<h4>%1</h4>").arg(tr("Quantile group: %1").arg(range));
    }
    h += QString("<p><small>max %1%2</small><br>%3</p>").arg(e.maxAct, 0, 'f', 3).arg(dfaNote(e)).arg(exampleHtml(e, scale, kContext));
  }
  text_->setHtml(h);
  fillHistogram(d);
  fillLogits(d);
  fillHeads(d);
}

void DashboardView::fillHistogram(const zs::Dashboard& d) {
  hist_->clearPlottables();
  hist_->clearItems();
  const bool dark = isDarkPalette();
  const size_t n = std::min(d.histCounts.size(), d.histEdges.size() > 0 ? d.histEdges.size() - 1 : 0);
  // Only the bins from the first to the last non-empty one: the stored edges
  // span many decades, the feature's activations a few.
  size_t first = n, last = 0;
  double peak = 0;
  for (size_t i = 0; i < n; ++i)
    if (d.histCounts[i] > 0) {
      first = std::min(first, i);
      last = i;
      peak = std::max(peak, d.histCounts[i]);
    }
  double total = 0;
  for (size_t i = 0; i < n; ++i) total += d.histCounts[i];
  titleOf(hist_)->setText(tr("Activation histogram (%1 firing tokens)").arg(total + d.histBelow + d.histAbove, 0, 'f', 0));
  if (first < n && d.histEdges[first] > 0) {
    auto* g = new QCPGraph(hist_->xAxis, hist_->yAxis);
    g->setLineStyle(QCPGraph::lsStepLeft);
    QVector<double> keys, vals;
    for (size_t i = first; i <= last; ++i) {
      keys << d.histEdges[i];
      vals << d.histCounts[i];
    }
    keys << d.histEdges[last + 1];
    vals << 0;
    g->setData(keys, vals, true);
    g->setPen(QPen(QColor(230, 120, 0), 1.2));
    g->setBrush(QColor(255, 140, 0, 150));
    const double lo = d.histEdges[first], hi = d.histEdges[last + 1];
    hist_->xAxis->setRange(lo / 1.2, hi * 1.2);
    // Ticks at 1, 2 and 5 times the powers of ten inside the range (a feature's
    // activations span a few decades; powers of ten alone leave one tick).
    QSharedPointer<QCPAxisTickerText> ticks(new QCPAxisTickerText);
    const bool fewDecades = std::log10(hi / lo) <= 2.2;
    for (int k = int(std::floor(std::log10(lo / 1.2))); k <= int(std::ceil(std::log10(hi * 1.2))); ++k)
      for (double m : fewDecades ? std::vector<double>{1.0, 2.0, 5.0} : std::vector<double>{1.0}) {
        const double x = m * std::pow(10.0, k);
        if (x >= lo / 1.2 && x <= hi * 1.2) ticks->addTick(x, num(x));
      }
    hist_->xAxis->setTicker(ticks);
    hist_->yAxis->setRange(0, peak * 1.15);
    // Quantile ranges: a dashed line at each bucket edge inside the plot, the
    // buckets numbered between them (their examples are listed above).
    const QColor mark = dark ? QColor(150, 190, 255) : QColor(40, 80, 160);
    int inside = 0;
    for (double x : d.quantileEdges) inside += x > lo / 1.2 && x < hi * 1.2;
    int shown = 0;
    for (size_t b = 0; b < d.quantileEdges.size(); ++b) {
      const double x = d.quantileEdges[b];
      if (x <= lo / 1.2 || x >= hi * 1.2) continue;
      const bool labelled = inside <= 5 || shown++ % 2 == 0;  // every other edge named when crowded
      auto* line = new QCPItemStraightLine(hist_);
      line->point1->setCoords(x, 0);
      line->point2->setCoords(x, 1);
      line->setPen(QPen(mark, 1, Qt::DashLine));
      auto* t = new QCPItemText(hist_);
      t->position->setTypeX(QCPItemPosition::ptPlotCoords);
      t->position->setTypeY(QCPItemPosition::ptAxisRectRatio);
      t->position->setCoords(x, 0.02);
      t->setPositionAlignment(Qt::AlignLeft | Qt::AlignTop);
      t->setText(num(x));
      t->setColor(mark);
      t->setFont(QFont(font().family(), 7));
      t->setVisible(labelled);
    }
    if (d.maxActivation > 0) {
      auto* mx = new QCPItemStraightLine(hist_);
      mx->point1->setCoords(d.maxActivation, 0);
      mx->point2->setCoords(d.maxActivation, 1);
      mx->setPen(QPen(QColor(200, 40, 40), 1.2));
    }
  }
  hist_->replot(QCustomPlot::rpQueuedReplot);
}

void DashboardView::fillLogits(const zs::Dashboard& d) {
  logits_->clearPlottables();
  // Horizontal bars: promoted tokens (red) on top, suppressed (blue) below.
  // The strongest 8 each way (the table above lists them all).
  constexpr size_t kBars = 8;
  std::vector<std::pair<std::string, float>> rows;
  for (size_t i = 0; i < d.topLogits.size() && i < kBars; ++i) rows.push_back(d.topLogits[i]);
  std::vector<std::pair<std::string, float>> bottom(d.bottomLogits.begin(), d.bottomLogits.begin() + std::min(kBars, d.bottomLogits.size()));
  std::reverse(bottom.begin(), bottom.end());  // most negative last, at the bottom
  rows.insert(rows.end(), bottom.begin(), bottom.end());
  if (!rows.empty()) {
    logits_->yAxis->setRangeReversed(true);
    auto* pos = new QCPBars(logits_->yAxis, logits_->xAxis);
    auto* neg = new QCPBars(logits_->yAxis, logits_->xAxis);
    QStringList labels;
    double lo = 0, hi = 0;
    for (size_t i = 0; i < rows.size(); ++i) {
      const double v = rows[i].second;
      (v >= 0 ? pos : neg)->addData(double(i), v);
      labels << QString::fromStdString(rows[i].first);
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    pos->setBrush(QColor(178, 24, 43));
    neg->setBrush(QColor(33, 102, 172));
    for (QCPBars* b : {pos, neg}) {
      b->setPen(Qt::NoPen);
      b->setWidth(0.75);
    }
    QFont f = logits_->yAxis->tickLabelFont();
    f.setPointSizeF(8);
    logits_->yAxis->setTickLabelFont(f);
    logits_->yAxis->setTicker(thinTextTicker(logits_->yAxis, labels));  // every k-th token when crowded
    logits_->yAxis->setRange(-0.6, rows.size() - 0.4);
    const double pad = 0.08 * std::max(1e-6, hi - lo);
    logits_->xAxis->setRange(lo - pad, hi + pad);
  }
  logits_->replot(QCustomPlot::rpQueuedReplot);
}

void DashboardView::fillHeads(const zs::Dashboard& d) {
  heads_->clearPlottables();
  if (!d.headAttribution.empty()) {
    auto* bars = new QCPBars(heads_->xAxis, heads_->yAxis);
    QSharedPointer<QCPAxisTickerText> ticks(new QCPAxisTickerText);
    const int n = static_cast<int>(d.headAttribution.size());
    const int step = std::max(1, n / 12);
    double hi = 0;
    for (int h = 0; h < n; ++h) {
      bars->addData(h, d.headAttribution[h]);
      if (h % step == 0) ticks->addTick(h, QString::number(h));
      hi = std::max<double>(hi, d.headAttribution[h]);
    }
    bars->setBrush(QColor(68, 119, 170));
    bars->setPen(Qt::NoPen);
    bars->setWidth(0.8);
    heads_->xAxis->setTicker(ticks);
    heads_->xAxis->setRange(-0.6, n - 0.4);
    heads_->yAxis->setRange(0, std::max(0.05, hi * 1.1));
  }
  heads_->replot(QCustomPlot::rpQueuedReplot);
}

QString DashboardView::figureName() const { return QString("histogram_L%1_F%2").arg(dash_.layer).arg(dash_.feature); }

void DashboardView::paintFigure(QPainter& p, const QSize& size) { paintPlot(hist_, p, size); }

QString DashboardView::figureCsv() const {
  QString s = "bin_low,bin_high,count\n";
  for (size_t i = 0; i < dash_.histCounts.size() && i + 1 < dash_.histEdges.size(); ++i)
    s += QString("%1,%2,%3\n").arg(dash_.histEdges[i], 0, 'g', 9).arg(dash_.histEdges[i + 1], 0, 'g', 9).arg(dash_.histCounts[i], 0, 'g', 12);
  return s;
}

}  // namespace zs::gui
