// Main window: menus, status bar, settings, start-up loading, the tool-dock
// hook and the screenshot mode. The explorer's docks live in ExplorerController.
#include "app/gui/explorer/mainwindow.h"

#include "app/gui/settings.h"

#include <QAction>
#include <QActionGroup>
#include <QApplication>
#include <QCloseEvent>
#include <QGuiApplication>
#include <QScreen>
#include <QDateTime>
#include <QDir>
#include <QDockWidget>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QInputDialog>
#include <QLineEdit>
#include <QLabel>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QSettings>

#include <cstdio>
#include <QStandardPaths>
#include <QStatusBar>
#include <QStyle>
#include <QStyleFactory>
#include <QTimer>
#include <QToolButton>

#include <algorithm>

#include "app/gui/explorer/explorer_controller.h"
#include "app/gui/explorer/explorer_export.h"
#include "app/gui/explorer/explorer_prompt.h"
#include "app/gui/explorer/feature_search.h"
#include "app/gui/worker.h"
#include "widgets/figure_export.h"
#include "widgets/qcp.h"
#include "core/db/db.h"
#include "core/db/features.h"
#include "core/base/paths.h"
#include "core/db/labels.h"
#include "core/base/runtime.h"

// True when both feature databases were built from the same SAEs (per-layer
// d_sae and weight fingerprints); false also when either cannot be read.
static bool sameFeatureBuild(const QString& a, const QString& b) {
  try {
    zs::db::OpenOptions o;
    o.create = false;
    o.readOnly = true;
    o.migrate = false;
    auto da = zs::db::Db::open(a.toStdString(), o), dbb = zs::db::Db::open(b.toStdString(), o);
    const zs::db::DbInfo ia = zs::db::dbInfo(*da), ib = zs::db::dbInfo(*dbb);
    return ia.layers == ib.layers && ia.featuresPerLayer == ib.featuresPerLayer &&
           ia.saeFingerprints == ib.saeFingerprints;
  } catch (const std::exception&) {
    return false;
  }
}

// The icons live in zscope_app, a static library: register its resources explicitly.
static void initResources() { Q_INIT_RESOURCE(zscope); }

