#pragma once
// The explorer's Intervene dock (issue 18): zero-ablate, scale or clamp the
// selected feature at the selected position or at all positions, through the
// worker (Engine::intervene, core/intervention). Shows the clean and intervened
// next-token probabilities after the selected position (a table) and the
// per-token loss difference along the prompt (a bar plot, exportable). A result
// is shown only while its feature, position and prompt are still selected.
#include <QAbstractTableModel>
#include <QWidget>

#include <memory>

#include "app/gui/worker.h"
#include "widgets/figure_export.h"

class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QPushButton;
class QTableView;
class QCustomPlot;

// Rows: the tokens of both runs' top-k (InterventionResult::predictions).
class PredictionChangeModel : public QAbstractTableModel {
  Q_OBJECT
 public:
  enum Column { Token = 0, Clean, Intervened, Change, ColumnCount };
  static constexpr int ValueRole = Qt::UserRole + 1;  // the probability (Clean/Intervened) or change, as a double
  using QAbstractTableModel::QAbstractTableModel;
  void setRows(std::vector<zs::PredictionChange> rows);
  const std::vector<zs::PredictionChange>& rows() const { return rows_; }
  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation o, int role = Qt::DisplayRole) const override;

 private:
  std::vector<zs::PredictionChange> rows_;
};

class InterventionPanel : public QWidget {
  Q_OBJECT
 public:
  explicit InterventionPanel(Worker* worker, QWidget* parent = nullptr);
  ~InterventionPanel() override;

  // The explorer's selection (feature < 0: none). Another target than the
  // current one drops the shown result and any request still on its way.
  void setTarget(quint64 generation, int pos, int layer, qint64 feature, const QString& token);

  bool hasResult() const { return hasResult_; }
  const zs::InterventionResult& result() const { return result_; }
  QComboBox* modeBox() const { return mode_; }
  QDoubleSpinBox* valueBox() const { return value_; }
  QComboBox* scopeBox() const { return scope_; }
  QPushButton* runButton() const { return run_; }
  QTableView* table() const { return table_; }
  PredictionChangeModel* model() const { return model_; }
  QCustomPlot* lossPlot() const { return plot_; }
  zs::gui::FigureSource* lossFigure() const { return figure_.get(); }
  QLabel* summary() const { return summary_; }
  // Sets mode ("zero", "scale", "clamp"), value and scope for the next run()
  // without remembering them in the settings (scripted export).
  void setControls(const QString& mode, double value, bool allPositions);

 public Q_SLOTS:
  void run();
  void applyTheme(bool dark);

 Q_SIGNALS:
  void resultShown();

 private:
  void onResult(quint64 id, quint64 generation, const zs::InterventionResult& r);
  void clearResult(const QString& why);
  void updateControls();
  QString csv() const;

  Worker* worker_;
  QLabel* target_ = nullptr;
  QComboBox* mode_ = nullptr;
  QDoubleSpinBox* value_ = nullptr;
  QComboBox* scope_ = nullptr;
  QPushButton* run_ = nullptr;
  QLabel* summary_ = nullptr;
  QTableView* table_ = nullptr;
  PredictionChangeModel* model_ = nullptr;
  QCustomPlot* plot_ = nullptr;
  std::unique_ptr<zs::gui::PlotFigure> figure_;

  quint64 generation_ = 0;
  int pos_ = -1, layer_ = -1;
  qint64 feature_ = -1;
  QString token_;
  quint64 pendingId_ = 0;  // the request whose result may be shown; 0: none
  bool hasResult_ = false;
  zs::InterventionResult result_;
};
