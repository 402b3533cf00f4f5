#pragma once
// Helpers shared by the tests (Qt Test). Paths come from the environment that
// CTest sets (see tests/CMakeLists.txt).
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

}  // namespace zs::test

// Skips the current test with a message when ../shared is absent.
#define ZS_REQUIRE_SHARED(var)                                                  \
  const std::string var = zs::test::sharedDir();                                \
  if (var.empty()) QSKIP("../shared/testdata is absent; skipping this test")
