#pragma once
// GPT-2 config.json (Hugging Face layout), no torch.
#include <cstdint>
#include <string>

namespace zs {

struct Gpt2Config {
  int64_t n_layer = 2;
  int64_t n_head = 4;
  int64_t n_embd = 256;
  int64_t n_positions = 128;
  int64_t vocab_size = 4096;
  int64_t n_inner = 0;  // 0 = 4 * n_embd
  double layer_norm_epsilon = 1e-5;
  std::string activation_function = "gelu_new";
  int64_t bos_token_id = -1;
  int64_t eos_token_id = -1;
  bool tie_word_embeddings = true;
  // Attention-score scaling as transformers' GPT2Attention applies it:
  // scores / sqrt(d_head) when scale_attn_weights, and / (layer + 1) when
  // scale_attn_by_inverse_layer_idx. (reorder_and_upcast_attn only changes the
  // precision of that product; Zscope computes it in float32 anyway.)
  bool scale_attn_weights = true;
  bool scale_attn_by_inverse_layer_idx = false;

  int64_t d_head() const { return n_embd / n_head; }
  int64_t d_mlp() const { return n_inner > 0 ? n_inner : 4 * n_embd; }

  // Parses and validates; throws InputError naming the file and the bad field.
  static Gpt2Config fromFile(const std::string& path);
  static Gpt2Config fromJsonText(const std::string& text, const std::string& nameForErrors);
  void validate(const std::string& nameForErrors) const;
  std::string toJsonText() const;  // config.json content (model_type gpt2)
};

}  // namespace zs
