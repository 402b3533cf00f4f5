#pragma once
// Search the feature database (Go > Search features…, Ctrl+Shift+F): by label
// text, family or peak token (the max token of a feature's top example), or
// all three. The query runs on the worker; double-clicking (or Enter on) a hit
// selects that feature at the current position in every view.
#include <QDialog>

class QComboBox;
class QLabel;
class QLineEdit;
class QTableView;
class Worker;
class ExplorerController;
namespace zs::gui {
class FeatureHitModel;
}

class FeatureSearchDialog : public QDialog {
  Q_OBJECT
 public:
  FeatureSearchDialog(Worker* worker, ExplorerController* explorer, QWidget* parent = nullptr);

  // Runs the search (also on Enter in the query box).
  void search();
  void setQuery(const QString& text, int field);  // field: 0 any, 1 label, 2 family, 3 peak token
  zs::gui::FeatureHitModel* model() const { return model_; }
  QTableView* table() const { return table_; }
  QString status() const;

 Q_SIGNALS:
  void searched(int hits);  // results shown (tests wait for it)

 private:
  void choose(const QModelIndex& index);

  Worker* worker_;
  ExplorerController* explorer_;
  QLineEdit* query_;
  QComboBox* field_;
  QTableView* table_;
  QLabel* status_;
  zs::gui::FeatureHitModel* model_;
  quint64 generation_ = 0;
};
