// Worker service: see worker.h. Every slot runs on the worker thread; errors
// become failed(id, kind, message) signals, never exceptions across threads.
#include "app/gui/worker.h"

#include <QElapsedTimer>
#include <QMetaType>
#include <QThread>

#include "core/base/error.h"
#include "core/base/runtime.h"

void registerWorkerTypes() {
  static bool done = false;
  if (done) return;
  done = true;
  qRegisterMetaType<zs::ModelInfo>();
  qRegisterMetaType<zs::SaeInfo>();
  qRegisterMetaType<zs::PromptAnalysis>();
  qRegisterMetaType<zs::FeatureDetail>();
  qRegisterMetaType<zs::DfaResult>();
  qRegisterMetaType<zs::RdfaNode>();
  qRegisterMetaType<std::vector<zs::RdfaNode>>();
  qRegisterMetaType<zs::Dashboard>();
  qRegisterMetaType<std::vector<zs::HeadTopFeature>>();
  qRegisterMetaType<zs::Intervention>();
  qRegisterMetaType<zs::InterventionResult>();
}

Worker::Worker() : engine_(std::make_unique<zs::Engine>()) { registerWorkerTypes(); }

Worker::~Worker() = default;

void Worker::start() {
  if (thread_ptr_) return;
  thread_ptr_ = new QThread;
  thread_ptr_->setObjectName("zscope-worker");
  moveToThread(thread_ptr_);
  thread_ptr_->start();
}

void Worker::stop() {
  if (!thread_ptr_) return;
  cancelUpTo_ = ~quint64(0);
  thread_ptr_->requestInterruption();
  thread_ptr_->quit();
  thread_ptr_->wait();
  delete thread_ptr_;
  thread_ptr_ = nullptr;
}

quint64 Worker::nextId(RequestKind k) {
  const quint64 id = ++counter_;
  latest_[static_cast<int>(k)] = id;
  return id;
}

bool Worker::isCurrent(RequestKind k, quint64 id) const { return latest_[static_cast<int>(k)] == id; }

void Worker::post(std::function<void(zs::Engine&)> fn) {
  QMetaObject::invokeMethod(this, [this, fn = std::move(fn)] {
    try {
      fn(*engine_);
    } catch (const std::exception& e) {
      Q_EMIT failed(0, static_cast<int>(RequestKind::Job), QString::fromStdString(e.what()));
    }
  }, Qt::QueuedConnection);
}

// Runs f unless a newer request of the same kind already arrived (the stale
// one is dropped without work); exceptions become failed().
template <class F>
void Worker::guarded(quint64 id, RequestKind k, F&& f) {
  if (!isCurrent(k, id)) return;
  if (thread_ptr_ && thread_ptr_->isInterruptionRequested()) return;
  try {
    f();
  } catch (const zs::Cancelled&) {
    Q_EMIT failed(id, static_cast<int>(k), QString());
  } catch (const std::exception& e) {
    Q_EMIT failed(id, static_cast<int>(k), QString::fromStdString(e.what()));
  }
}

zs::Progress Worker::jobProgress(quint64 id) {
  zs::Progress p;
  p.cancelledFn = [this, id] { return isCancelled(id); };
  p.report = [this](double d, double n, const std::string& m) { Q_EMIT progress(d, n, QString::fromStdString(m)); };
  return p;
}

// Loads report progress and stop when cancelled; they end with loadDone(id)
// whatever happened, so the status bar can take its progress bar down. They are
// not superseded by one another (several SAE folders load in a row), except
// model loads: only the newest model request is carried out.
template <class F>
void Worker::load(quint64 id, F&& f) {
  try {
    f();
  } catch (const zs::Cancelled&) {
    Q_EMIT failed(id, static_cast<int>(RequestKind::Load), QString());
  } catch (const std::exception& e) {
    Q_EMIT failed(id, static_cast<int>(RequestKind::Load), QString::fromStdString(e.what()));
  }
  Q_EMIT loadDone(id);
}

void Worker::loadModel(quint64 id, const QString& dir, const QString& device, int threads) {
  load(id, [&] {
    if (!isCurrent(RequestKind::Load, id)) return;
    if (threads > 0) zs::runtime::setThreads(threads);
    Q_EMIT modelLoaded(id, engine_->loadModel(dir.toStdString(), device.isEmpty() ? "auto" : device.toStdString(),
                                              jobProgress(id)));
  });
}

