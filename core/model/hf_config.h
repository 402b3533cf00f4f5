#pragma once
// config.json of the Llama family (LlamaForCausalLM, MistralForCausalLM,
// Qwen2ForCausalLM, GemmaForCausalLM, Gemma2ForCausalLM), no torch.
//
// An absent key (or null, where transformers treats null as "unset") takes the
// default of that architecture's transformers config class. Keys that change
// the maths with a value we do not implement (an unknown hidden_act, a
// rope_scaling type other than linear/dynamic/llama3, partial_rotary_factor,
// quantization_config, ...) are refused with an InputError naming the key.
#include <cstdint>
#include <string>
#include <vector>

namespace zs {

// Rotary embedding (modeling_rope_utils.py): "default", "linear", "dynamic" or "llama3".
struct RopeConfig {
  std::string type = "default";
  double theta = 10000.0;
  double factor = 1.0;                        // linear, dynamic, llama3
  double lowFreqFactor = 1.0;                 // llama3
  double highFreqFactor = 4.0;                // llama3
  int64_t originalMaxPositions = 8192;        // llama3
  int64_t maxPositions = 2048;                // dynamic: max_position_embeddings
};

struct LlamaFamilyConfig {
  std::string modelType;  // "llama", "mistral", "qwen2", "gemma", "gemma2"
  int64_t vocabSize = 0;
  int64_t hiddenSize = 0;
  int64_t intermediateSize = 0;
  int64_t numLayers = 0;
  int64_t numHeads = 0;
  int64_t numKvHeads = 0;
  int64_t headDim = 0;
  int64_t maxPositions = 0;
  double rmsNormEps = 1e-6;
  std::string activation = "silu";  // silu, gelu, gelu_pytorch_tanh, gelu_new, gelu_fast, relu
  bool tieWordEmbeddings = false;
  bool qkvBias = false;   // q/k/v projections have biases (Qwen2; attention_bias elsewhere)
  bool oBias = false;     // o_proj has a bias (Llama attention_bias)
  bool mlpBias = false;   // gate/up/down have biases (Llama mlp_bias)
  RopeConfig rope;
  int64_t slidingWindow = 0;          // 0: no sliding window anywhere
  std::vector<bool> slidingLayers;    // per layer: uses the sliding window
  bool gemmaNorm = false;             // RMSNorm multiplies by (1 + w)
  bool embedScale = false;            // embedding times sqrt(hidden_size)
  bool postNorms = false;             // Gemma 2 post-attention / pre+post-feedforward norms
  double attnScale = 0;               // score scale (1/sqrt(head_dim), Gemma 2 query_pre_attn_scalar^-0.5)
  double attnSoftcap = 0;             // 0: none
  double finalSoftcap = 0;            // 0: none
  int64_t bosTokenId = -1;            // -1: absent (eos_token_id: the first of a list)
  int64_t eosTokenId = -1;

  // Parses and validates; throws InputError naming the file and the key.
  static LlamaFamilyConfig fromFile(const std::string& path);
  static LlamaFamilyConfig fromJsonText(const std::string& text, const std::string& file);
  // Number of weight elements (embedding + layers + head), for the dtype policy.
  int64_t parameterCount() const;
};

// True when config.json's model_type (or architectures[0]) is one of ours.
bool isLlamaFamilyConfig(const std::string& configText);

}  // namespace zs
