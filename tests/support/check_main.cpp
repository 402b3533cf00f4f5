// main() of every plain (Qt-free) test executable: runs the ZS_TEST cases.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <random>

#include "tests/support/check.h"

namespace zs::test {

std::string tempDir() {
  static struct Dir {
    std::string path;
    Dir() {
      std::random_device rd;
      auto base = std::filesystem::temp_directory_path();
      for (int i = 0; i < 100 && path.empty(); ++i) {
        auto p = base / ("zscope-test-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
        std::error_code ec;
        if (std::filesystem::create_directory(p, ec)) path = p.string();
      }
      if (path.empty()) throw std::runtime_error("cannot create a temporary folder");
    }
    ~Dir() {
      std::error_code ec;
      if (!path.empty()) std::filesystem::remove_all(path, ec);
    }
  } dir;
  return dir.path;
}

}  // namespace zs::test

int main(int argc, char** argv) {
  const std::string filter = argc > 1 ? argv[1] : "";
  int passed = 0, failed = 0, skipped = 0;
  for (const auto& c : zs::test::registry()) {
    if (!filter.empty() && c.name.find(filter) == std::string::npos) continue;
    const auto t0 = std::chrono::steady_clock::now();
    std::string outcome;
    try {
      c.fn();
      ++passed;
      outcome = "PASS";
    } catch (const zs::test::Skipped& s) {
      ++skipped;
      outcome = "SKIP (" + s.why + ")";
    } catch (const zs::test::Failure& f) {
      ++failed;
      outcome = std::string("FAIL ") + f.what();
    } catch (const std::exception& e) {
      ++failed;
      outcome = std::string("FAIL uncaught exception: ") + e.what();
    } catch (...) {
      ++failed;
      outcome = "FAIL uncaught non-standard exception";
    }
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    std::cout << outcome << "  " << c.name << " (" << static_cast<long>(ms) << " ms)" << std::endl;
  }
  std::cout << passed << " passed, " << failed << " failed, " << skipped << " skipped" << std::endl;
  return failed == 0 ? 0 : 1;
}
