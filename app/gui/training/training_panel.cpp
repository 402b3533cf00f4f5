#include "app/gui/training/training_panel.h"

#include <QDir>
#include <QHBoxLayout>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QSplitter>
#include <QVBoxLayout>
#include <algorithm>

#include "app/gui/training/training_dbjob.h"
#include "app/gui/settings.h"
#include "app/gui/training/training_job.h"
#include "widgets/curve_plot.h"
#include "widgets/density_histogram.h"
#include "widgets/training_form.h"

namespace zs::gui {

const QStringList& TrainingPanel::metricKeys() {
  static const QStringList k = {QStringLiteral("loss"), QStringLiteral("l0"), QStringLiteral("explained_variance"),
                                QStringLiteral("dead_fraction"), QStringLiteral("ce_loss_recovered")};
  return k;
}

TrainingPanel::TrainingPanel(QWidget* parent) : QWidget(parent) {
  auto* v = new QVBoxLayout(this);
  auto* split = new QSplitter(Qt::Horizontal, this);
  form_ = new TrainingForm(split);
  auto* plots = new QSplitter(Qt::Vertical, split);
  plot_ = new CurvePlot(metricKeys(),
                        {tr("loss (MSE + sparsity penalty)"), tr("L0 (active features / token)"), tr("explained variance"),
                         tr("dead fraction"), tr("CE loss recovered")},
                        plots);
  density_ = new DensityHistogramPlot(plots);
  plots->setStretchFactor(0, 3);
  plots->setStretchFactor(1, 1);
  split->setStretchFactor(1, 3);
  // The architecture and its knobs are remembered between sessions.
  {
    const QString a = settings::trainArchitecture.get();
    if (form_->architectureBox()->findText(a) >= 0) form_->architectureBox()->setCurrentText(a);
    form_->kBox()->setValue(settings::trainK.get());
    form_->l0Box()->setValue(settings::trainL0.get());
  }
  v->addWidget(split, 1);

  auto* row = new QHBoxLayout;
  start_ = new QPushButton(tr("Start"), this);
  pause_ = new QPushButton(tr("Pause"), this);
  resume_ = new QPushButton(tr("Resume"), this);
  cancel_ = new QPushButton(tr("Cancel"), this);
  bar_ = new QProgressBar(this);
  bar_->setRange(0, 1000);
  status_ = new QLabel(tr("Idle"), this);
  status_->setObjectName(QStringLiteral("trainingStatus"));
  status_->setWordWrap(true);
  for (auto* b : {start_, pause_, resume_, cancel_}) row->addWidget(b);
  row->addWidget(bar_, 1);
  v->addLayout(row);
  v->addWidget(status_);

  auto* dbRow = new QHBoxLayout;
  buildDb_ = new QPushButton(tr("Build feature database"), this);
  dbTokensK_ = new QSpinBox(this);
  dbTokensK_->setRange(1, 1 << 30);
  dbTokensK_->setValue(200);
  dbTokensK_->setSuffix(tr(" k tokens"));
  dbBar_ = new QProgressBar(this);
  dbBar_->setRange(0, 1000);
  dbRow->addWidget(buildDb_);
  dbRow->addWidget(dbTokensK_);
  dbRow->addWidget(dbBar_, 1);
  v->addLayout(dbRow);

  job_ = new TrainingJob(this);
  dbJob_ = new DbBuildJob(this);
  connect(start_, &QPushButton::clicked, this, &TrainingPanel::start);
  connect(pause_, &QPushButton::clicked, this, &TrainingPanel::pause);
  connect(resume_, &QPushButton::clicked, this, &TrainingPanel::resume);
  connect(cancel_, &QPushButton::clicked, this, &TrainingPanel::cancel);
  connect(buildDb_, &QPushButton::clicked, this, &TrainingPanel::buildDatabase);
  connect(job_, &TrainingJob::metrics, this, [this](const QVector<MetricPoint>& pts) {
    for (const auto& p : pts) plot_->addPoint(p.key, p.layer, p.step, p.value);
  });
  connect(job_, &TrainingJob::densityHistogram, this, [this](const DensityHistogram& h) {
    density_->setHistogram(h.layer, h.step, h.edges, h.counts, h.dead);
  });
  connect(job_, &TrainingJob::progress, this, [this](double done, double total, const QString& msg) {
    if (total > 0) bar_->setValue(static_cast<int>(1000 * std::min(1.0, done / total)));
    if (!msg.isEmpty()) status_->setText(msg);
  });
  connect(job_, &TrainingJob::finished, this, &TrainingPanel::onFinished);
  connect(job_, &TrainingJob::failed, this, [this](const QString& m) {
    error_ = m;
    setState(State::Failed, tr("Failed: %1").arg(m));
  });
  connect(dbJob_, &DbBuildJob::progress, this, [this](double done, double total, const QString& msg) {
    if (total > 0) dbBar_->setValue(static_cast<int>(1000 * std::min(1.0, done / total)));
    if (!msg.isEmpty()) status_->setText(tr("Feature database: %1").arg(msg));
  });
  connect(dbJob_, &DbBuildJob::finished, this, [this](const QString& file, bool completed, double tps) {
    buildDb_->setText(tr("Build feature database"));
    dbBuilt_ = completed;
    if (!completed) {
      status_->setText(tr("Feature database build stopped; building again resumes it."));
      return;
    }
    dbBar_->setValue(1000);
    status_->setText(tr("Feature database built: %1 (%2 tokens/s)").arg(file).arg(tps, 0, 'f', 0));
    Q_EMIT databaseReady(file);
  });
  connect(dbJob_, &DbBuildJob::failed, this, [this](const QString& m) {
    buildDb_->setText(tr("Build feature database"));
    error_ = m;
    status_->setText(QStringLiteral("<span style=\"color:#c00\">%1</span>").arg(m.toHtmlEscaped()));
  });
  setState(State::Idle, tr("Idle"));
}

TrainingPanel::~TrainingPanel() {
  // Stop the threads before the widgets they report to go away.
  job_->cancel();
  dbJob_->cancel();
  job_->wait();
  dbJob_->wait();
}

void TrainingPanel::setModel(const QString& dir, int nLayer, int64_t dIn, int64_t nCtx) {
  form_->setModel(dir, nLayer, dIn, nCtx);
}

void TrainingPanel::setDatabaseTokens(int64_t tokens) {
  dbTokensK_->setValue(static_cast<int>(std::max<int64_t>(1, tokens / 1000)));
}

zs::TrainSaeParams TrainingPanel::paramsFor(const TrainingRequest& r) {
  zs::TrainSaeParams p;
  p.modelDir = r.modelDir.toStdString();
  p.corpus = r.corpus.toStdString();
  p.outDir = r.outDir.toStdString();
  p.layers = r.layers;
  p.dSae = r.dSae;
  p.expansion = r.expansion;
  p.l1 = r.l1 > 0 ? r.l1 : -1;  // 0 in the form = automatic (scaled to the activations' RMS norm)
  p.lr = r.lr;
  p.architecture = r.architecture.toStdString();
  p.k = r.k;
  p.l0 = r.l0;
  p.batch = r.batch;
  p.tokens = r.tokens;
  p.context = r.context;
  p.seed = r.seed;
  p.device = r.device.toStdString();
  p.resume = true;
  const int64_t steps = std::max<int64_t>(1, (r.tokens + r.batch - 1) / r.batch);
  p.metricsEvery = std::max<int64_t>(1, steps / 300);
  p.ceEvery = std::max<int64_t>(1, steps / 20);
  p.checkpointEvery = std::max<int64_t>(1, steps / 10);
  p.bufferTokens = std::clamp<int64_t>(r.tokens, 4 * r.batch, 262144);
  p.commandLine = "zscope (training panel)";
  return p;
}

bool TrainingPanel::start() {
  if (job_->running()) return false;
  const QString err = form_->validate();
  if (!err.isEmpty()) {
    error_ = err;
    setState(State::Failed, err);
    return false;
  }
  plot_->clear();
  density_->clear();
  const TrainingRequest r = form_->request();
  settings::trainArchitecture.set(r.architecture);
  settings::trainK.set(static_cast<int>(r.k));
  settings::trainL0.set(r.l0);
  return launch(paramsFor(r), /*replay=*/true);
}

bool TrainingPanel::launch(const zs::TrainSaeParams& p, bool replay) {
  params_ = p;
  pauseRequested_ = false;
  error_.clear();
  saeDirs_.clear();
  dbBuilt_ = false;
  QDir().mkpath(QString::fromStdString(p.outDir));
  if (!job_->start(p, metricKeys(), replay)) return false;
  setState(State::Running, tr("Training on %1…").arg(QString::fromStdString(p.device)));
  return true;
}

void TrainingPanel::pause() {
  if (!job_->running()) return;
  pauseRequested_ = true;
  status_->setText(tr("Pausing: saving a checkpoint…"));
  job_->cancel();
}

bool TrainingPanel::resume() {
  if (job_->running() || state_ != State::Paused) return false;
  // resume = true: continues from outDir/checkpoint; the curves already hold its points.
  return launch(params_, /*replay=*/false);
}

void TrainingPanel::cancel() {
  if (!job_->running()) return;
  pauseRequested_ = false;
  status_->setText(tr("Cancelling…"));
  job_->cancel();
}

void TrainingPanel::onFinished(const QStringList& dirs, bool cancelled, qint64 steps, double seconds) {
  job_->wait();
  plot_->flush();
  if (cancelled) {
    setState(pauseRequested_ ? State::Paused : State::Cancelled,
             pauseRequested_ ? tr("Paused at step %1 (checkpoint saved). Resume continues.").arg(steps)
                             : tr("Cancelled at step %1; the checkpoint in %2 is kept.")
                                   .arg(steps)
                                   .arg(QString::fromStdString(params_.outDir)));
    return;
  }
  saeDirs_ = dirs;
  bar_->setValue(1000);
  setState(State::Done, tr("Done: %1 steps in %2 s. SAEs: %3").arg(steps).arg(seconds, 0, 'f', 1).arg(dirs.join(", ")));
  Q_EMIT saesReady(dirs);
}

bool TrainingPanel::buildDatabase() {
  if (dbJob_->running()) {
    dbJob_->cancel();  // the same button stops a running build
    return false;
  }
  if (saeDirs_.isEmpty()) {
    status_->setText(tr("Train (or resume) a run to completion first."));
    return false;
  }
  zs::db::BuildOptions o;
  o.modelDir = params_.modelDir;
  for (const auto& d : saeDirs_) o.saeDirs.push_back(d.toStdString());
  o.corpus = params_.corpus;
  o.context = params_.context;
  o.tokens = static_cast<int64_t>(dbTokensK_->value()) * 1000;
  o.device = params_.device;
  o.out = params_.outDir + "/features.zscope.db";
  dbFile_ = QString::fromStdString(o.out);
  dbBuilt_ = false;
  dbBar_->setValue(0);
  if (!dbJob_->start(o)) return false;
  buildDb_->setText(tr("Stop building"));
  return true;
}

void TrainingPanel::setState(State s, const QString& message) {
  state_ = s;
  const bool running = s == State::Running;
  start_->setEnabled(!running);
  pause_->setEnabled(running);
  cancel_->setEnabled(running);
  resume_->setEnabled(s == State::Paused);
  form_->setEnabled(!running && s != State::Paused);
  buildDb_->setEnabled(s == State::Done);
  dbTokensK_->setEnabled(s == State::Done);
  status_->setText(s == State::Failed ? QStringLiteral("<span style=\"color:#c00\">%1</span>").arg(message.toHtmlEscaped())
                                      : message);
  Q_EMIT stateChanged(s);
}

}  // namespace zs::gui