MainWindow::MainWindow(const StartupOptions& opts, QWidget* parent) : QMainWindow(parent), opts_(opts) {
  initResources();
  setObjectName("MainWindow");
  setWindowTitle("Zscope");
  setWindowIcon(QIcon(":/icons/zscope.svg"));
  setDockNestingEnabled(true);
  setAcceptDrops(true);
  resize(1400, 900);
  // On a smaller screen (1366x768) the first window fits it instead (a restored layout wins later).
  if (const QScreen* screen = QGuiApplication::primaryScreen())
    resize(size().boundedTo(screen->availableGeometry().size()));
  device_ = !opts.device.isEmpty() ? opts.device : gui::settings::device.get();
  threads_ = opts.threads > 0 ? opts.threads : gui::settings::threads.get();
  worker_ = new Worker;
  worker_->start();
  explorer_ = new ExplorerController(this, worker_);
  buildMenus();
  buildStatusBar();
  installToolPanels(this);
  // Training curves (and any other plot of the tool panels) export like the explorer's.
  for (QCustomPlot* plot : findChildren<QCustomPlot*>()) {
    if (!plot->objectName().startsWith("curve_")) continue;
    const QString name = plot->objectName();
    toolFigures_.push_back(std::make_unique<zs::gui::PlotFigure>(
        plot, [name] { return name; },
        [plot] {
          QString s = "series,x,y\n";
          for (int g = 0; g < plot->graphCount(); ++g)
            for (auto it = plot->graph(g)->data()->constBegin(); it != plot->graph(g)->data()->constEnd(); ++it)
              s += QString("%1,%2,%3\n").arg(zs::gui::csvField(plot->graph(g)->name())).arg(it->key, 0, 'g', 12).arg(it->value, 0, 'g', 9);
          return s;
        },
        QSize(480, 300)));
    addExportMenu(plot, toolFigures_.back().get());
  }
  if (QDockWidget* rdfa = findChild<QDockWidget*>("rdfaDock")) rdfa->raise();
  restoreLayout();
  setDarkPalette(gui::settings::darkPalette.get());

  connect(worker_, &Worker::modelLoaded, this, [this](quint64, const zs::ModelInfo& m) {
    const QString kv = m.nKvHead > 0 && m.nKvHead < m.nHead ? tr(", %1 key/value heads").arg(m.nKvHead) : QString();
    modelLabel_->setText(tr("Model: %1 (%2, %3 layers × %4 heads%5, weights %6)")
                             .arg(QString::fromStdString(m.name), QString::fromStdString(m.architecture))
                             .arg(m.nLayer)
                             .arg(m.nHead)
                             .arg(kv, QString::fromStdString(m.dtype)));
    std::fprintf(stderr, "zscope: model %s (%s) loaded on %s, weights in %s\n", m.dir.c_str(), m.architecture.c_str(),
                 m.device.c_str(), m.dtype.c_str());
    deviceLabel_->setText(m.device == "cuda" ? tr("CUDA") : tr("CPU"));
    threadsLabel_->setText(tr("%1 threads").arg(m.threads));
    addRecent(gui::settings::RecentKind::Model, QString::fromStdString(m.dir));
    Q_EMIT modelChanged(QString::fromStdString(m.dir));
  });
  connect(worker_, &Worker::saeLoaded, this, [this](quint64, const zs::SaeInfo& i) {
    statusBar()->showMessage(tr("SAE for layer %1 loaded (%2 features)").arg(i.layer).arg(i.dSae), 4000);
    addRecent(gui::settings::RecentKind::Sae, QString::fromStdString(i.dir));
    Q_EMIT saesChanged();
  });
  connect(worker_, &Worker::databaseOpened, this, [this](quint64, const QString& f) {
    statusBar()->showMessage(tr("Feature database %1 opened").arg(f), 4000);
    addRecent(gui::settings::RecentKind::Database, f);
    Q_EMIT databaseChanged(f);
  });
  connect(worker_, &Worker::databaseClosed, this, [this](quint64, const QString& reason) {
    showError(tr("Feature database closed"), reason);
    Q_EMIT databaseChanged(QString());
  });
  connect(worker_, &Worker::failed, this, [this](quint64, int kind, const QString& msg) {
    if (kind != int(RequestKind::Load) && kind != int(RequestKind::Job)) return;
    if (msg.isEmpty()) statusBar()->showMessage(tr("Loading cancelled; what was open before stays open"), 6000);
    else showError(tr("Could not open"), msg);
  });
  connect(worker_, &Worker::loadDone, this, [this](quint64 id) { endJob(QString("load:%1").arg(id)); });
  connect(explorer_, &ExplorerController::error, this, [this](const QString& m) { showError(tr("Zscope"), m); });
  connect(explorer_, &ExplorerController::promptTooLong, this, &MainWindow::offerTruncation);
  connect(explorer_, &ExplorerController::analysisShown, this, [this] {
    const auto& a = explorer_->analysis();
    if (a.truncatedFrom > 0)
      statusBar()->showMessage(tr("The prompt's %1 tokens were cut to the model's context of %2")
                                   .arg(a.truncatedFrom).arg(a.tokens.size()), 10000);
  });
  connect(explorer_, &ExplorerController::busyChanged, this, [this](bool busy, const QString& what) {
    if (busy) beginJob("explorer", what);
    else endJob("explorer");
  });
  connect(worker_, &Worker::progress, this, [this](double d, double n, const QString& what) {
    if (jobs_.isEmpty()) return;  // a late report of a finished job
    if (n > 0) {
      progress_->setRange(0, 1000);
      progress_->setValue(int(1000 * std::clamp(d / n, 0.0, 1.0)));
    } else {
      progress_->setRange(0, 0);  // busy indicator
    }
    if (!what.isEmpty()) showJobMessage(what);
  });
  connect(explorer_, &ExplorerController::latencyMeasured, this, [this](double total, double workerMs) {
    latencyLabel_->setText(tr("last request %1 ms").arg(total, 0, 'f', 0));
    latencyLabel_->setToolTip(tr("%1 ms in the worker").arg(workerMs, 0, 'f', 1));
  });
  QTimer::singleShot(0, this, &MainWindow::startup);
}

