#include "widgets/labeling_dashboard.h"

#include "widgets/qcp.h"

#include <QLabel>
#include <QSplitter>
#include <QTextBrowser>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>

namespace zs::gui {

LabelingDashboard::LabelingDashboard(QWidget* parent) : QWidget(parent) {
  auto* v = new QVBoxLayout(this);
  v->setContentsMargins(0, 0, 0, 0);
  title_ = new QLabel(this);
  title_->setObjectName(QStringLiteral("dashboardTitle"));
  title_->setTextFormat(Qt::RichText);
  v->addWidget(title_);
  auto* split = new QSplitter(Qt::Vertical, this);
  examples_ = new QTextBrowser(split);
  examples_->setObjectName(QStringLiteral("dashboardExamples"));
  examples_->setFocusPolicy(Qt::NoFocus);  // keep the keyboard in the label form
  auto* bottom = new QSplitter(Qt::Horizontal, split);
  hist_ = new QCustomPlot(bottom);
  hist_->setMinimumHeight(110);
  hist_->xAxis->setLabel(QStringLiteral("activation"));
  hist_->yAxis->setLabel(QStringLiteral("count"));
  hist_->yAxis->setScaleType(QCPAxis::stLogarithmic);
  hist_->xAxis->setScaleType(QCPAxis::stLogarithmic);
  for (QCPAxis* a : {hist_->xAxis, hist_->yAxis}) a->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
  logits_ = new QTextBrowser(bottom);
  logits_->setFocusPolicy(Qt::NoFocus);
  hist_->setMinimumWidth(320);  // readable axes; the logit table needs less
  bottom->setStretchFactor(0, 3);
  bottom->setStretchFactor(1, 2);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 1);
  v->addWidget(split, 1);
}

QString LabelingDashboard::exampleHtml(const zs::db::FeatureExample& e, float scale) {
  QString h;
  for (size_t i = 0; i < e.tokens.size(); ++i) {
    const float act = i < e.activations.size() ? e.activations[i] : 0.f;
    const double a = scale > 0 ? std::clamp(static_cast<double>(act) / scale, 0.0, 1.0) : 0.0;
    // White -> orange: readable on both palettes because the text is always black.
    const QColor c = QColor::fromRgbF(1.0, 1.0 - 0.45 * a, 1.0 - 0.85 * a);
    QString text = QString::fromStdString(e.tokens[i]).toHtmlEscaped();
    if (static_cast<int>(i) == e.maxPos) text = QStringLiteral("<b>") + text + QStringLiteral("</b>");
    h += QStringLiteral("<span style=\"background:%1;color:black\" title=\"%2\">%3</span>")
             .arg(c.name())
             .arg(act, 0, 'g', 3)
             .arg(text);
  }
  return h;
}

QString LabelingDashboard::titleText() const { return title_->text(); }

void LabelingDashboard::showDashboard(const zs::db::FeatureDashboard& d) {
  const auto& st = d.stats;
  title_->setText(QStringLiteral("<b>L%1 F%2</b> &nbsp; density %3 &nbsp; max %4 &nbsp; %5")
                      .arg(st.layer)
                      .arg(st.feature)
                      .arg(st.density, 0, 'g', 3)
                      .arg(st.maxActivation, 0, 'f', 2)
                      .arg(st.family.empty() ? QString()
                                             : tr("suggested family: %1").arg(QString::fromStdString(st.family))));
  float scale = 0;
  for (const auto& e : d.top) scale = std::max(scale, e.activation);
  QString html = QStringLiteral("<div style=\"font-family:monospace\">");
  if (d.top.empty()) html += tr("<p><i>No examples (dead feature?)</i></p>");
  for (const auto& e : d.top)
    html += QStringLiteral("<p><i>%1</i>&nbsp; %2</p>").arg(e.activation, 0, 'f', 2).arg(exampleHtml(e, scale));
  int bucket = -2;
  for (const auto& e : d.quantiles) {
    if (e.bucket != bucket) {
      bucket = e.bucket;
      html += QStringLiteral("<p><b>%1</b></p>").arg(tr("quantile %1").arg(bucket));
    }
    html += QStringLiteral("<p><i>%1</i>&nbsp; %2</p>").arg(e.activation, 0, 'f', 2).arg(exampleHtml(e, scale));
  }
  html += QStringLiteral("</div>");
  examples_->setHtml(html);

  QString lg = QStringLiteral("<table><tr><th>top logits</th><th></th><th>bottom</th><th></th></tr>");
  const size_t n = std::max(st.logitsTop.size(), st.logitsBottom.size());
  auto cell = [](const std::vector<zs::db::LogitEffect>& v, size_t i) {
    if (i >= v.size()) return QStringLiteral("<td></td><td></td>");
    return QStringLiteral("<td><tt>%1</tt></td><td>%2</td>")
        .arg(QString::fromStdString(v[i].token).toHtmlEscaped())
        .arg(v[i].value, 0, 'f', 2);
  };
  for (size_t i = 0; i < n; ++i)
    lg += QStringLiteral("<tr>") + cell(st.logitsTop, i) + cell(st.logitsBottom, i) + QStringLiteral("</tr>");
  logits_->setHtml(lg + QStringLiteral("</table>"));

  // histCounts = [zero, below first edge, n bins..., at/above last edge]; the
  // plot shows the n log-spaced positive bins.
  hist_->clearPlottables();
  const size_t nb = d.histEdges.size() >= 2 ? d.histEdges.size() - 1 : 0;
  if (nb > 0 && d.histCounts.size() == nb + 3) {
    auto* bars = new QCPBars(hist_->xAxis, hist_->yAxis);
    bars->setWidthType(QCPBars::wtPlotCoords);
    bars->setWidth(0);  // a line per bin: bin widths differ on a log axis
    bars->setPen(QPen(QColor(230, 120, 20), 3));
    double top = 1;
    for (size_t i = 0; i < nb; ++i) {
      const double c = d.histCounts[i + 2];
      if (c <= 0) continue;
      bars->addData(std::sqrt(std::max(d.histEdges[i], 1e-9) * std::max(d.histEdges[i + 1], 1e-9)), c);
      top = std::max(top, c);
    }
    hist_->xAxis->setRange(std::max(d.histEdges.front(), 1e-6), std::max(d.histEdges.back(), 1e-5));
    hist_->yAxis->setRange(0.8, top * 1.5);
  }
  hist_->replot();
}

void LabelingDashboard::showPlaceholder(const QString& title, const QString& message) {
  title_->setText(QStringLiteral("<b>%1</b>").arg(title.toHtmlEscaped()));
  examples_->setHtml(QStringLiteral("<p><i>%1</i></p>").arg(message.toHtmlEscaped()));
  logits_->clear();
  hist_->clearPlottables();
  hist_->replot();
}

QString LabelingDashboard::examplesHtml() const { return examples_->toHtml(); }

}  // namespace zs::gui
