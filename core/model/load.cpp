#include "core/model/load.h"
#include "core/base/input_file.h"

#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/base/error.h"
#include "core/base/json_util.h"
#include "core/base/util.h"
#include "core/model/gpt2.h"
#include "core/model/hf_config.h"
#include "core/model/llama_family.h"

namespace fs = std::filesystem;

namespace zs {
namespace {

bool isLlamaFamily(const std::string& type) {
  return type == "llama" || type == "mistral" || type == "qwen2" || type == "gemma" || type == "gemma2";
}

const char* kSupported = "gpt2, llama, mistral, qwen2, gemma, gemma2";

}  // namespace

std::string modelTypeOf(const std::string& dir) {
  if (!fs::is_directory(dir)) throw InputError(dir, "model folder does not exist or is not a folder");
  const std::string cfgPath = (fs::path(dir) / "config.json").string();
  if (!fs::exists(cfgPath)) throw InputError(dir, "no config.json in model folder");
  const nlohmann::json j =
      parseJsonObject(readInputFile(cfgPath, InputKind::Config, " (the model's config.json)"), cfgPath, "config");
  if (!j.contains("model_type") || j["model_type"].is_null()) {
    // Old folders: GPT-2 without model_type; a Llama-family class named in architectures.
    if (isLlamaFamilyConfig(j.dump())) return LlamaFamilyConfig::fromJsonText(j.dump(), cfgPath).modelType;
    return "gpt2";
  }
  if (!j["model_type"].is_string()) throw InputError(cfgPath, "config field 'model_type' must be a string");
  return j["model_type"].get<std::string>();
}

ModelSpec loadModelSpec(const std::string& dir) {
  const std::string type = modelTypeOf(dir);
  const std::string cfgPath = (fs::path(dir) / "config.json").string();
  if (type == "gpt2") return Gpt2::specOf(Gpt2Config::fromFile(cfgPath));
  if (isLlamaFamily(type)) return LlamaFamily::specOf(LlamaFamilyConfig::fromFile(cfgPath));
  throw InputError(cfgPath, "model_type is '" + type + "'; supported: " + kSupported);
}

std::unique_ptr<Model> loadModel(const std::string& dir, const ModelLoadOptions& opts) {
  const std::string type = modelTypeOf(dir);
  if (type == "gpt2") {
    if (opts.dtype == "bfloat16")
      throw UsageError("--dtype bfloat16 is not available for GPT-2 models (they are kept in float32)");
    return Gpt2::loadDir(dir, opts.device);
  }
  if (isLlamaFamily(type)) return LlamaFamily::loadDir(dir, opts);
  throw InputError((fs::path(dir) / "config.json").string(),
                   "model_type is '" + type + "'; supported: " + kSupported);
}

}  // namespace zs