MainWindow::~MainWindow() {
  worker_->stop();
  delete worker_;
}

void MainWindow::buildMenus() {
  fileMenu_ = menuBar()->addMenu(tr("&File"));
  fileMenu_->addAction(tr("Open &model folder…"), QKeySequence::Open, this, &MainWindow::chooseModel);
  fileMenu_->addAction(tr("Open &SAE folder…"), QKeySequence(tr("Ctrl+Shift+O")), this, &MainWindow::chooseSae);
  fileMenu_->addAction(tr("Open feature &database…"), QKeySequence(tr("Ctrl+D")), this, &MainWindow::chooseDatabase);
  recentMenu_ = fileMenu_->addMenu(tr("Open &recent"));
  rebuildRecentMenu();
  fileMenu_->addSeparator();
  QMenu* exp = fileMenu_->addMenu(tr("&Export figure"));
  for (const auto& [name, src] : explorer_->figures()) {
    auto* s = src;
    exp->addAction(name + tr("…"), this, [this, s] { exportFigureInteractive(this, s); });
  }
  fileMenu_->addSeparator();
  fileMenu_->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);

  QMenu* nav = menuBar()->addMenu(tr("&Go"));
  QAction* back = nav->addAction(tr("&Back"), QKeySequence::Back, explorer_, &ExplorerController::back);
  QAction* fwd = nav->addAction(tr("&Forward"), QKeySequence::Forward, explorer_, &ExplorerController::forward);
  back->setIcon(QIcon(":/icons/back.svg"));
  fwd->setIcon(QIcon(":/icons/forward.svg"));
  back->setEnabled(false);
  fwd->setEnabled(false);
  connect(explorer_, &ExplorerController::navigationChanged, this, [back, fwd](bool b, bool f) {
    back->setEnabled(b);
    fwd->setEnabled(f);
  });
  nav->addAction(tr("&Go to feature…"), QKeySequence(tr("Ctrl+G")), this, [this] {
    bool ok = false;
    const QString s = QInputDialog::getText(this, tr("Go to feature"), tr("Layer:feature, optionally @position (1:63, 1:63@-1):"),
                                            QLineEdit::Normal, QString(), &ok);
    if (!ok || s.trimmed().isEmpty()) return;
    QString err;
    if (!explorer_->goTo(s, &err)) showError(tr("Go to feature"), err);
  });
  nav->addAction(tr("&Search features…"), QKeySequence(tr("Ctrl+Shift+F")), this, [this] { featureSearch()->show(); });
  QAction* runAct = nav->addAction(tr("&Run prompt"), QKeySequence(tr("Ctrl+Return")), explorer_->prompt(), &PromptEditor::run);
  runAct->setIcon(QIcon(":/icons/run.svg"));

  viewMenu_ = menuBar()->addMenu(tr("&View"));
  for (QDockWidget* d : explorer_->docks()) viewMenu_->addAction(d->toggleViewAction());
  viewMenu_->addSeparator();
  darkAction_ = viewMenu_->addAction(tr("&Dark palette"));
  darkAction_->setCheckable(true);
  connect(darkAction_, &QAction::toggled, this, &MainWindow::setDarkPalette);

  QMenu* settings = menuBar()->addMenu(tr("&Settings"));
  QMenu* dev = settings->addMenu(tr("&Device (next model load)"));
  auto* group = new QActionGroup(this);
  for (const QString& d : {QString("auto"), QString("cpu"), QString("cuda")}) {
    QAction* a = dev->addAction(d);
    a->setCheckable(true);
    a->setChecked(d == device_);
    group->addAction(a);
    connect(a, &QAction::triggered, this, [this, d] {
      device_ = d;
      gui::settings::device.set(d);
    });
  }
  settings->addAction(tr("&Threads…"), this, &MainWindow::setThreads);
  toolsMenu_ = menuBar()->addMenu(tr("&Tools"));
}

