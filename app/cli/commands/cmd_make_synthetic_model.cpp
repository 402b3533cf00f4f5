// zscope-cli make-synthetic-model: a Llama-family checkpoint with random weights
// at real dimensions, for `bench forward` without downloading a model. Preset
// gemma-2-2b has Gemma-2-2B's shapes; --layers cuts the depth.
#include <iostream>

#include <nlohmann/json.hpp>

#include "app/cli/command.h"
#include "core/base/error.h"
#include "core/model/synthetic_checkpoint.h"

namespace zs::cli {
namespace {

nlohmann::json preset(const std::string& name) {
  if (name == "gemma-2-2b")
    return {{"architectures", {"Gemma2ForCausalLM"}},
            {"model_type", "gemma2"},
            {"vocab_size", 256000},
            {"hidden_size", 2304},
            {"intermediate_size", 9216},
            {"num_hidden_layers", 26},
            {"num_attention_heads", 8},
            {"num_key_value_heads", 4},
            {"head_dim", 256},
            {"hidden_activation", "gelu_pytorch_tanh"},
            {"max_position_embeddings", 8192},
            {"rms_norm_eps", 1e-6},
            {"rope_theta", 10000.0},
            {"query_pre_attn_scalar", 256},
            {"sliding_window", 4096},
            {"attn_logit_softcapping", 50.0},
            {"final_logit_softcapping", 30.0},
            {"tie_word_embeddings", true},
            {"bos_token_id", 2},
            {"eos_token_id", 1},
            {"torch_dtype", "bfloat16"}};
  throw UsageError("--preset must be gemma-2-2b, got '" + name + "'");
}

int runMakeSynthetic(const Args& a) {
  const std::string out = a.require("out");
  nlohmann::json cfg = preset(a.get("preset", "gemma-2-2b"));
  if (a.has("layers")) {
    const int64_t layers = a.getInt("layers", 0);
    if (layers < 1) throw UsageError("--layers must be positive");
    cfg["num_hidden_layers"] = layers;
  }
  SyntheticCheckpointOptions o;
  o.dtype = a.get("dtype", "bfloat16");
  o.seed = static_cast<uint64_t>(a.getInt("seed", 0));
  o.shardBytes = a.getInt("shard-mb", 1024) * (int64_t(1) << 20);
  const int64_t bytes = writeSyntheticCheckpoint(out, cfg.dump(2) + "\n", o);
  std::cerr << "wrote " << cfg["num_hidden_layers"].get<int64_t>() << "-layer " << a.get("preset", "gemma-2-2b")
            << " checkpoint with random " << o.dtype << " weights (" << bytes / (1 << 20) << " MiB) to " << out
            << "\n";
  return 0;
}

Registrar reg({"make-synthetic-model",
               "--out DIR [--preset gemma-2-2b] [--layers N] [--dtype bfloat16|float16|float32] [--seed S] "
               "[--shard-mb MB]",
               "Write a checkpoint with random weights at a real model's dimensions (for bench forward)",
               {},
               &runMakeSynthetic});

}  // namespace
}  // namespace zs::cli
