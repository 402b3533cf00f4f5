#pragma once
// The worker service: one QObject living on its own QThread owns the model,
// the SAEs and the feature database (through zs::Engine, which is torch-free
// in its header). The UI talks to it only through queued signals/slots; every
// request carries an id and the UI ignores results whose id is not the newest
// of its kind, so a newer request supersedes a stale one.
#include <QMetaType>
#include <QObject>
#include <QString>
#include <QStringList>

#include <atomic>
#include <functional>
#include <memory>

#include "core/engine/engine.h"

class QThread;

// Request kinds: a newer request of one kind supersedes older ones of that kind.
enum class RequestKind { Load = 0, Analyse, Feature, Dfa, Expand, Dashboard, HeadTop, Job, Intervene, Count };

class Worker : public QObject {
  Q_OBJECT
 public:
  Worker();
  ~Worker() override;

  // Starts the owning thread (the worker object is moved there).
  void start();
  // requestInterruption(); quit(); wait(). Safe to call twice.
  void stop();
  QThread* thread_() const { return thread_ptr_; }

  // Thread-safe: next request id of a kind; marks it as the newest.
  quint64 nextId(RequestKind k);
  bool isCurrent(RequestKind k, quint64 id) const;
  // Thread-safe: cancels every request issued so far (the status-bar Cancel
  // button); requests issued later run normally. Long jobs poll it through
  // their zs::Progress.
  void cancelIssued() { cancelUpTo_ = counter_.load(); }
  bool isCancelled(quint64 id) const { return id <= cancelUpTo_.load(); }

  // Runs fn on the worker thread with the engine (queued). For panels that
  // need direct engine access (training, labeling): fn must not touch widgets;
  // report back with QMetaObject::invokeMethod(receiver, ..., Qt::QueuedConnection).
  void post(std::function<void(zs::Engine&)> fn);

 public Q_SLOTS:
  // All slots run on the worker thread (invoke via queued connection).
  void loadModel(quint64 id, const QString& dir, const QString& device, int threads);
  // The same model on another device and thread count, keeping its SAEs and database.
  void reloadModel(quint64 id, const QString& device, int threads);
  void loadSae(quint64 id, const QString& dir);
  void openDatabase(quint64 id, const QString& file);
  void analyse(quint64 id, const QString& prompt, bool bos, bool truncate = false);
  // Feature selected at a position: emits featureReady, dfaReady and rootReady.
  void selectFeature(quint64 id, int layer, qint64 feature, int position);
  void dfa(quint64 id, int layer, qint64 feature, int position);
  // Expands node `nodeId` of analysis `generation`; the reply carries both so
  // the tree model can drop replies for an older prompt.
  void expand(quint64 id, quint64 generation, int nodeId);
  void dashboard(quint64 id, int layer, qint64 feature);
  void headTopFeatures(quint64 id, int layer, int head, int k);
  // An intervention on the analysis `generation`: emits intervened, or failed
  // with an empty message (no dialog) when another prompt has been analysed since.
  void intervene(quint64 id, quint64 generation, zs::Intervention iv, int predictPosition, int topK);

 Q_SIGNALS:
  void modelLoaded(quint64 id, zs::ModelInfo info);
  void saeLoaded(quint64 id, zs::SaeInfo info);
  void databaseOpened(quint64 id, QString file);
  // Loading SAEs closed the open database, which belongs to other SAEs.
  void databaseClosed(quint64 id, QString reason);
  void analysed(quint64 id, zs::PromptAnalysis result, double ms);
  void featureReady(quint64 id, zs::FeatureDetail detail);
  void dfaReady(quint64 id, zs::DfaResult result);
  void rootReady(quint64 id, zs::RdfaNode root);
  void expanded(quint64 id, quint64 generation, int nodeId, std::vector<zs::RdfaNode> children);
  void dashboardReady(quint64 id, zs::Dashboard dash);
  void headTopReady(quint64 id, int layer, int head, std::vector<zs::HeadTopFeature> feats);
  void intervened(quint64 id, quint64 generation, zs::InterventionResult result);
  void failed(quint64 id, int kind, QString message);
  void progress(double done, double total, QString message);
  // After loadModel / loadSae / openDatabase request `id` finished: loaded, failed or cancelled.
  void loadDone(quint64 id);

 private:
  template <class F>
  void guarded(quint64 id, RequestKind k, F&& f);
  template <class F>
  void load(quint64 id, F&& f);  // errors -> failed(), then loadDone(id)
  zs::Progress jobProgress(quint64 id);  // reports through progress(), cancelled by cancelIssued()

  std::unique_ptr<zs::Engine> engine_;
  QThread* thread_ptr_ = nullptr;
  std::atomic<quint64> counter_{0};
  std::atomic<quint64> latest_[static_cast<int>(RequestKind::Count)] = {};
  std::atomic<quint64> cancelUpTo_{0};
};

// Registers the plain structs with Qt's meta-type system (queued signals copy them).
void registerWorkerTypes();

Q_DECLARE_METATYPE(zs::ModelInfo)
Q_DECLARE_METATYPE(zs::SaeInfo)
Q_DECLARE_METATYPE(zs::PromptAnalysis)
Q_DECLARE_METATYPE(zs::FeatureDetail)
Q_DECLARE_METATYPE(zs::DfaResult)
Q_DECLARE_METATYPE(zs::RdfaNode)
Q_DECLARE_METATYPE(std::vector<zs::RdfaNode>)
Q_DECLARE_METATYPE(zs::Dashboard)
Q_DECLARE_METATYPE(std::vector<zs::HeadTopFeature>)
Q_DECLARE_METATYPE(zs::Intervention)
Q_DECLARE_METATYPE(zs::InterventionResult)
