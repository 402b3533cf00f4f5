// GPT-2 config keys that change the maths are honoured, not ignored (issue 12):
// scale_attn_weights and scale_attn_by_inverse_layer_idx scale the attention
// scores as transformers' GPT2Attention does; bad values are refused.
#include <torch/torch.h>

#include "core/base/error.h"
#include "core/model/gpt2.h"
#include "tests/support/check.h"

using namespace zs;

namespace {

// Max |pattern - softmax(mask(q k^T) * factor(l))| over every layer.
double patternError(const Gpt2Config& cfg, const std::function<double(int64_t)>& factor) {
  auto m = Gpt2::init(cfg, 3);
  torch::NoGradGuard ng;
  torch::Tensor ids = torch::randint(0, cfg.vocab_size, {2, 9}, torch::kLong);
  ForwardOptions o;
  o.capture = Capture({"blocks.*.attn.hook_q", "blocks.*.attn.hook_k", "blocks.*.attn.hook_pattern"});
  auto r = m->forward(ids, o);
  double worst = 0;
  for (int64_t l = 0; l < cfg.n_layer; ++l) {
    const std::string b = "blocks." + std::to_string(l) + ".attn.";
    torch::Tensor q = r.cache.at(b + "hook_q").permute({0, 2, 1, 3}).to(torch::kDouble);
    torch::Tensor k = r.cache.at(b + "hook_k").permute({0, 2, 1, 3}).to(torch::kDouble);
    torch::Tensor s = torch::matmul(q, k.transpose(-1, -2)) * factor(l);
    torch::Tensor mask = torch::ones({9, 9}, torch::kBool).triu(1);
    torch::Tensor want = torch::softmax(s.masked_fill(mask, -INFINITY), -1);
    worst = std::max(worst, (r.cache.at(b + "hook_pattern").to(torch::kDouble) - want).abs().max().item<double>());
  }
  return worst;
}

Gpt2Config small() {
  Gpt2Config c;
  c.n_layer = 3;
  c.n_head = 2;
  c.n_embd = 16;
  c.n_positions = 16;
  c.vocab_size = 50;
  return c;
}

}  // namespace

ZS_TEST(defaultScalingIsOneOverSqrtDHead) {
  torch::manual_seed(1);
  const Gpt2Config c = small();
  ZS_CHECK(c.scale_attn_weights);
  ZS_CHECK(!c.scale_attn_by_inverse_layer_idx);
  ZS_CHECK(patternError(c, [](int64_t) { return 1.0 / std::sqrt(8.0); }) < 1e-5);
}

ZS_TEST(scaleAttnWeightsFalseLeavesScoresUnscaled) {
  torch::manual_seed(2);
  Gpt2Config c = Gpt2Config::fromJsonText(
      R"({"n_layer": 3, "n_head": 2, "n_embd": 16, "n_positions": 16, "vocab_size": 50, "scale_attn_weights": false})",
      "config.json");
  ZS_CHECK(!c.scale_attn_weights);
  ZS_CHECK(patternError(c, [](int64_t) { return 1.0; }) < 1e-5);
}

ZS_TEST(inverseLayerIdxDividesByLayerPlusOne) {
  torch::manual_seed(3);
  Gpt2Config c = Gpt2Config::fromJsonText(
      R"({"n_layer": 3, "n_head": 2, "n_embd": 16, "n_positions": 16, "vocab_size": 50,
          "scale_attn_by_inverse_layer_idx": true, "reorder_and_upcast_attn": true})",
      "config.json");
  ZS_CHECK(c.scale_attn_by_inverse_layer_idx);
  ZS_CHECK(patternError(c, [](int64_t l) { return 1.0 / std::sqrt(8.0) / double(l + 1); }) < 1e-5);
  // The keys survive a save/load round trip.
  const Gpt2Config back = Gpt2Config::fromJsonText(c.toJsonText(), "config.json");
  ZS_CHECK(back.scale_attn_by_inverse_layer_idx);
  ZS_CHECK(back.scale_attn_weights);
}

ZS_TEST(nonBooleanScalingKeysAreRefused) {
  ZS_CHECK_THROWS(Gpt2Config::fromJsonText(R"({"scale_attn_weights": "yes"})", "config.json"), InputError);
  ZS_CHECK_THROWS(Gpt2Config::fromJsonText(R"({"reorder_and_upcast_attn": 1})", "config.json"), InputError);
}