void MainWindow::buildStatusBar() {
  modelLabel_ = new QLabel(tr("No model"));
  deviceLabel_ = new QLabel(tr("CPU"));
  threadsLabel_ = new QLabel;
  latencyLabel_ = new QLabel;
  blasLabel_ = new QLabel;
  progress_ = new QProgressBar;
  progress_->setMaximumWidth(160);
  progress_->setVisible(false);
  progress_->setObjectName("jobProgress");
  cancel_ = new QToolButton;
  cancel_->setObjectName("jobCancel");
  cancel_->setText(tr("Cancel"));
  cancel_->setToolTip(tr("Cancel the running job (Esc)"));
  cancel_->setShortcut(QKeySequence(Qt::Key_Escape));
  cancel_->setVisible(false);
  connect(cancel_, &QToolButton::clicked, explorer_, &ExplorerController::cancel);
  statusBar()->addPermanentWidget(progress_);
  statusBar()->addPermanentWidget(cancel_);
  statusBar()->addPermanentWidget(modelLabel_);
  statusBar()->addPermanentWidget(deviceLabel_);
  statusBar()->addPermanentWidget(threadsLabel_);
  statusBar()->addPermanentWidget(latencyLabel_);
  statusBar()->addPermanentWidget(blasLabel_);
  if (zs::runtime::blasIsReference()) {
    blasLabel_->setText(tr("⚠ slow reference BLAS"));
    blasLabel_->setStyleSheet("color: #c03020; font-weight: bold");
    blasLabel_->setToolTip(tr("LibTorch uses the reference BLAS (%1); install libopenblas0 for fast matrix products.")
                               .arg(QString::fromStdString(zs::runtime::blasLibrary())));
  }
  blasLabel_->setVisible(zs::runtime::blasIsReference());
}

QString MainWindow::modelStatus() const { return modelLabel_->text(); }
QString MainWindow::deviceStatus() const { return deviceLabel_->text(); }
bool MainWindow::blasWarningShown() const { return !blasLabel_->text().isEmpty(); }

void MainWindow::startup() {
  if (opts_.noDefaultModel && opts_.model.isEmpty()) return;
  QString model = opts_.model.isEmpty() ? QString("default") : opts_.model;
  const bool isDefault = model == "default";
  model = QString::fromStdString(zs::paths::resolveModel(model.toStdString()));
  if (!QFileInfo(model + "/config.json").exists()) {
    showError(tr("Model not found"),
              isDefault ? tr("The shipped default model was not found (%1). Choose a model folder (a Hugging Face GPT-2 "
                             "folder with config.json, model.safetensors, vocab.json and merges.txt).").arg(model)
                        : tr("%1 is not a model folder (no config.json).").arg(model));
    QTimer::singleShot(0, this, &MainWindow::chooseModel);
    return;
  }
  openModel(model);
  QStringList saes = opts_.saes;
  if (saes.isEmpty()) {
    const QString shipped = QString::fromStdString(zs::paths::shippedSaeDir(model.toStdString()));
    if (!shipped.isEmpty()) saes << shipped;
  }
  for (const QString& s : saes) openSae(s);
  if (!opts_.db.isEmpty()) {
    openDatabase(opts_.db);
  } else if (opts_.saes.isEmpty()) {
    // The shipped feature database of the shipped SAEs opens with them. Labels are
    // written into a copy in the user's data folder, never into the install tree.
    const QString name = QFileInfo(QDir::cleanPath(model)).fileName();
    const QString dataDir = QString::fromStdString(zs::paths::dataDir());
    const QString src = dataDir + "/features/" + name + ".zscope.db";
    if (!dataDir.isEmpty() && QFileInfo::exists(src)) {
      const QString dir = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation);
      const QString dst = dir + "/" + name + ".zscope.db";
      // A copy made from an older shipped database (other SAEs) is set aside, never
      // deleted: its labels stay in the .bak file and the new copy is used.
      QString setAside;
      if (QFileInfo::exists(dst) && !sameFeatureBuild(src, dst)) {
        setAside = dst + "." + QDateTime::currentDateTime().toString("yyyyMMdd-HHmmss") + ".bak";
        for (const QString& ext : {QString(), QString("-wal"), QString("-shm")})
          if (QFileInfo::exists(dst + ext)) QFile::rename(dst + ext, setAside + ext);
      }
      if (QDir().mkpath(dir) && (QFileInfo::exists(dst) || QFile::copy(src, dst))) {
        QFile(dst).setPermissions(QFile(dst).permissions() | QFileDevice::WriteOwner);
        // Labels on layers whose SAE did not change describe the same features: they come along.
        QString carried;
        if (!setAside.isEmpty()) {
          try {
            zs::db::OpenOptions ro;
            ro.create = false;
            ro.readOnly = true;
            zs::db::OpenOptions rw;
            rw.create = false;
            auto from = zs::db::Db::open(setAside.toStdString(), ro);
            auto to = zs::db::Db::open(dst.toStdString(), rw);
            const int n = zs::db::carryOverLabels(*from, *to);
            carried = tr(" %n label(s) of layers whose SAE is unchanged were carried over;", nullptr, n);
          } catch (const std::exception& e) {
            carried = tr(" your labels could not be carried over (%1);").arg(QString::fromUtf8(e.what()));
          }
        }
        openDatabase(dst);
        if (!setAside.isEmpty())
          statusBar()->showMessage(tr("The shipped SAEs changed: a new feature database is in use;%1 your earlier "
                                      "copy (and all its labels) is kept as %2").arg(carried, setAside), 20000);
      } else {
        statusBar()->showMessage(tr("Could not copy the shipped feature database to %1").arg(dir), 10000);
      }
    }
  }
  if (!opts_.prompt.isEmpty()) runPrompt(opts_.prompt);
  if (opts_.scripted()) {
    auto* t = new QTimer(this);
    connect(t, &QTimer::timeout, this, &MainWindow::screenshotTick);
    t->start(250);
  }
}

