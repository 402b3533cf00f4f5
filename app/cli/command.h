#pragma once
// The zscope-cli command framework (no torch, no Qt). Each command lives in its
// own core/commands/cmd_*.cpp and registers itself with a static Registrar:
//
//   static zs::cli::Registrar reg({"tokenize", "--model DIR (--text T | --text-file F) [--json]",
//                                  "Tokenize text", {"json"}, &runTokenize});
//
// Names may have two words ("bench forward"). Exit codes: 0 success, 1 runtime
// failure, 2 usage error (usage line printed), 3 unreadable/malformed input,
// 130 interrupted (Ctrl+C; long jobs save a checkpoint first).
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/base/progress.h"

namespace zs::cli {

class Args {
 public:
  // flags: option names (without "--") that take no value.
  static Args parse(const std::vector<std::string>& argv, const std::set<std::string>& flags);

  bool has(const std::string& key) const;
  std::string get(const std::string& key, const std::string& def = {}) const;  // last occurrence
  std::vector<std::string> getAll(const std::string& key) const;              // every occurrence
  std::string require(const std::string& key) const;                          // UsageError if absent
  int64_t getInt(const std::string& key, int64_t def) const;                  // UsageError if not an integer
  double getDouble(const std::string& key, double def) const;
  const std::vector<std::string>& positional() const { return positional_; }
  // UsageError unless exactly one of the keys is present.
  void requireOneOf(const std::vector<std::string>& keys) const;

 private:
  std::vector<std::string> positional_;
  std::vector<std::pair<std::string, std::string>> options_;
};

struct Command {
  std::string name;     // "tokenize" or "bench forward"
  std::string usage;    // options after the name
  std::string summary;  // one line for `zscope-cli help`
  std::set<std::string> flags;  // options without a value, e.g. {"json", "no-bos"}
  std::function<int(const Args&)> run;
};

void registerCommand(Command c);
struct Registrar {
  explicit Registrar(Command c) { registerCommand(std::move(c)); }
};

// Entry point: global options --threads N (default: all cores) and --quiet are
// handled here; errors are mapped to exit codes with one clear line on stderr.
int runMain(int argc, char** argv);

// Set by SIGINT/SIGTERM while a command runs. Long jobs poll it (via Progress).
const std::atomic<bool>& interruptFlag();
// A Progress that draws a one-line bar with rate and ETA on stderr (unless
// --quiet) and is cancelled by Ctrl+C.
Progress terminalProgress(const std::string& label);

void printJson(const nlohmann::json& j);  // pretty JSON + newline on stdout

}  // namespace zs::cli
