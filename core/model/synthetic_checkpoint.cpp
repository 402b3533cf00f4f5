#include "core/model/synthetic_checkpoint.h"

#include <torch/torch.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/base/error.h"
#include "core/model/hf_config.h"
#include "core/io/tensor_io.h"

namespace fs = std::filesystem;

namespace zs {
namespace {

struct Planned {
  std::string name;
  std::vector<int64_t> shape;
  bool norm = false;
};

std::vector<Planned> plan(const LlamaFamilyConfig& c) {
  const int64_t d = c.hiddenSize, qd = c.numHeads * c.headDim, kvd = c.numKvHeads * c.headDim, M = c.intermediateSize;
  std::vector<Planned> p;
  p.push_back({"model.embed_tokens.weight", {c.vocabSize, d}});
  for (int64_t l = 0; l < c.numLayers; ++l) {
    const std::string n = "model.layers." + std::to_string(l) + ".";
    p.push_back({n + "input_layernorm.weight", {d}, true});
    p.push_back({n + "self_attn.q_proj.weight", {qd, d}});
    p.push_back({n + "self_attn.k_proj.weight", {kvd, d}});
    p.push_back({n + "self_attn.v_proj.weight", {kvd, d}});
    p.push_back({n + "self_attn.o_proj.weight", {d, qd}});
    if (c.qkvBias) {
      p.push_back({n + "self_attn.q_proj.bias", {qd}});
      p.push_back({n + "self_attn.k_proj.bias", {kvd}});
      p.push_back({n + "self_attn.v_proj.bias", {kvd}});
    }
    if (c.oBias) p.push_back({n + "self_attn.o_proj.bias", {d}});
    p.push_back({n + "post_attention_layernorm.weight", {d}, true});
    if (c.postNorms) {
      p.push_back({n + "pre_feedforward_layernorm.weight", {d}, true});
      p.push_back({n + "post_feedforward_layernorm.weight", {d}, true});
    }
    p.push_back({n + "mlp.gate_proj.weight", {M, d}});
    p.push_back({n + "mlp.up_proj.weight", {M, d}});
    p.push_back({n + "mlp.down_proj.weight", {d, M}});
    if (c.mlpBias) {
      p.push_back({n + "mlp.gate_proj.bias", {M}});
      p.push_back({n + "mlp.up_proj.bias", {M}});
      p.push_back({n + "mlp.down_proj.bias", {d}});
    }
  }
  p.push_back({"model.norm.weight", {d}, true});
  if (!c.tieWordEmbeddings) p.push_back({"lm_head.weight", {c.vocabSize, d}});
  return p;
}

}  // namespace

int64_t writeSyntheticCheckpoint(const std::string& dir, const std::string& configJson,
                                 const SyntheticCheckpointOptions& opts) {
  const LlamaFamilyConfig c = LlamaFamilyConfig::fromJsonText(configJson, "synthetic config");
  torch::ScalarType dt = torch::kBFloat16;
  if (opts.dtype == "float32") dt = torch::kFloat32;
  else if (opts.dtype == "float16") dt = torch::kFloat16;
  else if (opts.dtype != "bfloat16") throw UsageError("--dtype must be bfloat16, float16 or float32");
  const int64_t elt = dt == torch::kFloat32 ? 4 : 2;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (!fs::is_directory(dir)) throw std::runtime_error("cannot create folder " + dir + ": " + ec.message());

  // Assign tensors to shards by size, then generate and write one shard at a time.
  const std::vector<Planned> all = plan(c);
  std::vector<std::vector<const Planned*>> shards(1);
  int64_t inShard = 0, total = 0;
  for (const auto& t : all) {
    int64_t bytes = elt;
    for (int64_t s : t.shape) bytes *= s;
    if (inShard > 0 && inShard + bytes > opts.shardBytes) shards.emplace_back(), inShard = 0;
    shards.back().push_back(&t);
    inShard += bytes;
    total += bytes;
  }
  auto gen = at::detail::createCPUGenerator(opts.seed);
  nlohmann::json index = {{"metadata", {{"total_size", total}}}, {"weight_map", nlohmann::json::object()}};
  for (size_t s = 0; s < shards.size(); ++s) {
    char name[64];
    std::snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", s + 1, shards.size());
    std::vector<std::pair<std::string, torch::Tensor>> tensors;
    for (const Planned* t : shards[s]) {
      torch::Tensor w = at::normal(0.0, t->norm ? 0.1 * opts.stddev : opts.stddev, t->shape, gen);
      if (t->norm && !c.gemmaNorm) w = w + 1.0;  // Gemma applies (1 + w)
      tensors.emplace_back(t->name, w.to(dt));
      index["weight_map"][t->name] = name;
    }
    saveTensors((fs::path(dir) / name).string(), tensors, {{"format", "pt"}});
  }
  std::ofstream(fs::path(dir) / "model.safetensors.index.json") << index.dump(2) << "\n";
  std::ofstream cfgOut(fs::path(dir) / "config.json");
  cfgOut << configJson;
  if (!cfgOut) throw std::runtime_error("cannot write " + dir + "/config.json");
  return total;
}

}  // namespace zs
