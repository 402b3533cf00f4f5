#include "app/gui/training/training_dbjob.h"

#include <QElapsedTimer>
#include <QThread>

#include "core/base/error.h"

namespace zs::gui {

DbBuildJob::DbBuildJob(QObject* parent) : QObject(parent) {}

DbBuildJob::~DbBuildJob() {
  cancel();
  wait();
}

bool DbBuildJob::running() const { return thread_ && thread_->isRunning(); }

void DbBuildJob::wait() {
  if (!thread_) return;
  thread_->wait();
  delete thread_;
  thread_ = nullptr;
}

bool DbBuildJob::start(const zs::db::BuildOptions& opts) {
  if (running()) return false;
  wait();
  cancel_.store(false);
  thread_ = QThread::create([this, opts] {
    QElapsedTimer since;
    since.start();
    zs::Progress p;
    p.cancel = &cancel_;
    p.report = [this, &since](double done, double total, const std::string& msg) {
      if (since.elapsed() < 100 && done < total) return;  // ~10 updates a second at most
      since.restart();
      Q_EMIT progress(done, total, QString::fromStdString(msg));
    };
    try {
      const auto r = zs::db::buildFeatureDb(opts, p);
      Q_EMIT finished(QString::fromStdString(opts.out), r.completed || r.alreadyBuilt, r.tokensPerSecond);
    } catch (const zs::Cancelled&) {
      Q_EMIT finished(QString::fromStdString(opts.out), false, 0);
    } catch (const std::exception& e) {
      Q_EMIT failed(QString::fromUtf8(e.what()));
    }
  });
  thread_->setObjectName(QStringLiteral("build-db"));
  thread_->start();
  return true;
}

}  // namespace zs::gui
