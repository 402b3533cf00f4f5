#pragma once
// Progress reporting and cancellation for long jobs, shared by the CLI
// (terminal bar with ETA, Ctrl+C) and the GUI worker (progress bar, cancel button).
#include <atomic>
#include <functional>
#include <string>

namespace zs {

struct Progress {
  // done/total in the job's own unit (tokens, steps, features); message is short.
  std::function<void(double done, double total, const std::string& message)> report;
  const std::atomic<bool>* cancel = nullptr;
  // Alternative to `cancel` for callers whose cancellation is not one flag
  // (the GUI worker cancels by request id).
  std::function<bool()> cancelledFn;

  bool cancelled() const {
    return (cancel && cancel->load(std::memory_order_relaxed)) || (cancelledFn && cancelledFn());
  }
  void operator()(double done, double total, const std::string& message = {}) const {
    if (report) report(done, total, message);
  }
};

}  // namespace zs
