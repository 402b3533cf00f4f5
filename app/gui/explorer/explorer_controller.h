#pragma once
// The explorer: creates the prompt, token, feature-table, heatmap, RDFA and
// dashboard docks, keeps the selection (position, feature) with back/forward
// history, and turns UI events into worker requests. Results are shown only
// when their request id is still the newest of its kind.
#include <QElapsedTimer>
#include <QObject>
#include <QVector>

#include <memory>

#include "app/gui/worker.h"
#include "widgets/figure_export.h"

class QMainWindow;
class QDockWidget;
class QListWidget;
class QTableView;
class QLineEdit;
class QComboBox;
class QLabel;
class PromptEditor;
class InterventionPanel;
class CompareView;
namespace zs::gui {
class TokenView;
class HeatmapPlot;
class FeatureTableModel;
class FeatureFilterProxy;
class RdfaTreeModel;
class RdfaTreeView;
class DashboardView;
class HeadFeatureModel;
class FigureSource;
class RdfaTreeFigure;
}  // namespace zs::gui

// Right-click on `w` offers "Export figure…" for `src` (explorer_docks.cpp).
void addExportMenu(QWidget* w, zs::gui::FigureSource* src);

struct Selection {
  int pos = -1;
  int layer = -1;
  qint64 feature = -1;  // -1: no feature (token-level view)
  bool operator==(const Selection& o) const { return pos == o.pos && layer == o.layer && feature == o.feature; }
};

class ExplorerController : public QObject {
  Q_OBJECT
 public:
  ExplorerController(QMainWindow* window, Worker* worker);

  QList<QDockWidget*> docks() const { return docks_; }
  // Figures for File > Export: (menu text, source).
  QList<QPair<QString, zs::gui::FigureSource*>> figures() const;
  // A figure by its --export-figure name: tokens, heads, dfa, histogram,
  // logits, headbars, tree, intervention, compare; nullptr for another name.
  zs::gui::FigureSource* figure(const QString& kind) const;

  // The current state (tests read it).
  const zs::PromptAnalysis& analysis() const { return analysis_; }
  const zs::FeatureDetail& featureDetail() const { return detail_; }
  const zs::DfaResult& dfaResult() const { return dfa_; }
  Selection selection() const { return sel_; }
  bool busy() const { return pending_ > 0; }
  double lastLatencyMs() const { return lastLatencyMs_; }
  QString lastError() const { return lastError_; }
  // Next-token predictions and loss at the selected position (tests read them).
  const zs::PositionPredictions& predictions() const { return predictions_data_; }
  QLabel* predictionsLabel() const { return predictions_; }

  PromptEditor* prompt() const { return prompt_; }
  zs::gui::TokenView* tokenView() const { return tokens_; }
  QTableView* featureTable() const { return table_; }
  zs::gui::FeatureTableModel* featureModel() const { return tableModel_; }
  zs::gui::FeatureFilterProxy* featureProxy() const { return proxy_; }
  zs::gui::HeatmapPlot* headMap() const { return heads_; }
  zs::gui::HeatmapPlot* dfaMap() const { return dfaMap_; }
  // The clicked head's features (click a head-attribution cell; double-click a row to select it).
  QTableView* headFeatureTable() const { return headTable_; }
  zs::gui::HeadFeatureModel* headFeatureModel() const { return headModel_; }
  zs::gui::RdfaTreeModel* treeModel() const { return treeModel_; }
  zs::gui::RdfaTreeView* treeView() const { return tree_; }
  zs::gui::DashboardView* dashboard() const { return dash_; }
  InterventionPanel* interventionPanel() const { return intervene_; }
  // Two prompts side by side (the "Compare prompts" dock, tabbed with the RDFA tree).
  CompareView* compareView() const { return compare_; }