void MainWindow::beginJob(const QString& key, const QString& what) {
  if (jobs_.isEmpty()) {
    progress_->setRange(0, 0);  // busy until the job reports progress
    progress_->setValue(0);
  }
  jobs_[key] = what;
  progress_->setVisible(true);
  cancel_->setVisible(true);
  showJobMessage(what);
}

void MainWindow::endJob(const QString& key) {
  if (!jobs_.remove(key)) return;
  if (!jobs_.isEmpty()) {
    showJobMessage(jobs_.last());
    return;
  }
  progress_->setVisible(false);
  cancel_->setVisible(false);
  // Clear what the jobs said, not a result message shown since ("loaded", "cancelled").
  if (statusBar()->currentMessage() == jobMessage_) statusBar()->clearMessage();
}

void MainWindow::showJobMessage(const QString& what) {
  jobMessage_ = what;
  statusBar()->showMessage(what);
}

void MainWindow::openModel(const QString& dir) {
  const quint64 id = worker_->nextId(RequestKind::Load);
  beginJob(QString("load:%1").arg(id), tr("Loading model %1…").arg(QDir::toNativeSeparators(dir)));
  QMetaObject::invokeMethod(worker_, [w = worker_, a0 = quint64(id), a1 = QString(dir), a2 = QString(device_), a3 = int(threads_)] { w->loadModel(a0, a1, a2, a3); }, Qt::QueuedConnection);
}

void MainWindow::openSae(const QString& dir) {
  const quint64 id = worker_->nextId(RequestKind::Job);
  beginJob(QString("load:%1").arg(id), tr("Loading SAEs from %1…").arg(QDir::toNativeSeparators(dir)));
  QMetaObject::invokeMethod(worker_, [w = worker_, a0 = quint64(id), a1 = QString(dir)] { w->loadSae(a0, a1); }, Qt::QueuedConnection);
}

void MainWindow::openDatabase(const QString& file) {
  const quint64 id = worker_->nextId(RequestKind::Job);
  beginJob(QString("load:%1").arg(id), tr("Opening feature database %1…").arg(QDir::toNativeSeparators(file)));
  QMetaObject::invokeMethod(worker_, [w = worker_, a0 = quint64(id), a1 = QString(file)] { w->openDatabase(a0, a1); }, Qt::QueuedConnection);
}

void MainWindow::runPrompt(const QString& text) {
  explorer_->prompt()->setText(text);
  explorer_->prompt()->run();
}

void MainWindow::chooseModel() {
  const QString d = QFileDialog::getExistingDirectory(this, tr("Open model folder"), gui::settings::lastDir.get());
  if (d.isEmpty()) return;
  gui::settings::lastDir.set(QFileInfo(d).absolutePath());
  openModel(d);
}

