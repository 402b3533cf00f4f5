#pragma once
// Labeling session mode (issue 8): a queue of features from the feature
// database, each shown as a dashboard beside a keyboard-driven label form.
//
// Durability: the panel owns one SQLite connection (zs::db, opened durable) on
// the UI thread and writes each confirmed label in its own transaction before
// moving on, so what the user saw confirmed is on disk (a single-row write, a
// few ms). Dashboards are read off the UI thread (QtConcurrent, one connection
// per call). The queue and progress live in the database (zs::db sessions), so
// reopening the database resumes at the same feature.
#include <QElapsedTimer>
#include <QFutureWatcher>
#include <QString>
#include <QWidget>

#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "core/db/features.h"
#include "core/db/sessions.h"

class QCheckBox;
class QLabel;
class QPushButton;
class QStackedWidget;
class QTextBrowser;
class QUndoStack;

namespace zs::db {
class Db;
}

namespace zs::gui {

class LabelingDashboard;
class LabelingForm;

// A dashboard read on a pool thread: the dashboard, or why there is none.
struct DashboardResult {
  int layer = 0;
  qint64 feature = 0;
  quint64 generation = 0;
  std::optional<zs::db::FeatureDashboard> dashboard;
  QString error;
};

class LabelingPanel : public QWidget {
  Q_OBJECT
 public:
  explicit LabelingPanel(QWidget* parent = nullptr);
  ~LabelingPanel() override;

  // Opens a feature database and resumes its most recent active session.
  // Returns false (with the reason in lastError()) when it cannot be opened.
  bool openDatabase(const QString& file);
  QString databaseFile() const { return dbFile_; }
  QString lastError() const { return lastError_; }

  // New sessions (the "New session" dialog calls these). False + lastError() on failure.
  bool startSession(int layer, int n, quint64 seed);
  bool startSessionWithList(int layer, const std::vector<int64_t>& features);

  // State, for the tests and the window title.
  bool hasSession() const { return sessionId_ > 0; }
  qint64 sessionId() const { return sessionId_; }
  std::optional<zs::db::SessionItem> currentItem() const { return current_; }
  QString progressText() const;  // "12 / 30"
  bool sessionComplete() const;
  QUndoStack* undoStack() const { return undo_; }
  LabelingForm* form() const { return form_; }
  zs::db::SessionReport report() const;
  // Atomic export of every label in the database (CSV or JSONL by extension).
  bool exportLabels(const QString& file);

  // Used by the undo commands: write/revert a label and show that feature.
  void applyLabel(const zs::db::Label& label);
  void revertLabel(int layer, qint64 feature, const QString& formText, const QString& formFamily,
                   const QString& formNotes);

 public Q_SLOTS:
  void confirm();  // Enter
  void defer();    // Tab: to the end of the queue
  void skip();     // done, not judged
  void newSessionDialog();
  void exportDialog();

 Q_SIGNALS:
  void labelSaved(int layer, qint64 feature);

 private:
  void buildUi();
  void advance();  // to the next pending item, or the report
  void showItem(const zs::db::SessionItem& item, bool prefillFromDb);
  void loadDashboard(int layer, qint64 feature);
  void showDashboard();  // the last dashboard read, without the suggestion when blind
  void updateStatus();
  void showReport();
  bool guard(const std::function<void()>& fn);  // runs fn, shows errors; false on error

  std::unique_ptr<zs::db::Db> db_;
  QString dbFile_, lastError_;
  qint64 sessionId_ = 0;
  std::optional<zs::db::SessionItem> current_;
  QUndoStack* undo_ = nullptr;
  LabelingForm* form_ = nullptr;
  LabelingDashboard* dash_ = nullptr;
  QCheckBox* blind_ = nullptr;                              // hide the family suggestion (remembered)
  std::optional<zs::db::FeatureDashboard> shownDashboard_;  // as read, so that toggling blind re-shows it
  QStackedWidget* stack_ = nullptr;
  QTextBrowser* reportView_ = nullptr;
  QLabel* header_ = nullptr;
  QLabel* progress_ = nullptr;
  QLabel* timing_ = nullptr;
  QFutureWatcher<DashboardResult> dashWatcher_;
  quint64 dashGeneration_ = 0;
  QElapsedTimer featureClock_;
  double secondsTotal_ = 0;
  int timedCount_ = 0;
};

}  // namespace zs::gui
