#pragma once
// The explorer's main window: docks for the prompt, tokens, features,
// heatmaps, RDFA tree and dashboard; talks to the Worker only by queued calls.
// Other panels (labeling, training, manager: app/gui/tool_panels.cpp) plug in
// through addToolDock() and toolsMenu().
#include <QKeySequence>
#include <QMap>
#include <QMainWindow>
#include <QSize>
#include <QString>
#include <QStringList>

#include "app/gui/settings.h"
#include "widgets/figure_export.h"

#include <memory>
#include <vector>

class QDockWidget;
class QLabel;
class QMenu;
class QProgressBar;
class QToolButton;
class QAction;
class Worker;
class ExplorerController;
class FeatureSearchDialog;

struct StartupOptions {
  QString model;            // folder, "default", or empty = default
  QStringList saes;         // SAE folders (empty: shipped SAEs if present)
  QString db;               // feature database file
  QString prompt;           // run at start-up
  int threads = 0;          // 0 = settings / all cores
  QString device;           // auto|cpu|cuda; empty = settings
  QString screenshot;       // render the window to this PNG and quit
  QString select;           // screenshot mode: "L:F" feature to select (default: the top one)
  QString exportFigure;     // render this figure (ExplorerController::figure) to exportOut and quit
  QString exportOut;
  QSize exportSize;         // empty parts: the figure's natural size
  int exportDpi = 300;
  // --export-figure intervention: the edit (zero, scale or clamp) of the selected
  // feature at the selected position, or at every position.
  QString interveneMode = "zero";
  double interveneValue = 0;
  bool interveneAll = false;
  QString promptB;          // --export-figure compare: the second prompt
  bool noDefaultModel = false;  // tests: start empty
  bool scripted() const { return !screenshot.isEmpty() || !exportFigure.isEmpty(); }
};

class MainWindow : public QMainWindow {
  Q_OBJECT
 public:
  explicit MainWindow(const StartupOptions& opts = {}, QWidget* parent = nullptr);
  ~MainWindow() override;

  // Integration hook for tool panels: adds the dock (right area, tabified
  // with other tool docks), a checkable entry in the Tools menu with the
  // shortcut, and remembers its state with the rest of the layout. The dock
  // must have an objectName.
  void addToolDock(QDockWidget* dock, const QString& menuText, const QKeySequence& shortcut);
  QMenu* toolsMenu() const { return toolsMenu_; }
  Worker* worker() const { return worker_; }
  ExplorerController* explorer() const { return explorer_; }
  // The feature search dialog (Go > Search features…), created on first use.
  FeatureSearchDialog* featureSearch();
  // Status-bar texts (tests read them).
  QString modelStatus() const;
  QString deviceStatus() const;
  bool blasWarningShown() const;
  // Long jobs shown in the status bar (progress bar + Cancel) while any runs:
  // model/SAE/database loads and the explorer's requests.
  bool busy() const { return !jobs_.isEmpty(); }
  QStringList activeJobs() const { return jobs_.values(); }
  void setDarkPalette(bool dark);

 public Q_SLOTS:
  // Open through the worker (asynchronously); errors appear as message boxes.
  void openModel(const QString& dir);
  void openSae(const QString& dir);
  void openDatabase(const QString& file);
  void runPrompt(const QString& text);

 Q_SIGNALS:
  // Emitted after the worker has loaded a model / an SAE / a database.
  void modelChanged(const QString& dir);
  void saesChanged();
  void databaseChanged(const QString& file);

 protected:
  void closeEvent(QCloseEvent* e) override;
  void showEvent(QShowEvent* e) override;
  void dragEnterEvent(QDragEnterEvent* e) override;
  void dropEvent(QDropEvent* e) override;

 private:
  void buildMenus();
  void buildStatusBar();
  void restoreLayout();
  void saveLayout();
  void startup();
  void addRecent(gui::settings::RecentKind kind, const QString& path);
  void rebuildRecentMenu();
  void showError(const QString& title, const QString& message);
  void offerTruncation(const QString& text, bool bos, const QString& message);
  void chooseModel();
  void chooseSae();
  void chooseDatabase();
  void setThreads();
  void screenshotTick();
  void beginJob(const QString& key, const QString& what);
  void endJob(const QString& key);
  void showJobMessage(const QString& what);

  QLabel* modelLabel_ = nullptr;
  QLabel* deviceLabel_ = nullptr;
  QLabel* threadsLabel_ = nullptr;
  QLabel* latencyLabel_ = nullptr;
  QLabel* blasLabel_ = nullptr;
  QProgressBar* progress_ = nullptr;
  QToolButton* cancel_ = nullptr;
  QMenu* recentMenu_ = nullptr;
  QAction* darkAction_ = nullptr;
  QString device_;
  int threads_ = 0;
  int screenshotStep_ = 0;

  Worker* worker_ = nullptr;
  ExplorerController* explorer_ = nullptr;
  QMenu* fileMenu_ = nullptr;
  QMenu* viewMenu_ = nullptr;
  QMenu* toolsMenu_ = nullptr;
  StartupOptions opts_;
  bool layoutRestored_ = false;
  bool stateRestored_ = false;  // a saved dock layout was applied
  bool sized_ = false;
  std::vector<std::unique_ptr<zs::gui::FigureSource>> toolFigures_;
  FeatureSearchDialog* search_ = nullptr;  // training curves
  QMap<QString, QString> jobs_;  // key -> what the status bar says
  QString jobMessage_;           // the last job text shown in the status bar
};

// Defined in tool_panels.cpp (owned by the labeling/training/manager panels):
// creates their docks and registers them with w->addToolDock(...).
void installToolPanels(MainWindow* w);