void MainWindow::chooseSae() {
  const QString d = QFileDialog::getExistingDirectory(this, tr("Open SAE folder (or a folder of SAE folders)"),
                                                      gui::settings::lastDir.get());
  if (!d.isEmpty()) openSae(d);
}

void MainWindow::chooseDatabase() {
  const QString f = QFileDialog::getOpenFileName(this, tr("Open feature database"), gui::settings::lastDir.get(),
                                                 tr("Feature databases (*.db *.sqlite *.zsdb);;All files (*)"));
  if (!f.isEmpty()) openDatabase(f);
}

void MainWindow::setThreads() {
  bool ok = false;
  const int n = QInputDialog::getInt(this, tr("Threads"), tr("LibTorch threads (0 = all cores):"), threads_, 0, 256, 1, &ok);
  if (!ok) return;
  threads_ = n;
  gui::settings::threads.set(n);
  QMetaObject::invokeMethod(worker_, [this, n] {
    zs::runtime::setThreads(n);
    const int now = zs::runtime::threads();
    QMetaObject::invokeMethod(this, [this, now] { threadsLabel_->setText(tr("%1 threads").arg(now)); });
  });
}

void MainWindow::addRecent(gui::settings::RecentKind kind, const QString& path) {
  gui::settings::addRecentFile(kind, path);
  rebuildRecentMenu();
}

void MainWindow::rebuildRecentMenu() {
  using gui::settings::RecentKind;
  recentMenu_->clear();
  for (const gui::settings::RecentFile& f : gui::settings::recentFiles()) {
    const QString what = f.kind == RecentKind::Model ? tr("Model") : f.kind == RecentKind::Sae ? tr("SAE") : tr("Database");
    recentMenu_->addAction(QString("%1: %2").arg(what, f.path), this, [this, f] {
      if (f.kind == RecentKind::Model) openModel(f.path);
      else if (f.kind == RecentKind::Sae) openSae(f.path);
      else openDatabase(f.path);
    });
  }
  recentMenu_->setEnabled(!recentMenu_->isEmpty());
}

void MainWindow::showError(const QString& title, const QString& message) {
  statusBar()->showMessage(message, 8000);
  if (opts_.scripted()) {
    qWarning().noquote() << "zscope:" << message;
    return;
  }
  // Every error once: a message already on screen is not opened again.
  for (QMessageBox* open : findChildren<QMessageBox*>("errorBox"))
    if (open->isVisible() && open->text() == message) return;
  // Non-modal: the UI keeps running (and tests never block on a dialog).
  auto* box = new QMessageBox(QMessageBox::Warning, title, message, QMessageBox::Ok, this);
  box->setAttribute(Qt::WA_DeleteOnClose);
  box->setObjectName("errorBox");
  box->open();
}

FeatureSearchDialog* MainWindow::featureSearch() {
  if (!search_) search_ = new FeatureSearchDialog(worker_, explorer_, this);
  return search_;
}

void MainWindow::offerTruncation(const QString& text, bool bos, const QString& message) {
  if (opts_.scripted()) {
    qWarning().noquote() << "zscope:" << message << "- running the first tokens";
    explorer_->runTruncated(text, bos);
    return;
  }
  for (QMessageBox* open : findChildren<QMessageBox*>("truncateBox")) open->close();
  auto* box = new QMessageBox(QMessageBox::Question, tr("Prompt longer than the context"),
                              tr("%1.\n\nRun the prompt's first tokens instead?").arg(message), QMessageBox::NoButton, this);
  box->setObjectName("truncateBox");
  box->setAttribute(Qt::WA_DeleteOnClose);
  QPushButton* cut = box->addButton(tr("Run truncated"), QMessageBox::AcceptRole);
  cut->setObjectName("truncateButton");
  box->addButton(QMessageBox::Cancel);
  connect(cut, &QPushButton::clicked, this, [this, text, bos] { explorer_->runTruncated(text, bos); });
  box->open();
}

