#include "app/cli/command.h"

#include "core/base/input_file.h"

#include <unistd.h>

#include <chrono>
#include <climits>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <regex>
#include <cstdio>
#include <iostream>
#include <memory>
#include <mutex>

#include "core/base/error.h"
#include "core/base/torch_error.h"
#include "core/base/runtime.h"

namespace zs::cli {
namespace {

std::map<std::string, Command>& registry() {
  static std::map<std::string, Command> r;
  return r;
}

std::atomic<bool> g_interrupted{false};
bool g_quiet = false;

void onAlarm(int) { std::_Exit(130); }

void onSignal(int) {
  if (g_interrupted.exchange(true)) std::_Exit(130);  // second Ctrl+C: stop now
  // Long jobs poll the flag and stop cleanly (saving a checkpoint); whatever
  // does not poll (a blocking read, one huge allocation) is ended after 20 s.
  ::alarm(20);
}

void printHelp() {
  std::cout << "zscope-cli: SAE features of attention layers, headless\n\n"
               "usage: zscope-cli COMMAND [options] [--threads N] [--quiet]\n\ncommands:\n";
  for (const auto& [name, c] : registry()) {
    std::string pad = name.size() < 18 ? std::string(18 - name.size(), ' ') : " ";
    std::cout << "  " << name << pad << c.summary << "\n";
  }
  std::cout << "\n`zscope-cli COMMAND --help` shows a command's options.\n"
               "Exit codes: 0 ok, 1 failure, 2 usage error, 3 bad input, 130 interrupted.\n";
}

}  // namespace

Args Args::parse(const std::vector<std::string>& argv, const std::set<std::string>& flags) {
  Args a;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& s = argv[i];
    if (s.size() > 2 && s.compare(0, 2, "--") == 0) {
      std::string key = s.substr(2), value;
      auto eq = key.find('=');
      if (eq != std::string::npos) {
        value = key.substr(eq + 1);
        key = key.substr(0, eq);
      } else if (!flags.count(key)) {
        if (i + 1 >= argv.size()) throw UsageError("option --" + key + " needs a value");
        value = argv[++i];
      }
      a.options_.emplace_back(key, value);
    } else {
      a.positional_.push_back(s);
    }
  }
  return a;
}

bool Args::has(const std::string& key) const {
  for (const auto& kv : options_)
    if (kv.first == key) return true;
  return false;
}

std::string Args::get(const std::string& key, const std::string& def) const {
  std::string v = def;
  for (const auto& kv : options_)
    if (kv.first == key) v = kv.second;
  return v;
}

std::vector<std::string> Args::getAll(const std::string& key) const {
  std::vector<std::string> out;
  for (const auto& kv : options_)
    if (kv.first == key) out.push_back(kv.second);
  return out;
}

std::string Args::require(const std::string& key) const {
  if (!has(key)) throw UsageError("missing required option --" + key);
  return get(key);
}

int64_t Args::getInt(const std::string& key, int64_t def) const {
  if (!has(key)) return def;
  std::string v = get(key);
  try {
    size_t pos = 0;
    long long x = std::stoll(v, &pos);
    if (pos != v.size()) throw std::invalid_argument(v);
    return x;
  } catch (const std::exception&) {
    throw UsageError("option --" + key + " expects an integer (64-bit), got '" + oneLine(v) + "'");
  }
}

int64_t Args::getIntIn(const std::string& key, int64_t def, int64_t lo, int64_t hi) const {
  if (!has(key)) return def;
  const int64_t v = getInt(key, def);
  if (v < lo || v > hi)
    throw UsageError("option --" + key + " must be between " + std::to_string(lo) + " and " + std::to_string(hi) +
                     ", got " + oneLine(get(key)));
  return v;
}

double Args::getFiniteIn(const std::string& key, double def, double lo, double hi) const {
  if (!has(key)) return def;
  const double v = getDouble(key, def);
  if (!std::isfinite(v) || v < lo || v > hi) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "option --%s must be a finite number between %g and %g, got ", key.c_str(), lo, hi);
    throw UsageError(buf + oneLine(get(key)));
  }
  return v;
}

