// Finds and opens libzscope_sentencepiece.so (see sentencepiece_api.h).
#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>

#include "core/base/error.h"
#include "core/text/sentencepiece_api.h"

#ifndef ZSCOPE_SENTENCEPIECE_PLUGIN_BUILD_PATH
#define ZSCOPE_SENTENCEPIECE_PLUGIN_BUILD_PATH ""
#endif

namespace zs::spm {
namespace {

constexpr const char* kName = "libzscope_sentencepiece.so";

struct Plugin {
  void* handle = nullptr;
  Model* (*create)() = nullptr;
  bool (*train)(const std::string*, std::string*) = nullptr;
  std::string error;
};

std::vector<std::string> candidates() {
  namespace fs = std::filesystem;
  std::vector<std::string> v;
  if (const char* e = std::getenv("ZSCOPE_SENTENCEPIECE_PLUGIN"); e && *e) v.emplace_back(e);
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    v.push_back((exe.parent_path() / kName).string());
    v.push_back((exe.parent_path() / ".." / "lib" / "zscope" / kName).string());
  }
  if (*ZSCOPE_SENTENCEPIECE_PLUGIN_BUILD_PATH) v.emplace_back(ZSCOPE_SENTENCEPIECE_PLUGIN_BUILD_PATH);
  return v;
}

const Plugin& plugin() {
  static Plugin p;
  static std::once_flag once;
  std::call_once(once, [] {
    std::string tried;
    for (const auto& path : candidates()) {
      if (!std::filesystem::exists(path)) {
        tried += " " + path;
        continue;
      }
      void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
      if (!h) {
        p.error = std::string("cannot open ") + path + ": " + dlerror();
        return;
      }
      p.handle = h;
      p.create = reinterpret_cast<Model* (*)()>(dlsym(h, "zscope_spm_new"));
      p.train = reinterpret_cast<bool (*)(const std::string*, std::string*)>(dlsym(h, "zscope_spm_train"));
      if (!p.create || !p.train) p.error = path + " is not Zscope's SentencePiece plug-in";
      return;
    }
    p.error = std::string("SentencePiece plug-in ") + kName + " not found (looked at" + tried +
              "; set ZSCOPE_SENTENCEPIECE_PLUGIN)";
  });
  return p;
}

}  // namespace

std::unique_ptr<Model> newModel() {
  const Plugin& p = plugin();
  if (!p.create) throw InputError(p.error);
  Model* m = p.create();
  if (!m) throw InputError("the SentencePiece plug-in could not create a model");
  return std::unique_ptr<Model>(m);
}

bool train(const std::string& flags, std::string* error) {
  const Plugin& p = plugin();
  if (!p.train) {
    *error = p.error;
    return false;
  }
  return p.train(&flags, error);
}

}  // namespace zs::spm
