// Main window: menus, dock layout persistence and the tool-dock hook. The
// explorer's docks and their wiring live in ExplorerController.
#include "app/gui/mainwindow.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDockWidget>
#include <QMenu>
#include <QMenuBar>
#include <QSettings>

#include "app/gui/worker.h"

MainWindow::MainWindow(const StartupOptions& opts, QWidget* parent) : QMainWindow(parent), opts_(opts) {
  setObjectName("MainWindow");
  setWindowTitle("Zscope");
  setDockNestingEnabled(true);
  worker_ = new Worker;
  worker_->start();
  buildMenus();
  installToolPanels(this);
  restoreLayout();
}

MainWindow::~MainWindow() {
  worker_->stop();
  delete worker_;
}

void MainWindow::buildMenus() {
  fileMenu_ = menuBar()->addMenu(tr("&File"));
  QAction* quit = fileMenu_->addAction(tr("&Quit"), this, &QWidget::close);
  quit->setShortcut(QKeySequence::Quit);
  viewMenu_ = menuBar()->addMenu(tr("&View"));
  toolsMenu_ = menuBar()->addMenu(tr("&Tools"));
}

void MainWindow::addToolDock(QDockWidget* dock, const QString& menuText, const QKeySequence& shortcut) {
  Q_ASSERT(!dock->objectName().isEmpty());
  dock->setParent(this);
  addDockWidget(Qt::RightDockWidgetArea, dock);
  QAction* a = dock->toggleViewAction();
  a->setText(menuText);
  a->setShortcut(shortcut);
  toolsMenu_->addAction(a);
  if (layoutRestored_) restoreDockWidget(dock);
}

void MainWindow::openModel(const QString& dir) {
  const quint64 id = worker_->nextId(RequestKind::Load);
  QMetaObject::invokeMethod(worker_, "loadModel", Qt::QueuedConnection, Q_ARG(quint64, id), Q_ARG(QString, dir),
                            Q_ARG(QString, opts_.device), Q_ARG(int, opts_.threads));
}

void MainWindow::openSae(const QString& dir) {
  const quint64 id = worker_->nextId(RequestKind::Job);
  QMetaObject::invokeMethod(worker_, "loadSae", Qt::QueuedConnection, Q_ARG(quint64, id), Q_ARG(QString, dir));
}

void MainWindow::openDatabase(const QString& file) {
  const quint64 id = worker_->nextId(RequestKind::Job);
  QMetaObject::invokeMethod(worker_, "openDatabase", Qt::QueuedConnection, Q_ARG(quint64, id), Q_ARG(QString, file));
}

void MainWindow::runPrompt(const QString& text) { (void)text; }

void MainWindow::restoreLayout() {
  QSettings s;
  restoreGeometry(s.value("window/geometry").toByteArray());
  restoreState(s.value("window/state").toByteArray());
  layoutRestored_ = true;
}

void MainWindow::saveLayout() {
  QSettings s;
  s.setValue("window/geometry", saveGeometry());
  s.setValue("window/state", saveState());
}

void MainWindow::closeEvent(QCloseEvent* e) {
  saveLayout();
  e->accept();
}
