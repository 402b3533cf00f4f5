// Tool panels (labeling session, SAE training, model & SAE manager) plug into
// the main window here, through MainWindow's public hook API only
// (addToolDock, worker(), the open* slots and the *Changed signals).
#include <QDockWidget>
#include <QFileInfo>
#include <QPointer>
#include <QSettings>

#include "app/gui/labeling/labeling_panel.h"
#include "app/gui/settings.h"
#include "app/gui/explorer/mainwindow.h"
#include "app/gui/manager/manager_panel.h"
#include "app/gui/training/training_panel.h"
#include "app/gui/worker.h"

namespace {

using zs::gui::LabelingPanel;
using zs::gui::ManagerPanel;
using zs::gui::TrainingPanel;

// What the worker's engine holds now; read on the worker thread.
struct EngineSnapshot {
  bool hasModel = false;
  QString modelDir;
  QStringList saes;
  QString database;
};

QDockWidget* makeDock(MainWindow* w, QWidget* panel, const QString& title, const QString& name) {
  auto* dock = new QDockWidget(title, w);
  dock->setObjectName(name);  // restoreState() needs it
  dock->setWidget(panel);
  return dock;
}

// Asks the worker what is loaded and updates the panels on the UI thread.
void refreshFromEngine(MainWindow* w, QPointer<ManagerPanel> mgr, QPointer<TrainingPanel> train) {
  Worker* worker = w->worker();
  if (!worker) return;
  QPointer<MainWindow> win(w);
  worker->post([win, mgr, train](zs::Engine& e) {
    EngineSnapshot s;
    s.hasModel = e.hasModel();
    if (s.hasModel) s.modelDir = QString::fromStdString(e.model().dir);
    for (const auto& info : e.saes())
      s.saes << QStringLiteral("L%1: d_sae %2 — %3").arg(info.layer).arg(info.dSae).arg(QString::fromStdString(info.dir));
    if (e.hasDatabase()) s.database = QString::fromStdString(e.databaseFile());
    if (!win) return;
    QMetaObject::invokeMethod(
        win,
        [s, mgr, train] {
          if (mgr) {
            if (s.hasModel) mgr->setModel(s.modelDir);
            mgr->setLoadedSaes(s.saes);
            mgr->setDatabase(s.database);
          }
          if (train && s.hasModel) {
            zs::gui::ModelShape m;
            if (zs::gui::readModelShape(s.modelDir, m).isEmpty())
              train->setModel(s.modelDir, m.nLayer, m.dIn(), m.nCtx);
          }
        },
        Qt::QueuedConnection);
  });
}

}  // namespace

void installToolPanels(MainWindow* w) {
  auto* labeling = new LabelingPanel;
  auto* training = new TrainingPanel;
  auto* manager = new ManagerPanel;
  w->addToolDock(makeDock(w, labeling, QObject::tr("Labeling session"), QStringLiteral("dock_labeling")),
                 QObject::tr("&Labeling session"), QKeySequence(QStringLiteral("Ctrl+Shift+L")));
  w->addToolDock(makeDock(w, training, QObject::tr("SAE training"), QStringLiteral("dock_training")),
                 QObject::tr("SAE &training"), QKeySequence(QStringLiteral("Ctrl+Shift+T")));
  w->addToolDock(makeDock(w, manager, QObject::tr("Models && SAEs"), QStringLiteral("dock_manager")),
                 QObject::tr("&Models and SAEs"), QKeySequence(QStringLiteral("Ctrl+Shift+M")));

  QPointer<ManagerPanel> mgr(manager);
  QPointer<TrainingPanel> train(training);

  // Manager requests go through the main window (worker loads, errors shown there).
  QObject::connect(manager, &ManagerPanel::openModelRequested, w, &MainWindow::openModel);
  QObject::connect(manager, &ManagerPanel::openSaeRequested, w, &MainWindow::openSae);
  QObject::connect(manager, &ManagerPanel::openDatabaseRequested, w, &MainWindow::openDatabase);
  QObject::connect(manager, &ManagerPanel::runtimeChangeRequested, w,
                   [w, mgr](const QString& device, int threads) {
                     Worker* worker = w->worker();
                     if (!worker || !mgr || mgr->model().dir.isEmpty()) return;
                     // The same model on the chosen device with the thread count; its SAEs and
                     // database stay loaded.
                     const quint64 id = worker->nextId(RequestKind::Load);
                     QMetaObject::invokeMethod(
                         worker, [worker, id, device, threads] { worker->reloadModel(id, device, threads); },
                         Qt::QueuedConnection);
                   });
  manager->installDropTarget(w);

  // Trained SAEs load into the explorer; their database opens when built.
  QObject::connect(training, &TrainingPanel::saesReady, w, [w](const QStringList& dirs) {
    for (const QString& d : dirs) w->openSae(d);
  });
  QObject::connect(training, &TrainingPanel::databaseReady, w, &MainWindow::openDatabase);

  // Keep the panels in step with what the worker has loaded.
  auto refresh = [w, mgr, train] { refreshFromEngine(w, mgr, train); };
  QObject::connect(w, &MainWindow::modelChanged, w, refresh);
  QObject::connect(w, &MainWindow::saesChanged, w, refresh);
  QObject::connect(w, &MainWindow::databaseChanged, w, [refresh, labeling](const QString& file) {
    refresh();
    if (!file.isEmpty() && file != labeling->databaseFile()) labeling->openDatabase(file);
  });
  refresh();

  // Resume the last labeling session (its queue lives in the database).
  const QString lastDb = gui::settings::labelingDatabase.get();
  if (!lastDb.isEmpty() && QFileInfo::exists(lastDb)) labeling->openDatabase(lastDb);
}
