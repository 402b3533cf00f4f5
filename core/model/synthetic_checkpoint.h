#pragma once
// Writes a Llama-family checkpoint folder with random weights (config.json +
// shards + model.safetensors.index.json): every tensor the config implies, by
// its Hugging Face name and shape. For benchmarks at real dimensions
// (`zscope-cli make-synthetic-model`) without downloading a model. Internal to core.
#include <cstdint>
#include <string>

namespace zs {

struct SyntheticCheckpointOptions {
  std::string dtype = "bfloat16";       // "bfloat16", "float16" or "float32" on disk
  uint64_t seed = 0;
  double stddev = 0.02;                 // weights ~ N(0, stddev); norm weights near their identity
  int64_t shardBytes = int64_t(1) << 30;  // a new shard when this size would be exceeded
};

// `configJson` is a config.json text (validated as LlamaFamilyConfig). Returns
// the number of bytes of weights written. Throws InputError / std::runtime_error.
int64_t writeSyntheticCheckpoint(const std::string& dir, const std::string& configJson,
                                 const SyntheticCheckpointOptions& opts = {});

}  // namespace zs
