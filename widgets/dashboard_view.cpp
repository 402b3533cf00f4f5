// DashboardView: see dashboard_view.h.
#include "widgets/dashboard_view.h"

#include <QSplitter>
#include <QTextBrowser>
#include <QVBoxLayout>

#include <algorithm>

#include "widgets/qcp.h"

namespace zs::gui {

DashboardView::DashboardView(QWidget* parent) : QWidget(parent) {
  auto* lay = new QVBoxLayout(this);
  lay->setContentsMargins(0, 0, 0, 0);
  auto* split = new QSplitter(Qt::Vertical, this);
  text_ = new QTextBrowser(split);
  text_->setOpenLinks(false);
  hist_ = new QCustomPlot(split);
  hist_->setMinimumHeight(120);
  hist_->xAxis->setLabel(tr("activation"));
  hist_->yAxis->setLabel(tr("tokens"));
  split->addWidget(text_);
  split->addWidget(hist_);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 1);
  lay->addWidget(split);
  applyTheme(isDarkPalette());
  showMessage(tr("no feature database loaded"));
}

void DashboardView::applyTheme(bool dark) { applyPlotTheme(hist_, dark); }

void DashboardView::showMessage(const QString& message) {
  dash_ = zs::Dashboard();
  dash_.message = message.toStdString();
  text_->setHtml("<p><i>" + message.toHtmlEscaped() + "</i></p>");
  hist_->clearPlottables();
  hist_->replot(QCustomPlot::rpQueuedReplot);
}

QString DashboardView::html() const { return text_->toHtml(); }

QString DashboardView::exampleHtml(const zs::Example& e, float scaleMax) {
  QString s;
  for (size_t i = 0; i < e.tokens.size(); ++i) {
    const auto& t = e.tokens[i];
    const double a = scaleMax > 0 ? std::clamp(t.act / scaleMax, 0.f, 1.f) : 0.0;
    const QColor c = QColor::fromRgbF(1.0, 1.0 - 0.45 * a, 1.0 - a);
    QString tok = QString::fromStdString(t.display).toHtmlEscaped();
    if (static_cast<int>(i) == e.maxIndex) tok = "<b>" + tok + "</b>";
    s += QString("<span style=\"background-color:%1; color:#000\" title=\"%2\">%3</span>")
             .arg(c.name()).arg(t.act, 0, 'f', 3).arg(tok);
  }
  return s;
}

void DashboardView::setDashboard(const zs::Dashboard& d) {
  if (!d.available) {
    showMessage(d.message.empty() ? tr("no feature database loaded") : QString::fromStdString(d.message));
    dash_ = d;
    return;
  }
  dash_ = d;
  QString h = QString("<h3>Layer %1 · feature %2</h3>").arg(d.layer).arg(d.feature);
  h += QString("<p><b>Label:</b> %1 &nbsp; <b>Family:</b> %2")
           .arg(d.label.empty() ? tr("<i>unlabelled</i>") : QString::fromStdString(d.label).toHtmlEscaped(),
                d.family.empty() ? tr("—") : QString::fromStdString(d.family).toHtmlEscaped());
  if (!d.familySuggestion.empty()) h += tr(" &nbsp; <b>Suggested:</b> ") + QString::fromStdString(d.familySuggestion).toHtmlEscaped();
  h += QString("<br><b>Density:</b> %1% &nbsp; <b>max</b> %2 &nbsp; <b>mean</b> %3</p>")
           .arg(100 * d.density, 0, 'g', 3).arg(d.maxActivation, 0, 'f', 3).arg(d.meanActivation, 0, 'f', 3);
  auto logits = [](const std::vector<std::pair<std::string, float>>& v) {
    QString s;
    for (const auto& [t, x] : v) s += QString("<code>%1</code>&nbsp;%2 &nbsp; ").arg(QString::fromStdString(t).toHtmlEscaped()).arg(x, 0, 'f', 2);
    return s;
  };
  if (!d.topLogits.empty()) h += "<p><b>Promotes:</b> " + logits(d.topLogits) + "<br><b>Suppresses:</b> " + logits(d.bottomLogits) + "</p>";
  const float scale = static_cast<float>(d.maxActivation);
  h += tr("<h4>Top activating examples</h4>");
  for (const auto& e : d.top)
    h += QString("<p><small>%1 (max %2)</small><br>%3</p>").arg(QString::fromStdString(e.title)).arg(e.maxAct, 0, 'f', 3).arg(exampleHtml(e, scale));
  if (!d.quantiles.empty()) {
    h += tr("<h4>Quantile examples</h4>");
    for (const auto& e : d.quantiles)
      h += QString("<p><small>%1 (max %2)</small><br>%3</p>").arg(QString::fromStdString(e.title)).arg(e.maxAct, 0, 'f', 3).arg(exampleHtml(e, scale));
  }
  text_->setHtml(h);

  hist_->clearPlottables();
  if (d.histEdges.size() >= 2 && !d.histCounts.empty()) {
    auto* bars = new QCPBars(hist_->xAxis, hist_->yAxis);
    QVector<double> keys, vals;
    for (size_t i = 0; i < d.histCounts.size() && i + 1 < d.histEdges.size(); ++i) {
      keys << (d.histEdges[i] + d.histEdges[i + 1]) / 2;
      vals << d.histCounts[i];
    }
    bars->setData(keys, vals);
    bars->setWidth(d.histEdges[1] - d.histEdges[0]);
    bars->setBrush(QColor(255, 140, 0, 180));
    bars->setPen(Qt::NoPen);
    hist_->rescaleAxes();
  }
  hist_->replot(QCustomPlot::rpQueuedReplot);
}

QString DashboardView::figureName() const { return QString("histogram_L%1_F%2").arg(dash_.layer).arg(dash_.feature); }

void DashboardView::paintFigure(QPainter& p, const QSize& size) {
  hist_->toPainter(static_cast<QCPPainter*>(&p), size.width(), size.height());
}

QString DashboardView::figureCsv() const {
  QString s = "bin_low,bin_high,count\n";
  for (size_t i = 0; i < dash_.histCounts.size() && i + 1 < dash_.histEdges.size(); ++i)
    s += QString("%1,%2,%3\n").arg(dash_.histEdges[i], 0, 'g', 9).arg(dash_.histEdges[i + 1], 0, 'g', 9).arg(dash_.histCounts[i], 0, 'g', 12);
  return s;
}

}  // namespace zs::gui