std::vector<std::string> Args::optionNames() const {
  std::vector<std::string> out;
  for (const auto& kv : options_) out.push_back(kv.first);
  return out;
}

double Args::getDouble(const std::string& key, double def) const {
  if (!has(key)) return def;
  std::string v = get(key);
  try {
    size_t pos = 0;
    double x = std::stod(v, &pos);
    if (pos != v.size()) throw std::invalid_argument(v);
    return x;
  } catch (const std::exception&) {
    throw UsageError("option --" + key + " expects a number, got '" + oneLine(v) + "'");
  }
}

void Args::requireOneOf(const std::vector<std::string>& keys) const {
  int n = 0;
  std::string names;
  for (const auto& k : keys) {
    n += has(k) ? 1 : 0;
    names += (names.empty() ? "--" : " or --") + k;
  }
  if (n != 1) throw UsageError("give exactly one of " + names);
}

std::string oneLine(const std::string& s) { return printable(s, 2000); }

void checkOptions(const Command& c, const Args& a) {
  std::map<std::string, int> declared;  // option -> times shown in the usage
  std::set<std::string> repeatable;
  static const std::regex opt("--([a-z0-9][a-z0-9-]*)( [A-Z0-9_.,|\\[\\]-]+)?( \\.\\.\\.)?");
  for (std::sregex_iterator it(c.usage.begin(), c.usage.end(), opt), end; it != end; ++it) {
    if (++declared[(*it)[1]] > 1 || (*it)[3].matched) repeatable.insert((*it)[1]);
  }
  for (const auto& f : c.flags) declared[f] += 0;
  for (const char* g : {"threads", "quiet", "help"}) declared[g] += 0;
  std::map<std::string, int> seen;
  for (const auto& k : a.optionNames()) {
    if (!declared.count(k)) throw UsageError("unknown option --" + oneLine(k));
    if (++seen[k] > 1 && !repeatable.count(k) && !c.flags.count(k))
      throw UsageError("option --" + oneLine(k) + " given more than once");
  }
}

void registerCommand(Command c) { registry()[c.name] = std::move(c); }

const std::atomic<bool>& interruptFlag() { return g_interrupted; }

void printJson(const nlohmann::json& j) {
  std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
}

Progress terminalProgress(const std::string& label) {
  struct State {
    std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
    std::chrono::steady_clock::time_point last{};
    std::mutex mu;
  };
  auto st = std::make_shared<State>();
  Progress p;
  p.cancel = &g_interrupted;
  p.report = [st, label](double done, double total, const std::string& msg) {
    if (g_quiet) return;
    std::lock_guard<std::mutex> lock(st->mu);
    auto now = std::chrono::steady_clock::now();
    bool finished = total > 0 && done >= total;
    if (!finished && now - st->last < std::chrono::milliseconds(250)) return;
    st->last = now;
    double el = std::chrono::duration<double>(now - st->start).count();
    double frac = total > 0 ? std::min(1.0, done / total) : 0.0;
    double eta = (frac > 0 && el > 0) ? el * (1 - frac) / frac : 0;
    int width = 24, filled = static_cast<int>(frac * width);
    char buf[512];
    std::snprintf(buf, sizeof buf, "\r%s [%s%s] %5.1f%% %.0f/%.0f  %.1fs elapsed, ETA %.0fs  %s\x1b[K",
                  label.c_str(), std::string(filled, '#').c_str(), std::string(width - filled, '.').c_str(),
                  100 * frac, done, total, el, eta, msg.c_str());
    std::fputs(buf, stderr);
    if (finished) std::fputs("\n", stderr);
    std::fflush(stderr);
  };
  return p;
}

