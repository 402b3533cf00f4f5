#include "core/model/load.h"

#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/base/error.h"
#include "core/base/json_util.h"
#include "core/base/util.h"
#include "core/model/gpt2.h"

namespace fs = std::filesystem;

namespace zs {

std::string modelTypeOf(const std::string& dir) {
  if (!fs::is_directory(dir)) throw InputError(dir, "model folder does not exist or is not a folder");
  const std::string cfgPath = (fs::path(dir) / "config.json").string();
  if (!fs::exists(cfgPath)) throw InputError(dir, "no config.json in model folder");
  const nlohmann::json j = parseJsonObject(readWholeFile(cfgPath, " (the model's config.json)"), cfgPath, "config");
  if (!j.contains("model_type") || j["model_type"].is_null()) return "gpt2";
  if (!j["model_type"].is_string()) throw InputError(cfgPath, "config field 'model_type' must be a string");
  return j["model_type"].get<std::string>();
}

ModelSpec loadModelSpec(const std::string& dir) {
  const std::string type = modelTypeOf(dir);
  if (type == "gpt2") return Gpt2::specOf(Gpt2Config::fromFile((fs::path(dir) / "config.json").string()));
  throw InputError((fs::path(dir) / "config.json").string(), "model_type is '" + type + "'; supported: gpt2");
}

std::unique_ptr<Model> loadModel(const std::string& dir, const ModelLoadOptions& opts) {
  const std::string type = modelTypeOf(dir);
  if (type == "gpt2") {
    if (opts.dtype == "bfloat16")
      throw UsageError("--dtype bfloat16 is not available for GPT-2 models (they are kept in float32)");
    return Gpt2::loadDir(dir, opts.device);
  }
  throw InputError((fs::path(dir) / "config.json").string(),
                   "model_type is '" + type + "'; supported: gpt2");
}

}  // namespace zs
