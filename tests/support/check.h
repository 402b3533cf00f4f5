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
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <string>
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

// Printable form of a value for failure messages.
template <typename T>
auto show(const T& v, int) -> decltype(std::declval<std::ostream&>() << v, std::string()) {
  std::ostringstream s;
  s << v;
  return s.str();
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

[[noreturn]] inline void fail(const char* file, int line, const std::string& msg) {
  throw Failure(std::string(file) + ":" + std::to_string(line) + ": " + msg);
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

#define ZS_CHECK_EQ(a, b)                                                                       \
  do {                                                                                         \
    const auto zsA_ = (a); /* copies: (a) may refer into a temporary */                        \
    const auto zsB_ = (b);                                                                     \
    if (!(zsA_ == zsB_))                                                                       \
      ::zs::test::fail(__FILE__, __LINE__,                                                     \
                       std::string(#a " == " #b ": ") + ::zs::test::show(zsA_, 0) + " != " + \
                           ::zs::test::show(zsB_, 0));                                         \
  } while (0)

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