int runMain(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    printHelp();
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "--version") {
    std::cout << "zscope-cli 0.1.0\n";
    return 0;
  }
  const Command* cmd = nullptr;
  size_t used = 0;
  if (args.size() >= 2 && registry().count(args[0] + " " + args[1])) {
    cmd = &registry()[args[0] + " " + args[1]];
    used = 2;
  } else if (registry().count(args[0])) {
    cmd = &registry()[args[0]];
    used = 1;
  }
  if (!cmd) {
    std::string names;
    for (const auto& kv : registry())
      if (kv.first.rfind(args[0] + " ", 0) == 0) names += " " + kv.first.substr(args[0].size() + 1);
    if (!names.empty())
      std::cerr << "zscope-cli: '" << args[0] << "' needs one of:" << names << "\n";
    else
      std::cerr << "zscope-cli: unknown command '" << args[0] << "' (try zscope-cli help)\n";
    return 2;
  }
  std::vector<std::string> rest(args.begin() + used, args.end());
  auto usage = [&] { std::cerr << "usage: zscope-cli " << cmd->name << " " << cmd->usage << "\n"; };
  try {
    std::set<std::string> flags = cmd->flags;
    flags.insert({"quiet", "help"});
    Args a = Args::parse(rest, flags);
    if (a.has("help")) {
      std::cout << cmd->summary << "\nusage: zscope-cli " << cmd->name << " " << cmd->usage
                << "\nglobal options: --threads N (default: all cores), --quiet\n";
      return 0;
    }
    checkOptions(*cmd, a);
    g_quiet = a.has("quiet");
    int64_t threads = a.getIntIn("threads", 0, 0, INT_MAX);
    const int hw = runtime::hardwareThreads();
    if (threads > hw) {
      if (!g_quiet)
        std::cerr << "zscope-cli: --threads " << threads << " is more than the " << hw
                  << " hardware threads; using " << hw << "\n";
      threads = hw;
    }
    g_interrupted = false;
    std::signal(SIGALRM, onAlarm);
    std::signal(SIGINT, onSignal);
    std::signal(SIGTERM, onSignal);
    runtime::initialise(static_cast<int>(threads), g_quiet);
    int rc = cmd->run(a);
    if (rc == 0 && g_interrupted.load()) rc = 130;
    return rc;
  } catch (const UsageError& e) {
    std::cerr << "zscope-cli " << cmd->name << ": " << oneLine(e.what()) << "\n";
    usage();
    return 2;
  } catch (const InputError& e) {
    std::cerr << "zscope-cli " << cmd->name << ": error: " << oneLine(e.what()) << "\n";
    return 3;
  } catch (const Cancelled&) {
    std::cerr << "\nzscope-cli " << cmd->name << ": interrupted\n";
    return 130;
  } catch (const std::filesystem::filesystem_error& e) {
    // Symlink loops, permissions, missing folders: one line naming the path.
    std::string where = e.path1().empty() ? std::string("(file system)") : e.path1().string();
    std::cerr << "zscope-cli " << cmd->name << ": error: " << oneLine(where) << ": " << oneLine(e.code().message())
              << "\n";
    return 3;
  } catch (const nlohmann::json::exception& e) {
    std::cerr << "zscope-cli " << cmd->name << ": error: malformed JSON data in an input: " << oneLine(e.what())
              << "\n";
    return 3;
  } catch (const std::invalid_argument& e) {
    std::cerr << "zscope-cli " << cmd->name << ": error: a malformed number in an input (" << oneLine(e.what())
              << ")\n";
    return 3;
  } catch (const std::out_of_range& e) {
    std::cerr << "zscope-cli " << cmd->name << ": error: a value out of range in an input (" << oneLine(e.what())
              << ")\n";
    return 3;
  } catch (const std::bad_alloc&) {
    std::cerr << "zscope-cli " << cmd->name << ": error: out of memory\n";
    return 1;
  } catch (const std::exception& e) {
    // c10::Error (LibTorch) may carry a multi-line trace: keep its first line. Those
    // come from shapes and sizes read from files, so they are input errors.
    std::string m = e.what();
    const bool c10 = isLibTorchError(e) || m.find("Exception raised from") != std::string::npos;
    if (const auto nl = m.find('\n'); nl != std::string::npos) m = m.substr(0, nl);
    std::cerr << "zscope-cli " << cmd->name << ": error: " << oneLine(m) << "\n";
    return c10 ? 3 : 1;
  }
}

}  // namespace zs::cli
