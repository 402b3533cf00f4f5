#include "core/model/sharded_weights.h"

#include <filesystem>
#include <set>

#include <nlohmann/json.hpp>

#include "core/base/error.h"
#include "core/base/json_util.h"
#include "core/io/tensor_io.h"
#include "core/base/util.h"

namespace fs = std::filesystem;

namespace zs {
namespace {

std::string shapeStr(const std::vector<int64_t>& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

}  // namespace

std::unique_ptr<ShardedWeights> ShardedWeights::open(const std::string& dir) {
  std::unique_ptr<ShardedWeights> w(new ShardedWeights());
  const fs::path single = fs::path(dir) / "model.safetensors";
  const fs::path index = fs::path(dir) / "model.safetensors.index.json";
  if (fs::exists(single)) {
    w->describe_ = single.string();
    w->files_.push_back(st::File::open(single.string()));
    for (const auto& t : w->files_.back()->tensors()) w->where_[t.name] = 0;
    w->unread_.push_back(w->where_.size());
    return w;
  }
  if (!fs::exists(index)) {
    if (fs::exists(fs::path(dir) / "pytorch_model.bin") || fs::exists(fs::path(dir) / "pytorch_model.bin.index.json"))
      throw InputError(dir, "only safetensors checkpoints are supported (found pytorch_model.bin; convert it with "
                            "`save_pretrained(..., safe_serialization=True)`)");
    throw InputError(dir, "no model.safetensors or model.safetensors.index.json in model folder");
  }
  w->describe_ = index.string();
  const nlohmann::json j = parseJsonObject(readWholeFile(index.string()), index.string(), "safetensors index");
  if (!j.contains("weight_map") || !j["weight_map"].is_object())
    throw InputError(index.string(), "no 'weight_map' object");
  std::map<std::string, std::string> nameToShard;
  std::set<std::string> shards;
  for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
    const std::string& name = it.key();
    const nlohmann::json& shard = it.value();
    if (!shard.is_string()) throw InputError(index.string(), "weight_map entry '" + name + "' is not a file name");
    const std::string s = shard.get<std::string>();
    if (s.empty() || s.find('/') != std::string::npos || s.find('\\') != std::string::npos || s == "." || s == "..")
      throw InputError(index.string(), "weight_map entry '" + name + "' names '" + s + "', not a file in the folder");
    nameToShard[name] = s;
    shards.insert(s);
  }
  if (shards.empty()) throw InputError(index.string(), "weight_map is empty");
  std::map<std::string, size_t> byShard;
  for (const auto& s : shards) {
    const fs::path p = fs::path(dir) / s;
    if (!fs::exists(p))
      throw InputError(index.string(), "shard '" + s + "' listed in the index is missing from " + dir);
    byShard[s] = w->files_.size();
    w->files_.push_back(st::File::open(p.string()));
    w->unread_.push_back(0);
  }
  for (const auto& [name, s] : nameToShard) {
    const size_t i = byShard.at(s);
    if (!w->files_[i]->find(name))
      throw InputError(w->files_[i]->path(),
                       "tensor '" + name + "' is listed in the index for this shard but is not in it");
    w->where_[name] = i;
    ++w->unread_[i];
  }
  return w;
}

const st::TensorInfo& ShardedWeights::info(const std::string& name) const {
  auto it = where_.find(name);
  if (it == where_.end()) throw InputError(describe_, "tensor '" + name + "' is missing");
  if (!files_[it->second]) throw std::logic_error("tensor '" + name + "' read after its shard was released");
  return files_[it->second]->get(name);
}

torch::Tensor ShardedWeights::load(const std::string& name, const std::vector<int64_t>& shape,
                                   torch::ScalarType dtype) {
  auto it = where_.find(name);
  if (it == where_.end()) throw InputError(describe_, "tensor '" + name + "' is missing");
  if (!files_[it->second]) throw std::logic_error("tensor '" + name + "' loaded twice");
  const st::File& f = *files_[it->second];
  const st::TensorInfo& t = f.get(name);
  if (t.shape != shape)
    throw InputError(f.path(), "tensor '" + name + "' has shape " + shapeStr(t.shape) + ", expected " +
                                   shapeStr(shape));
  if (t.dtype != st::DType::F32 && t.dtype != st::DType::F16 && t.dtype != st::DType::BF16 &&
      t.dtype != st::DType::F64)
    throw InputError(f.path(), "tensor '" + name + "' has dtype " + st::dtypeName(t.dtype) +
                                   " (weights must be F32, F16 or BF16)");
  torch::Tensor out = loadTensorRaw(f, name).to(dtype);
  if (--unread_[it->second] == 0) files_[it->second].reset();  // unmap a finished shard
  return out;
}

std::vector<std::string> ShardedWeights::names() const {
  std::vector<std::string> n;
  for (const auto& kv : where_) n.push_back(kv.first);
  return n;
}

}  // namespace zs