void Worker::reloadModel(quint64 id, const QString& device, int threads) {
  load(id, [&] {
    if (!isCurrent(RequestKind::Load, id)) return;
    if (threads > 0) zs::runtime::setThreads(threads);
    Q_EMIT modelLoaded(id, engine_->reloadModel(device.isEmpty() ? "auto" : device.toStdString(), jobProgress(id)));
    for (const zs::SaeInfo& i : engine_->saes()) Q_EMIT saeLoaded(id, i);
  });
}

void Worker::loadSae(quint64 id, const QString& dir) {
  load(id, [&] {
    for (const zs::SaeInfo& i : engine_->loadSaeTree(dir.toStdString(), jobProgress(id))) Q_EMIT saeLoaded(id, i);
    const std::string notice = engine_->takeDatabaseNotice();
    if (!notice.empty()) Q_EMIT databaseClosed(id, QString::fromStdString(notice));
  });
}

void Worker::openDatabase(quint64 id, const QString& file) {
  load(id, [&] {
    engine_->openDatabase(file.toStdString(), jobProgress(id));
    Q_EMIT databaseOpened(id, file);
  });
}

void Worker::analyse(quint64 id, const QString& prompt, bool bos, bool truncate) {
  guarded(id, RequestKind::Analyse, [&] {
    QElapsedTimer t;
    t.start();
    zs::PromptAnalysis r = engine_->analyse(prompt.toStdString(), bos, jobProgress(id), truncate);
    if (!isCurrent(RequestKind::Analyse, id)) return;  // superseded while running
    Q_EMIT analysed(id, std::move(r), t.nsecsElapsed() / 1e6);
  });
}

void Worker::selectFeature(quint64 id, int layer, qint64 feature, int position) {
  guarded(id, RequestKind::Feature, [&] {
    zs::FeatureDetail d = engine_->feature(layer, feature, position);
    zs::DfaResult dfa = engine_->dfa(layer, feature, position);
    zs::RdfaNode root = engine_->rdfaRoot(layer, feature, position);
    if (!isCurrent(RequestKind::Feature, id)) return;
    Q_EMIT featureReady(id, d);
    Q_EMIT dfaReady(id, dfa);
    Q_EMIT rootReady(id, root);
  });
}

void Worker::dfa(quint64 id, int layer, qint64 feature, int position) {
  guarded(id, RequestKind::Dfa, [&] { Q_EMIT dfaReady(id, engine_->dfa(layer, feature, position)); });
}

void Worker::expand(quint64 id, quint64 generation, int nodeId) {
  // Expansions of different nodes do not supersede each other: no guarded().
  // A node of an older analysis is dropped without a word: its tree is being replaced (the
  // engine lives on this thread, so the generation cannot change between this check and expand).
  if (generation != engine_->generation()) return;
  try {
    Q_EMIT expanded(id, generation, nodeId, engine_->expand(generation, nodeId));
  } catch (const std::exception& e) {
    Q_EMIT failed(id, static_cast<int>(RequestKind::Expand), QString::fromStdString(e.what()));
  }
}

void Worker::dashboard(quint64 id, int layer, qint64 feature) {
  guarded(id, RequestKind::Dashboard, [&] { Q_EMIT dashboardReady(id, engine_->dashboard(layer, feature)); });
}

void Worker::headTopFeatures(quint64 id, int layer, int head, int k) {
  guarded(id, RequestKind::HeadTop, [&] { Q_EMIT headTopReady(id, layer, head, engine_->headTopFeatures(layer, head, k)); });
}

void Worker::intervene(quint64 id, quint64 generation, zs::Intervention iv, int predictPosition, int topK) {
  if (generation != engine_->generation()) {  // its prompt was replaced: no dialog, the panel stops waiting
    Q_EMIT failed(id, static_cast<int>(RequestKind::Intervene), QString());
    return;
  }
  guarded(id, RequestKind::Intervene, [&] {
    zs::InterventionResult r = engine_->intervene(iv, predictPosition, topK);
    if (!isCurrent(RequestKind::Intervene, id)) return;
    Q_EMIT intervened(id, generation, std::move(r));
  });
}
