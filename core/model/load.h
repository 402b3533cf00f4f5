#pragma once
// Opening a model folder of any supported architecture (internal to core, torch).
// config.json's model_type picks the implementation; each one loads its
// weights by name with their shapes checked.
#include <memory>
#include <string>

#include "core/model/model.h"

namespace zs {

struct ModelLoadOptions {
  torch::Device device = torch::kCPU;
  // "auto", "float32" or "bfloat16": how the weights are kept in memory
  // (architectures that support it; GPT-2 is always float32).
  std::string dtype = "auto";
};

// Throws InputError naming the folder/file and the problem.
std::unique_ptr<Model> loadModel(const std::string& dir, const ModelLoadOptions& opts = {});

// config.json's model_type ("gpt2" when the key is absent, as in old GPT-2 folders).
std::string modelTypeOf(const std::string& dir);

}  // namespace zs
