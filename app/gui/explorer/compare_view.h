#pragma once
// Two prompts side by side (e.g. the IOI "ABBA" and "BABA" orders): the
// selected feature's activation on every token of the explorer's prompt (A)
// and of a second prompt (B), its DFA by source token and by head at each
// prompt's destination, and B − A where the positions pair up (same token
// count; otherwise each prompt on its own, said so). It follows the explorer's
// selection; the work runs on the worker (Engine::comparePrompts, which leaves
// the explorer's analysis alone), and only the newest request's result is shown.
// Beside the tables (a second tab), a bar plot of both activations and B − A (ComparePlot),
// exportable from its context menu, File > Export and --export-figure compare.
// Double-clicking a position selects it in every view (a history entry).
#include <QWidget>

#include "core/engine/engine.h"

class QLabel;
class QLineEdit;
class QTableView;
class Worker;
class ExplorerController;
namespace zs::gui {
class PromptCompareModel;
class ComparePlot;
class TokenView;
}  // namespace zs::gui

class CompareView : public QWidget {
  Q_OBJECT
 public:
  CompareView(Worker* worker, ExplorerController* explorer, QWidget* parent = nullptr);

  // Sets prompt B and compares (an empty text clears the view).
  void setPromptB(const QString& text);
  QString promptB() const;
  // Compares the explorer's selected feature on A and B (no-op without a prompt B).
  void compare();

  bool hasResult() const { return shown_; }
  const zs::PromptComparison& comparison() const { return result_; }
  QString status() const;
  double lastMs() const { return lastMs_; }  // the worker's time for the shown result
  zs::gui::PromptCompareModel* tokenModel() const { return tokenModel_; }
  zs::gui::PromptCompareModel* headModel() const { return headModel_; }
  QTableView* tokenTable() const { return tokenTable_; }
  zs::gui::TokenView* tokensA() const { return tokensA_; }
  zs::gui::TokenView* tokensB() const { return tokensB_; }
  zs::gui::ComparePlot* comparePlot() const { return plot_; }

 Q_SIGNALS:
  void compared();  // the newest request's result reached the views
  void failed(const QString& message);

 private:
  void showResult(const zs::PromptComparison& c);
  void clearResult(const QString& message);

  Worker* worker_;
  ExplorerController* explorer_;
  QLineEdit* promptB_;
  QLabel* status_;
  zs::gui::TokenView* tokensA_;
  zs::gui::TokenView* tokensB_;
  QTableView* tokenTable_;
  QTableView* headTable_;
  zs::gui::PromptCompareModel* tokenModel_;
  zs::gui::PromptCompareModel* headModel_;
  zs::gui::ComparePlot* plot_;
  zs::PromptComparison result_;
  bool shown_ = false;
  quint64 request_ = 0;  // the newest request; older results are dropped
  double lastMs_ = 0;
};
