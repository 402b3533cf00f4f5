#pragma once
// "Build feature database" for freshly trained SAEs: zs::db::buildFeatureDb
// (torch-free header) on its own QThread with progress and a cancel flag. A
// cancelled build keeps its state in the database; starting it again resumes.
#include <QObject>
#include <QString>

#include <atomic>

#include "core/db/builder.h"

class QThread;

namespace zs::gui {

class DbBuildJob : public QObject {
  Q_OBJECT
 public:
  explicit DbBuildJob(QObject* parent = nullptr);
  ~DbBuildJob() override;  // cancels and joins
  bool start(const zs::db::BuildOptions& opts);
  void cancel() { cancel_.store(true); }
  bool running() const;
  void wait();

 Q_SIGNALS:
  void progress(double done, double total, QString message);
  void finished(QString file, bool completed, double tokensPerSecond);
  void failed(QString message);

 private:
  QThread* thread_ = nullptr;
  std::atomic<bool> cancel_{false};
};

}  // namespace zs::gui
