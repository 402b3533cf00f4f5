#pragma once
// Bridge between safetensors files and torch tensors. Internal to core (torch).
#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "core/io/safetensors.h"

namespace zs {

// Loads a tensor by name as float32 on `device`, checking its shape when
// `expectShape` is non-empty. Throws InputError naming the file, tensor and shapes.
torch::Tensor loadTensor(const st::File& f, const std::string& name,
                         const std::vector<int64_t>& expectShape = {},
                         torch::Device device = torch::kCPU);

// Loads a tensor keeping its dtype (F32/F16/BF16/I64/I32/U8/...), on CPU.
torch::Tensor loadTensorRaw(const st::File& f, const std::string& name);

// Saves tensors (any supported dtype; moved to CPU and made contiguous) atomically.
void saveTensors(const std::string& path, const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                 const std::map<std::string, std::string>& metadata = {});

}  // namespace zs
