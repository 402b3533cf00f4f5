// LatencyBench: see latency_bench.h.
#include "app/gui/explorer/latency_bench.h"

#include <QApplication>
#include <QTimer>

#include <cstdio>

#include "app/gui/explorer/explorer_controller.h"
#include "app/gui/explorer/mainwindow.h"
#include "core/engine/bench.h"
#include "core/base/runtime.h"
#include "core/text/tokenizer.h"

LatencyBench::LatencyBench(MainWindow* w, int iters, int warmup, int tokens, QString prompt)
    : QObject(w), w_(w), iters_(iters), warmup_(warmup), tokens_(tokens), prompt_(std::move(prompt)) {
  connect(w_, &MainWindow::modelChanged, this, [this](const QString& dir) { modelDir_ = dir; });
  connect(w_->explorer(), &ExplorerController::latencyMeasured, this, &LatencyBench::measured);
  poll_ = new QTimer(this);
  poll_->setInterval(50);
  connect(poll_, &QTimer::timeout, this, &LatencyBench::poll);
  poll_->start();
}

// Waits for the start-up loads (model, SAEs, database) to finish.
void LatencyBench::poll() {
  if (++polls_ > 2400) return finish(1, "the model did not load within 120 s");
  if (polls_ < 2 || w_->busy()) return;
  if (modelDir_.isEmpty()) return finish(1, "no model is loaded");
  poll_->stop();
  try {
    if (prompt_.isEmpty())
      prompt_ = QString::fromStdString(zs::benchPromptText(*zs::Tokenizer::loadDir(modelDir_.toStdString()), tokens_, true));
  } catch (const std::exception& e) {
    return finish(2, QString::fromStdString(e.what()));
  }
  running_ = true;
  next();
}

void LatencyBench::next() { w_->runPrompt(prompt_); }

void LatencyBench::measured(double totalMs, double workerMs) {
  if (!running_) return;  // a --prompt run at start-up
  promptTokens_ = w_->explorer()->analysis().tokens.size();
  if (++seen_ > warmup_) {
    total_.push_back(totalMs);
    worker_.push_back(workerMs);
  }
  if (static_cast<int>(total_.size()) >= iters_) return finish(0);
  QTimer::singleShot(0, this, &LatencyBench::next);
}

void LatencyBench::finish(int rc, const QString& error) {
  poll_->stop();
  running_ = false;
  if (rc != 0) {
    std::fprintf(stderr, "zscope: --bench-latency: %s\n", qPrintable(error));
  } else {
    nlohmann::json j = {{"benchmark", "gui-prompt"},
                        {"model", modelDir_.toStdString()},
                        {"status", w_->modelStatus().toStdString()},
                        {"threads", zs::runtime::threads()},
                        {"tokens", promptTokens_},
                        {"iters", iters_},
                        {"warmup", warmup_},
                        {"request_to_screen_ms", zs::latencyStats(total_)},
                        {"worker_ms", zs::latencyStats(worker_)}};
    std::printf("%s\n", j.dump(2).c_str());
    std::fflush(stdout);
  }
  QApplication::exit(rc);
}
