#pragma once
// A plain test runner for the Qt-free core tests: no Qt, no framework to
// install. Each test file defines cases with ZS_TEST and links check_main.cpp,
// which runs them (all, or those whose name contains argv[1]) and prints
// "N passed, N failed, N skipped".
//
//   ZS_TEST(encodesGpt2Cases) {
//     ZS_REQUIRE_SHARED(shared);            // ../shared/testdata (CI: missing = failure)
//     ZS_CHECK_EQ(tok->encode("hi"), want);
//     ZS_CHECK_NEAR(x, 1.0, 1e-6);
//     ZS_CHECK_THROWS(loadDir("nope"), zs::InputError);
//   }
//
// Also: ZS_CHECK_LT/LE/GT/GE, ZS_CHECK_FUZZY (QCOMPARE's float/double compare),
// ZS_CONTEXT(text) (added to failure messages while in scope, e.g. a table
// row's name), ZS_REQUIRE_CLI(var) (the zscope-cli binary that CTest names in
// ZSCOPE_CLI) and zs::test::runProcess (a subprocess with captured output).
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace zs::test {

struct Failure : std::exception {
  std::string what_;
  explicit Failure(std::string w) : what_(std::move(w)) {}
  const char* what() const noexcept override { return what_.c_str(); }
};
struct Skipped : std::exception {
  std::string why;
  explicit Skipped(std::string w) : why(std::move(w)) {}
};

struct Case {
  std::string name;
  void (*fn)();
};
inline std::vector<Case>& registry() {
  static std::vector<Case> r;
  return r;
}
struct Reg {
  Reg(const char* name, void (*fn)()) { registry().push_back({name, fn}); }
};

// Printable form of a value for failure messages: what operator<< prints,
// pairs and containers element by element, else "<value>".
template <typename T>
auto show(const T& v, int) -> decltype(std::declval<std::ostream&>() << v, std::string());
template <typename A, typename B>
std::string show(const std::pair<A, B>& v, int);
template <typename T>
auto show(const T& v, long) -> decltype(v.begin(), v.end(), std::string());
template <typename T>
std::string show(const T&, ...);

template <typename T>
auto show(const T& v, int) -> decltype(std::declval<std::ostream&>() << v, std::string()) {
  std::ostringstream s;
  s << v;
  return s.str();
}
template <typename A, typename B>
std::string show(const std::pair<A, B>& v, int) {
  return "(" + show(v.first, 0) + ", " + show(v.second, 0) + ")";
}
template <typename T>
auto show(const T& v, long) -> decltype(v.begin(), v.end(), std::string()) {
  std::ostringstream s;
  s << "[";
  size_t i = 0;
  for (const auto& x : v) {
    if (i++) s << ", ";
    if (i > 32) {
      s << "...";
      break;
    }
    s << show(x, 0);
  }
  s << "]";
  return s.str();
}
template <typename T>
std::string show(const T&, ...) {
  return "<value>";
}

// Texts added to failure messages while a ZS_CONTEXT is in scope.
inline std::vector<std::string>& contexts() {
  thread_local std::vector<std::string> c;
  return c;
}
struct Context {
  explicit Context(std::string what) { contexts().push_back(std::move(what)); }
  ~Context() { contexts().pop_back(); }
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
};

[[noreturn]] inline void fail(const char* file, int line, const std::string& msg) {
  std::string where;
  for (const auto& c : contexts()) where += (where.empty() ? " [" : "; ") + c;
  if (!where.empty()) where += "]";
  throw Failure(std::string(file) + ":" + std::to_string(line) + ": " + msg + where);
}

// What QCOMPARE does for float and double: exact for infinities and NaN (NaN
// equals NaN), |a - b| * 1e5 (float) or 1e12 (double) <= min(|a|, |b|)
// otherwise, and an expected value near 0 (1e-5 / 1e-12) asks for an actual one
// as near to 0.
template <typename T>
bool fuzzyEqual(T actual, T expected) {
  static_assert(std::is_floating_point<T>::value, "fuzzyEqual is for float and double");
  const bool isFloat = sizeof(T) <= sizeof(float);
  const T nearZero = isFloat ? T(1e-5) : T(1e-12);
  const T scale = isFloat ? T(100000) : T(1e12);
  if (std::isnan(expected)) return std::isnan(actual);
  if (std::isinf(expected)) return actual == expected;
  if (std::fabs(expected) <= nearZero) return std::fabs(actual) <= nearZero;
  return std::fabs(actual - expected) * scale <= std::min(std::fabs(actual), std::fabs(expected));
}
// Concatenates values into a message: cat("L", layer, " worst ", x).
template <typename... A>
std::string cat(const A&... a) {
  std::ostringstream s;
  s.precision(10);
  (s << ... << a);
  return s.str();
}

inline std::string showNumber(double v) {
  std::ostringstream s;
  s.precision(17);
  s << v;
  return s.str();
}

// ../shared (testdata and docs); empty when absent.
inline std::string sharedDir() {
  const char* e = std::getenv("ZSCOPE_SHARED_DIR");
  std::string d = e ? e : "";
  if (!d.empty() && std::filesystem::exists(d + "/testdata")) return d;
  return {};
}
// Under CI (ZSCOPE_REQUIRE_FIXTURES=1, set by .ci/run) a missing fixture fails.
inline bool fixturesRequired() {
  const char* e = std::getenv("ZSCOPE_REQUIRE_FIXTURES");
  return e && std::string(e) == "1";
}
// A fresh temporary folder per process, removed at exit.
std::string tempDir();

// Runs argv[0] (a path; no shell, no PATH lookup) with argv, stdin from
// /dev/null, and captures stdout and stderr. After timeoutSeconds the process is
// killed (timedOut, crashed). code: the exit status; crashed: ended by a signal.
struct ProcessResult {
  int code = -1;
  bool crashed = false, timedOut = false;
  std::string out, err;
};
ProcessResult runProcess(const std::vector<std::string>& argv, double timeoutSeconds = 120);

// The zscope-cli binary CTest passes in ZSCOPE_CLI; empty when unset.
inline std::string cliPath() {
  const char* e = std::getenv("ZSCOPE_CLI");
  return e ? e : "";
}

}  // namespace zs::test

