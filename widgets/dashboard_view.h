#pragma once
// Feature dashboard from the feature database, after sae_vis / Neuronpedia:
// label, family and density; the activation histogram on a log axis with the
// quantile ranges marked; the top and bottom logit effects as a table and a bar
// plot; the feature's head-attribution bars; top-activating examples centred on
// their max token with per-token shading and the DFA source of the max; and the
// quantile groups, each labelled with its activation range.
#include <QWidget>

#include <memory>

#include "core/engine/engine.h"
#include "widgets/figure_export.h"

class QTextBrowser;
class QCustomPlot;

namespace zs::gui {

class PlotFigure;

class DashboardView : public QWidget, public FigureSource {
  Q_OBJECT
 public:
  explicit DashboardView(QWidget* parent = nullptr);
  ~DashboardView() override;
  void setDashboard(const zs::Dashboard& d);
  void showMessage(const QString& message);
  QString html() const;  // tests read it
  const zs::Dashboard& dashboard() const { return dash_; }
  void applyTheme(bool dark);

  // FigureSource: the activation histogram.
  QString figureName() const override;
  QSize figureSize() const override { return QSize(560, 320); }
  void paintFigure(QPainter& p, const QSize& size) override;
  QString figureCsv() const override;
  // The other figures of the dashboard.
  FigureSource* logitsFigure() const;
  FigureSource* headsFigure() const;
  QCustomPlot* histogramPlot() const { return hist_; }
  QCustomPlot* logitsPlot() const { return logits_; }
  QCustomPlot* headsPlot() const { return heads_; }

  // Tokens of an example shaded by activation (the max token bold). context >= 0
  // keeps only that many tokens either side of the max (with "…" for the rest).
  static QString exampleHtml(const zs::Example& e, float scaleMax, int context = -1);

 private:
  void fillHistogram(const zs::Dashboard& d);
  void fillLogits(const zs::Dashboard& d);
  void fillHeads(const zs::Dashboard& d);

  QTextBrowser* text_;
  QCustomPlot* hist_;
  QCustomPlot* logits_;
  QCustomPlot* heads_;
  std::unique_ptr<PlotFigure> logitsFig_, headsFig_;
  zs::Dashboard dash_;
};

}  // namespace zs::gui
