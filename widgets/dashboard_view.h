#pragma once
// Feature dashboard from the feature database: label and family, density,
// activation histogram (QCustomPlot), top logit effects, top activating and
// quantile examples with coloured tokens (the max token bold).
#include <QWidget>

#include "core/engine/engine.h"
#include "widgets/figure_export.h"

class QTextBrowser;
class QCustomPlot;

namespace zs::gui {

class DashboardView : public QWidget, public FigureSource {
  Q_OBJECT
 public:
  explicit DashboardView(QWidget* parent = nullptr);
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

  static QString exampleHtml(const zs::Example& e, float scaleMax);

 private:
  QTextBrowser* text_;
  QCustomPlot* hist_;
  zs::Dashboard dash_;
};

}  // namespace zs::gui
