#include "core/base/paths.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

namespace fs = std::filesystem;

namespace zs::paths {
namespace {

std::string exeDir() {
  std::error_code ec;
  fs::path p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : p.parent_path().string();
}

bool hasModels(const fs::path& d) {
  std::error_code ec;
  return fs::is_directory(d / "models", ec);
}

}  // namespace

std::string dataDir() {
  if (const char* e = std::getenv("ZSCOPE_DATA_DIR"); e && *e && hasModels(e)) return e;
  std::string exe = exeDir();
  if (!exe.empty()) {
    for (fs::path cand : {fs::path(exe) / ".." / "share" / "zscope" / "data", fs::path(exe) / ".." / ".." / "data",
                          fs::path(exe) / ".." / "data"}) {
      if (hasModels(cand)) return fs::weakly_canonical(cand).string();
    }
  }
#ifdef ZSCOPE_SOURCE_DATA_DIR
  if (hasModels(ZSCOPE_SOURCE_DATA_DIR)) return ZSCOPE_SOURCE_DATA_DIR;
#endif
  return {};
}

std::string defaultModelName() { return "zscope-4l"; }

std::string resolveModel(const std::string& arg) {
  if (arg != "default") return arg;
  std::string d = dataDir();
  if (d.empty()) return "default (no shipped data folder found; set ZSCOPE_DATA_DIR)";
  return (fs::path(d) / "models" / defaultModelName()).string();
}

std::string shippedSaeDir(const std::string& modelDir) {
  std::string d = dataDir();
  if (d.empty()) return {};
  std::string name = fs::path(modelDir).lexically_normal().filename().string();
  if (name.empty()) name = fs::path(modelDir).lexically_normal().parent_path().filename().string();
  fs::path p = fs::path(d) / "saes" / name;
  std::error_code ec;
  return fs::is_directory(p, ec) ? p.string() : std::string();
}

}  // namespace zs::paths
