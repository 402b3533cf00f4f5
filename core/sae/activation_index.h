#pragma once
// The index of a folder of harvested hook_z activations (`zscope-cli harvest`,
// read by `train-sae --activations DIR`). Torch-free: the CLI reads it to
// default train-sae's options. Layout of DIR:
//   index.json                   this index (written after every shard)
//   shard-00000.safetensors ...  per shard, one tensor per layer,
//                                "blocks.L.attn.hook_z" [tokens, d_in] (F32, F16
//                                or BF16), rows aligned across layers (row r of
//                                every layer is the same token), BOS excluded,
//                                with the index's identity in __metadata__.
#include <cstdint>
#include <string>
#include <vector>

namespace zs {

constexpr const char* kActivationFormat = "zscope-activations";
constexpr int kActivationFormatVersion = 1;

struct ActivationShard {
  std::string file;         // name inside the folder
  int64_t firstWindow = 0;  // index of its first window in the harvested stream
  int64_t windows = 0, tokens = 0;  // tokens = windows * (context - 1)
};

struct ActivationIndex {
  std::string dir;  // where it was read from (not stored)
  std::string modelName, modelDir, modelFingerprint;
  std::string corpus, corpusFormat = "auto";
  int64_t context = 0;            // tokens per window, BOS included
  int64_t evalWindows = 0;        // windows held out first (train-sae's CE windows), not harvested
  uint64_t seed = 0;              // document shuffle seed
  bool shuffle = true;
  int64_t windowsPerForward = 0;  // forward batch: shards hold whole multiples of it
  std::vector<int64_t> layers;
  int64_t dIn = 0, nHeads = 0, dHead = 0;
  std::string dtype = "F32";      // F32 | F16 | BF16
  int64_t tokens = 0, windows = 0;
  bool complete = false;          // false: interrupted (the same harvest command resumes)
  std::vector<ActivationShard> shards;

  std::string toJsonText() const;
  // The identity every shard's metadata carries (and train-sae checks).
  std::string hookName(int64_t layer) const { return "blocks." + std::to_string(layer) + ".attn.hook_z"; }
};

// Reads and validates DIR/index.json (format, version, field types, shard
// totals). InputError naming the file and the problem; no shard is opened here.
ActivationIndex readActivationIndex(const std::string& dir);
// Writes DIR/index.json atomically.
void writeActivationIndex(const ActivationIndex& index);

}  // namespace zs
