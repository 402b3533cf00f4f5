#pragma once
// A compact feature dashboard for the labeling session: top activating
// examples with tokens coloured by activation (the max token bold), the
// activation histogram and the top/bottom logit effects. Shows a
// zs::db::FeatureDashboard (plain struct) that the panel read off the UI thread.
#include <QWidget>

#include "core/db/features.h"

class QCustomPlot;
class QLabel;
class QTextBrowser;

namespace zs::gui {

class LabelingDashboard : public QWidget {
  Q_OBJECT
 public:
  explicit LabelingDashboard(QWidget* parent = nullptr);
  void showDashboard(const zs::db::FeatureDashboard& d);
  void showPlaceholder(const QString& title, const QString& message);
  QString examplesHtml() const;  // tests
  QString titleText() const;     // tests

  // HTML for one example: tokens on a white->orange scale relative to `scale`.
  static QString exampleHtml(const zs::db::FeatureExample& e, float scale);

 private:
  QLabel* title_ = nullptr;
  QTextBrowser* examples_ = nullptr;
  QTextBrowser* logits_ = nullptr;
  QCustomPlot* hist_ = nullptr;
};

}  // namespace zs::gui
