#pragma once
// The model & SAE manager (issue 8): open a Hugging Face GPT-2 folder, SAELens
// SAE folders (or a folder of them) and feature databases; recent files; the
// device and LibTorch thread count; folders dropped onto the main window.
//
// Every path is checked here first (manager_checks.h): a wrong or mismatched
// folder shows a message in the panel and nothing is requested, so the loaded
// model and SAEs stay as they were. Loading itself is the worker's job: the
// panel only emits requests (tool_panels.cpp wires them to the MainWindow).
#include <QStringList>
#include <QWidget>

#include "app/gui/manager/manager_checks.h"
#include "app/gui/settings.h"

class QComboBox;
class QLabel;
class QListWidget;
class QSpinBox;

namespace zs::gui {

class ManagerPanel : public QWidget {
  Q_OBJECT
 public:
  explicit ManagerPanel(QWidget* parent = nullptr);

  // What the worker has loaded (from MainWindow's signals).
  void setModel(const QString& dir);
  void setLoadedSaes(const QStringList& lines);
  void setDatabase(const QString& file);
  const ModelShape& model() const { return model_; }
  QStringList loadedSaes() const { return saes_; }
  QString database() const { return db_; }

  // Check, then request. False (and the message shown) when refused.
  bool openModel(const QString& dir);
  bool openSae(const QString& dirOrTree);
  bool openDatabase(const QString& file);
  bool openPath(const QString& path);  // classifies (drops, recent files)
  // Accept folder/file drops on w (e.g. the main window).
  void installDropTarget(QWidget* w);

  QString errorText() const;
  QStringList recentFiles() const;  // "kind\tpath", newest first
  void showError(const QString& msg);

 Q_SIGNALS:
  void openModelRequested(const QString& dir);
  void openSaeRequested(const QString& dir);
  void openDatabaseRequested(const QString& file);
  void runtimeChangeRequested(const QString& device, int threads);

 protected:
  bool eventFilter(QObject* obj, QEvent* ev) override;

 private:
  void addRecent(gui::settings::RecentKind kind, const QString& path);
  void refreshRecent();
  void showInfo(const QString& msg);

  ModelShape model_;
  QStringList saes_;
  QString db_;
  QLabel* modelLabel_ = nullptr;
  QLabel* saeLabel_ = nullptr;
  QLabel* dbLabel_ = nullptr;
  QLabel* message_ = nullptr;
  QListWidget* recent_ = nullptr;
  QComboBox* device_ = nullptr;
  QSpinBox* threads_ = nullptr;
  QLabel* runtimeLabel_ = nullptr;
  bool lastWasError_ = false;
};

}  // namespace zs::gui
