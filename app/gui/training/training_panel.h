#pragma once
// The SAE training panel (issue 8): configure a run, start it on its own
// thread (CUDA when present), watch live curves (loss, L0, explained variance,
// dead fraction, CE loss recovered) and the live feature-density histogram, pause / resume from the checkpoint /
// cancel; when it finishes the SAEs are offered to the explorer (saesReady) and
// "Build feature database" builds their dashboards (databaseReady).
#include <QStringList>
#include <QWidget>

#include "core/train/sae_run.h"

class QLabel;
class QProgressBar;
class QPushButton;
class QSpinBox;

namespace zs::gui {

class CurvePlot;
class DensityHistogramPlot;
class DbBuildJob;
class TrainingForm;
class TrainingJob;
struct TrainingRequest;

class TrainingPanel : public QWidget {
  Q_OBJECT
 public:
  enum class State { Idle, Running, Paused, Cancelled, Done, Failed };

  explicit TrainingPanel(QWidget* parent = nullptr);
  ~TrainingPanel() override;

  // Defaults follow the model (every layer, d_in, context).
  void setModel(const QString& dir, int nLayer, int64_t dIn, int64_t nCtx);
  TrainingForm* form() const { return form_; }
  CurvePlot* plot() const { return plot_; }
  DensityHistogramPlot* densityPlot() const { return density_; }
  State state() const { return state_; }
  QString lastError() const { return error_; }
  QStringList saeDirs() const { return saeDirs_; }
  QString databaseFile() const { return dbFile_; }
  bool databaseBuilt() const { return dbBuilt_; }
  void setDatabaseTokens(int64_t tokens);  // corpus tokens the feature database reads

  // The run parameters for a request: steps-derived metric, CE and checkpoint
  // intervals so that short and long runs both give ~300 curve points.
  static zs::TrainSaeParams paramsFor(const TrainingRequest& r);
  static const QStringList& metricKeys();

 public Q_SLOTS:
  bool start();
  void pause();   // cancel with a checkpoint; resume() continues
  bool resume();
  void cancel();
  bool buildDatabase();

 Q_SIGNALS:
  void stateChanged(zs::gui::TrainingPanel::State s);
  void saesReady(QStringList dirs);       // trained SAE folders, ready to load
  void databaseReady(QString file);       // feature database built for them

 private:
  void setState(State s, const QString& message);
  void onFinished(const QStringList& dirs, bool cancelled, qint64 steps, double seconds);
  bool launch(const zs::TrainSaeParams& p, bool replay);

  TrainingForm* form_ = nullptr;
  CurvePlot* plot_ = nullptr;
  DensityHistogramPlot* density_ = nullptr;
  TrainingJob* job_ = nullptr;
  DbBuildJob* dbJob_ = nullptr;
  QPushButton *start_ = nullptr, *pause_ = nullptr, *resume_ = nullptr, *cancel_ = nullptr, *buildDb_ = nullptr;
  QSpinBox* dbTokensK_ = nullptr;
  QProgressBar* bar_ = nullptr;
  QProgressBar* dbBar_ = nullptr;
  QLabel* status_ = nullptr;
  State state_ = State::Idle;
  bool pauseRequested_ = false;
  zs::TrainSaeParams params_;
  QString error_, dbFile_;
  QStringList saeDirs_;
  bool dbBuilt_ = false;
};

}  // namespace zs::gui
