#pragma once
// Helpers shared by the GUI tests (Qt Test; the core tests use the plain runner
// in tests/support/check.h). Paths come from the environment that CTest sets
// (see tests/CMakeLists.txt).
#include <QtTest/QtTest>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace zs::test {

// ../shared (testdata and docs); empty when absent.
inline std::string sharedDir() {
  const char* e = std::getenv("ZSCOPE_SHARED_DIR");
  std::string d = e ? e : "";
  if (!d.empty() && std::filesystem::exists(d + "/testdata")) return d;
  return {};
}

inline std::string tempDir() {
  static QTemporaryDir dir;  // removed at exit
  return dir.path().toStdString();
}

// Under CI (ZSCOPE_REQUIRE_FIXTURES=1) a missing fixture fails instead of skipping.
inline bool fixturesRequired() {
  const char* e = std::getenv("ZSCOPE_REQUIRE_FIXTURES");
  return e && std::string(e) == "1";
}

}  // namespace zs::test

// Skips the current test with a message when ../shared is absent (fails when
// ZSCOPE_REQUIRE_FIXTURES=1).
#define ZS_REQUIRE_SHARED(var)                                                             \
  const std::string var = zs::test::sharedDir();                                           \
  if (var.empty() && zs::test::fixturesRequired())                                         \
    QFAIL("../shared/testdata is absent (ZSCOPE_REQUIRE_FIXTURES=1)");                      \
  if (var.empty()) QSKIP("../shared/testdata is absent; skipping this test")
