#include "app/gui/training/training_job.h"

#include <QElapsedTimer>
#include <QFile>
#include <QMap>
#include <QThread>

#include <nlohmann/json.hpp>

#include "core/base/error.h"

namespace zs::gui {

QVector<MetricPoint> parseMetricsLine(const std::string& line, const QStringList& keys) {
  QVector<MetricPoint> out;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(line);
  } catch (const std::exception&) {
    return out;  // a torn last line of a crashed run: ignore it
  }
  if (!j.is_object() || !j.contains("step") || !j["step"].is_number()) return out;
  // trainSaes writes "train" lines (batch statistics) and "eval" lines (held-out
  // evaluation, including CE loss recovered). Each curve takes one kind only, so
  // held-out L0 never zigzags into the training L0 curve.
  const std::string kind = j.contains("kind") && j["kind"].is_string() ? j["kind"].get<std::string>() : "train";
  if (kind != "train" && kind != "eval") return out;
  const int layer = j.contains("layer") && j["layer"].is_number() ? j["layer"].get<int>() : 0;
  const double step = j["step"].get<double>();
  for (const QString& k : keys) {
    const std::string key = k.toStdString();
    if ((key.rfind("ce_", 0) == 0) != (kind == "eval")) continue;
    if (j.contains(key) && j[key].is_number()) out.push_back({layer, step, k, j[key].get<double>()});
  }
  return out;
}

bool parseDensityHistogram(const std::string& line, DensityHistogram& out) {
  if (line.find("density_histogram") == std::string::npos) return false;  // most lines: skip the parse
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(line);
  } catch (const std::exception&) {
    return false;
  }
  if (!j.is_object() || !j.contains("density_histogram") ||
      (j.contains("kind") && j["kind"] != "train"))
    return false;
  const auto& h = j["density_histogram"];
  if (!h.is_object() || !h.contains("log10_edges") || !h.contains("counts") || !h["log10_edges"].is_array() ||
      !h["counts"].is_array() || h["log10_edges"].size() != h["counts"].size() + 1)
    return false;
  out = DensityHistogram{};
  out.layer = j.contains("layer") && j["layer"].is_number() ? j["layer"].get<int>() : 0;
  out.step = j.contains("step") && j["step"].is_number() ? j["step"].get<double>() : 0;
  for (const auto& e : h["log10_edges"]) {
    if (!e.is_number()) return false;
    out.edges.push_back(e.get<double>());
  }
  for (const auto& c : h["counts"]) {
    if (!c.is_number()) return false;
    out.counts.push_back(c.get<double>());
  }
  out.dead = h.contains("dead") && h["dead"].is_number() ? h["dead"].get<double>() : 0;
  return true;
}

TrainingJob::TrainingJob(QObject* parent) : QObject(parent) {
  qRegisterMetaType<QVector<zs::gui::MetricPoint>>();
  qRegisterMetaType<zs::gui::DensityHistogram>();
}

TrainingJob::~TrainingJob() {
  cancel();
  wait();
}

bool TrainingJob::running() const { return thread_ && thread_->isRunning(); }

void TrainingJob::wait() {
  if (!thread_) return;
  thread_->wait();
  delete thread_;
  thread_ = nullptr;
}

bool TrainingJob::start(const zs::TrainSaeParams& params, const QStringList& metricKeys, bool replay) {
  if (running()) return false;
  wait();  // reap a finished thread
  cancel_.store(false);
  thread_ = QThread::create([this, params, metricKeys, replay] {
    QFile old(QString::fromStdString(params.outDir) + QStringLiteral("/metrics.jsonl"));
    if (replay && params.resume && old.open(QIODevice::ReadOnly)) {
      QVector<MetricPoint> pts;
      QMap<int, DensityHistogram> lastHist;  // the resumed run's latest histogram per layer
      while (!old.atEnd()) {
        const std::string line = old.readLine().toStdString();
        pts += parseMetricsLine(line, metricKeys);
        DensityHistogram h;
        if (parseDensityHistogram(line, h)) lastHist[h.layer] = h;
      }
      if (!pts.isEmpty()) Q_EMIT metrics(pts);
      for (const auto& h : lastHist) Q_EMIT densityHistogram(h);
    }
    QElapsedTimer since;
    since.start();
    zs::Progress p;
    p.cancel = &cancel_;
    // At most ~10 progress signals a second: the UI gets news, not a flood.
    p.report = [this, &since](double done, double total, const std::string& msg) {
      if (since.elapsed() < 100 && done < total) return;
      since.restart();
      Q_EMIT progress(done, total, QString::fromStdString(msg));
    };
    try {
      const zs::TrainSaeResult r = zs::trainSaes(params, p, [this, &metricKeys](const std::string& line) {
        auto pts = parseMetricsLine(line, metricKeys);
        if (!pts.isEmpty()) Q_EMIT metrics(pts);
        DensityHistogram h;
        if (parseDensityHistogram(line, h)) Q_EMIT densityHistogram(h);
      });
      QStringList dirs;
      for (const auto& d : r.saeDirs) dirs << QString::fromStdString(d);
      Q_EMIT finished(dirs, r.cancelled, r.steps, r.seconds);
    } catch (const zs::Cancelled&) {
      Q_EMIT finished({}, true, 0, 0);
    } catch (const std::exception& e) {
      Q_EMIT failed(QString::fromUtf8(e.what()));
    }
  });
  thread_->setObjectName(QStringLiteral("sae-training"));
  thread_->start();
  return true;
}

}  // namespace zs::gui