#define ZS_TEST(name)                                               \
  static void name();                                               \
  static const ::zs::test::Reg zsTestReg_##name(#name, &name);      \
  static void name()

#define ZS_FAIL(msg) ::zs::test::fail(__FILE__, __LINE__, (msg))
#define ZS_SKIP(msg) throw ::zs::test::Skipped(msg)

#define ZS_CHECK(cond) \
  do {                 \
    if (!(cond)) ::zs::test::fail(__FILE__, __LINE__, "check failed: " #cond); \
  } while (0)

#define ZS_CHECK_MSG(cond, msg)                                                      \
  do {                                                                              \
    if (!(cond)) ::zs::test::fail(__FILE__, __LINE__, std::string("check failed: " #cond ": ") + (msg)); \
  } while (0)

// Both sides are copied: `a` may be a member of a temporary (f()->name).
#define ZS_CHECK_EQ(a, b)                                                                       \
  do {                                                                                         \
    const auto zsA_ = (a);                                                                    \
    const auto zsB_ = (b);                                                                    \
    if (!(zsA_ == zsB_))                                                                       \
      ::zs::test::fail(__FILE__, __LINE__,                                                     \
                       std::string(#a " == " #b ": ") + ::zs::test::show(zsA_, 0) + " != " + \
                           ::zs::test::show(zsB_, 0));                                         \
  } while (0)

#define ZS_CHECK_CMP_(a, op, b)                                                                  \
  do {                                                                                          \
    const auto zsA_ = (a);                                                                     \
    const auto zsB_ = (b);                                                                     \
    if (!(zsA_ op zsB_))                                                                        \
      ::zs::test::fail(__FILE__, __LINE__,                                                      \
                       std::string(#a " " #op " " #b ": ") + ::zs::test::show(zsA_, 0) + " vs " + \
                           ::zs::test::show(zsB_, 0));                                          \
  } while (0)
#define ZS_CHECK_LT(a, b) ZS_CHECK_CMP_(a, <, b)
#define ZS_CHECK_LE(a, b) ZS_CHECK_CMP_(a, <=, b)
#define ZS_CHECK_GT(a, b) ZS_CHECK_CMP_(a, >, b)
#define ZS_CHECK_GE(a, b) ZS_CHECK_CMP_(a, >=, b)

// QCOMPARE's fuzzy compare of two floats or two doubles (see fuzzyEqual).
#define ZS_CHECK_FUZZY(a, b)                                                                            \
  do {                                                                                                 \
    const auto zsA_ = (a);                                                                             \
    const decltype(zsA_) zsB_ = (b);                                                                   \
    if (!::zs::test::fuzzyEqual(zsA_, zsB_))                                                           \
      ::zs::test::fail(__FILE__, __LINE__,                                                             \
                       std::string(#a " ~= " #b ": ") + ::zs::test::showNumber(zsA_) + " vs " +        \
                           ::zs::test::showNumber(zsB_));                                              \
  } while (0)

#define ZS_CONTEXT_CAT2_(a, b) a##b
#define ZS_CONTEXT_CAT_(a, b) ZS_CONTEXT_CAT2_(a, b)
// Adds `what` (a std::string) to the messages of failures while in scope.
#define ZS_CONTEXT(what) const ::zs::test::Context ZS_CONTEXT_CAT_(zsContext_, __LINE__)(what)

#define ZS_CHECK_NEAR(a, b, tol)                                                                           \
  do {                                                                                                    \
    const double zsA_ = static_cast<double>(a), zsB_ = static_cast<double>(b);                            \
    if (!(std::fabs(zsA_ - zsB_) <= (tol)))                                                               \
      ::zs::test::fail(__FILE__, __LINE__,                                                                \
                       std::string(#a " ~ " #b ": ") + std::to_string(zsA_) + " vs " + std::to_string(zsB_) + \
                           " (tolerance " + std::to_string(static_cast<double>(tol)) + ")");              \
  } while (0)

#define ZS_CHECK_THROWS(expr, Ex)                                                            \
  do {                                                                                      \
    bool zsThrown_ = false;                                                                 \
    try {                                                                                   \
      (void)(expr);                                                                         \
    } catch (const Ex&) {                                                                   \
      zsThrown_ = true;                                                                     \
    } catch (const std::exception& e) {                                                     \
      ::zs::test::fail(__FILE__, __LINE__, std::string(#expr " threw another exception: ") + e.what()); \
    }                                                                                       \
    if (!zsThrown_) ::zs::test::fail(__FILE__, __LINE__, #expr " did not throw " #Ex);      \
  } while (0)

// Binds `var` to ../shared; skips the test when it is absent, except under CI
// (ZSCOPE_REQUIRE_FIXTURES=1), where a missing fixture is a failure.
#define ZS_REQUIRE_SHARED(var)                                                        \
  const std::string var = ::zs::test::sharedDir();                                    \
  do {                                                                                \
    if (var.empty()) {                                                                \
      if (::zs::test::fixturesRequired())                                             \
        ZS_FAIL("../shared/testdata is absent (ZSCOPE_REQUIRE_FIXTURES=1)");          \
      ZS_SKIP("../shared/testdata is absent");                                        \
    }                                                                                 \
  } while (0)

// Binds `var` to the zscope-cli binary (ZSCOPE_CLI, set by CTest); skips when
// unset, except under ZSCOPE_REQUIRE_FIXTURES=1, where that is a failure.
#define ZS_REQUIRE_CLI(var)                                                           \
  const std::string var = ::zs::test::cliPath();                                      \
  do {                                                                                \
    if (var.empty()) {                                                                \
      if (::zs::test::fixturesRequired())                                             \
        ZS_FAIL("ZSCOPE_CLI is not set (ZSCOPE_REQUIRE_FIXTURES=1; run through ctest)"); \
      ZS_SKIP("ZSCOPE_CLI is not set (run through ctest)");                           \
    }                                                                                 \
  } while (0)
