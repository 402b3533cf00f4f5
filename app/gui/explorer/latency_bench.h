#pragma once
// zscope --bench-latency N: once the start-up loads are done, runs a prompt N
// times (after a warm-up) through the same path as Ctrl+Enter and prints, as
// JSON on stdout, the latency from the request to the tokens and feature table
// on screen, and the worker's share of it; then quits. A benchmark, not a test.
#include <QObject>
#include <QString>

#include <vector>

class MainWindow;
class QTimer;

class LatencyBench : public QObject {
  Q_OBJECT
 public:
  // prompt empty: benchPromptText() of `tokens` tokens for the loaded model.
  LatencyBench(MainWindow* w, int iters, int warmup, int tokens, QString prompt);

 private:
  void poll();
  void next();
  void measured(double totalMs, double workerMs);
  void finish(int rc, const QString& error = {});

  MainWindow* w_;
  int iters_, warmup_, tokens_;
  QString prompt_, modelDir_;
  QTimer* poll_;
  int polls_ = 0;
  bool running_ = false;
  std::vector<double> total_, worker_;
  int seen_ = 0;
  size_t promptTokens_ = 0;
};