void MainWindow::setDarkPalette(bool dark) {
  if (darkAction_ && darkAction_->isChecked() != dark) {
    darkAction_->setChecked(dark);  // re-enters through toggled
    return;
  }
  gui::settings::darkPalette.set(dark);
  QPalette p;
  if (dark) {
    p = QPalette(QColor(45, 45, 45));
    p.setColor(QPalette::Window, QColor(40, 40, 40));
    p.setColor(QPalette::WindowText, QColor(230, 230, 230));
    p.setColor(QPalette::Base, QColor(30, 30, 30));
    p.setColor(QPalette::AlternateBase, QColor(50, 50, 50));
    p.setColor(QPalette::Text, QColor(230, 230, 230));
    p.setColor(QPalette::ButtonText, QColor(230, 230, 230));
    p.setColor(QPalette::Highlight, QColor(60, 110, 180));
    p.setColor(QPalette::HighlightedText, Qt::white);
    p.setColor(QPalette::ToolTipBase, QColor(50, 50, 50));
    p.setColor(QPalette::ToolTipText, QColor(230, 230, 230));
  } else {
    p = QApplication::style()->standardPalette();
  }
  QApplication::setPalette(p);
  explorer_->applyTheme(dark);
  // Every other plot too (training curves, the labeling dashboard).
  for (QCustomPlot* plot : findChildren<QCustomPlot*>()) zs::gui::applyPlotTheme(plot, dark);
}

// Saved dock layouts carry this version; one saved by an older arrangement
// (the dashboard tabbed with the RDFA tree) is ignored and the default is used.
static constexpr int kLayoutVersion = 2;

void MainWindow::restoreLayout() {
  restoreGeometry(gui::settings::windowGeometry.get());
  stateRestored_ = restoreState(gui::settings::windowState.get(), kLayoutVersion);
  layoutRestored_ = true;
}

void MainWindow::saveLayout() {
  gui::settings::windowGeometry.set(saveGeometry());
  gui::settings::windowState.set(saveState(kLayoutVersion));
}

void MainWindow::addToolDock(QDockWidget* dock, const QString& menuText, const QKeySequence& shortcut) {
  Q_ASSERT(!dock->objectName().isEmpty());
  dock->setParent(this);
  // Tool panels are tabs behind the explorer's dashboard, so they never squeeze
  // the explorer's docks; the menu entry raises them. Their content scrolls, so
  // their minimum size never sets the window's.
  if (dock->widget() && !qobject_cast<QScrollArea*>(dock->widget())) {
    auto* scroll = new QScrollArea;
    scroll->setObjectName(dock->objectName() + "_scroll");
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    scroll->setWidget(dock->widget());
    dock->setWidget(scroll);
  }
  QDockWidget* anchor = findChild<QDockWidget*>("dashboardDock");
  addDockWidget(Qt::RightDockWidgetArea, dock);
  if (anchor) {
    tabifyDockWidget(anchor, dock);
    anchor->raise();
  }
  connect(dock->toggleViewAction(), &QAction::triggered, dock, [dock](bool on) {
    if (on) dock->raise();
  });
  QAction* a = dock->toggleViewAction();
  a->setText(menuText);
  a->setShortcut(shortcut);
  toolsMenu_->addAction(a);
  if (layoutRestored_) restoreDockWidget(dock);
}

void MainWindow::showEvent(QShowEvent* e) {
  QMainWindow::showEvent(e);
  if (!stateRestored_ && !sized_) {
    sized_ = true;
    // The default arrangement's proportions, once the window has its size.
    QTimer::singleShot(0, this, [this] { explorer_->sizeDocks(this); });
  }
}

void MainWindow::closeEvent(QCloseEvent* e) {
  saveLayout();
  e->accept();
}

void MainWindow::dragEnterEvent(QDragEnterEvent* e) {
  if (e->mimeData()->hasUrls()) e->acceptProposedAction();
}

// Dropped folders: a model (config.json), an SAE (cfg.json), or a database file.
void MainWindow::dropEvent(QDropEvent* e) {
  for (const QUrl& u : e->mimeData()->urls()) {
    const QString p = u.toLocalFile();
    if (QFileInfo(p + "/config.json").exists()) openModel(p);
    else if (QFileInfo(p).isDir()) openSae(p);
    else openDatabase(p);
  }
}
