#pragma once
// The weights of a Hugging Face checkpoint folder: model.safetensors, or the
// shards listed in model.safetensors.index.json ("weight_map": name -> file).
// Every shard is opened (and validated by the safetensors reader) up front, so
// a missing or truncated shard is an InputError naming it before any tensor is
// read. Internal to core (torch).
#include <torch/torch.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/io/safetensors.h"

namespace zs {

class ShardedWeights {
 public:
  // Throws InputError (no weights, bad index, missing shard, a tensor the
  // index places in a shard that lacks it).
  static std::unique_ptr<ShardedWeights> open(const std::string& dir);

  bool has(const std::string& name) const { return where_.count(name) > 0; }
  // Shape and dtype as stored; throws InputError naming the tensor if absent.
  const st::TensorInfo& info(const std::string& name) const;
  // Loads a tensor by name converted to `dtype` on CPU, checking its shape;
  // InputError naming the file, tensor, expected and actual shapes. A shard
  // is unmapped once every tensor in it has been loaded, so peak memory stays
  // near the model's size plus one shard; each tensor can be loaded once.
  torch::Tensor load(const std::string& name, const std::vector<int64_t>& shape, torch::ScalarType dtype);
  std::vector<std::string> names() const;
  const std::string& describe() const { return describe_; }  // "DIR/model.safetensors" or the index path

 private:
  ShardedWeights() = default;
  std::vector<std::unique_ptr<st::File>> files_;  // null once released
  std::vector<size_t> unread_;                     // per file: tensors not loaded yet
  std::map<std::string, size_t> where_;            // tensor -> index in files_
  std::string describe_;
};

}  // namespace zs