 public Q_SLOTS:
  void run(const QString& text, bool bos);
  // The same, cutting a prompt longer than the model's context to its first tokens.
  void runTruncated(const QString& text, bool bos);
  void selectPosition(int pos);
  void selectFeature(int layer, qint64 feature);  // at the current position, recorded in history
  void back();
  void forward();
 public:
  // Go to a feature: "L:F" or "L:F@POS" (Ctrl+G). False with *error when it
  // cannot be parsed, no prompt ran, or the layer has no SAE.
  bool goTo(const QString& spec, QString* error = nullptr);
 public Q_SLOTS:
  void applyTheme(bool dark);
  void cancel();

 Q_SIGNALS:
  void busyChanged(bool busy, const QString& what);
  void analysisShown(const QString& prompt);  // after a (current) analysis reached the views
  void latencyMeasured(double totalMs, double workerMs);
  void error(const QString& message);
  // An analysis was refused because the prompt is longer than the context;
  // the window offers to run it truncated.
  void promptTooLong(const QString& text, bool bos, const QString& message);
  void navigationChanged(bool canBack, bool canForward);
  // The selection (position, feature) or the analysis behind it changed.
  void selectionChanged();

 private:
  void buildDocks(QMainWindow* w);
  void arrangeDocks(QMainWindow* w);
 public:
  void sizeDocks(QMainWindow* w);  // the default arrangement's proportions for the window's size
 private:
  QDockWidget* addDock(QMainWindow* w, const QString& name, const QString& title, QWidget* content, Qt::DockWidgetArea area);
  void apply(const Selection& s, bool record);
  void showPosition(bool refill);
  void showTokenHeads();
  void onAnalysed(quint64 id, const zs::PromptAnalysis& r, double ms);
  void onFeature(quint64 id, const zs::FeatureDetail& d);
  void onDfa(quint64 id, const zs::DfaResult& d);
  void onFailed(quint64 id, int kind, const QString& msg);
  void begin(const QString& what);
  void end();
  QString tokenTooltip(int pos) const;
  QStringList tokenLabels(int upTo) const;

  QMainWindow* window_;
  Worker* worker_;
  QList<QDockWidget*> docks_;
  PromptEditor* prompt_ = nullptr;
  zs::gui::TokenView* tokens_ = nullptr;
  QTableView* table_ = nullptr;
  zs::gui::FeatureTableModel* tableModel_ = nullptr;
  zs::gui::FeatureFilterProxy* proxy_ = nullptr;
  QLineEdit* search_ = nullptr;
  QComboBox* layerFilter_ = nullptr;
  zs::gui::HeatmapPlot* heads_ = nullptr;
  QTableView* headTable_ = nullptr;
  zs::gui::HeadFeatureModel* headModel_ = nullptr;
  zs::gui::HeatmapPlot* dfaMap_ = nullptr;
  zs::gui::RdfaTreeModel* treeModel_ = nullptr;
  zs::gui::RdfaTreeView* tree_ = nullptr;
  zs::gui::DashboardView* dash_ = nullptr;
  QLabel* predictions_ = nullptr;
  InterventionPanel* intervene_ = nullptr;
  CompareView* compare_ = nullptr;
  std::unique_ptr<zs::gui::FigureSource> treeFigure_;

  void requestPredictions();
  // The clicked head's features (again when the feature database opens or closes).
  void requestHeadFeatures(int layer, int head);
  void requestDashboard(int layer, qint64 feature);  // from the feature database, on the worker
  void refreshDashboard(bool databaseOpen);          // after a database opens or closes
  int headLayer_ = -1, headHead_ = -1;  // the head last clicked; -1: none
  zs::PositionPredictions predictions_data_;
  zs::PromptAnalysis analysis_;
  zs::FeatureDetail detail_;
  zs::DfaResult dfa_;
  Selection sel_;
  QVector<Selection> history_;
  int historyIndex_ = -1;
  int pending_ = 0;
  QElapsedTimer runTimer_;
  double lastLatencyMs_ = 0;
  QString lastError_;
  QString pendingText_;  // the prompt of the newest analysis request
  bool pendingBos_ = true;
};
