// The SAE: encode/decode against hand-computed values, SAELens folder round
// trips, old-style cfg keys, refusals, d_in checks.
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/base/error.h"
#include "core/model/gpt2.h"
#include "core/model/model_config.h"
#include "core/sae/sae.h"
#include "core/io/safetensors.h"
#include "core/io/tensor_io.h"
#include "tests/support/check.h"

using namespace zs;

namespace {

Sae handSae() {
  Sae s;
  s.cfg.d_in = 2;
  s.cfg.d_sae = 3;
  s.cfg.hook_name = "blocks.1.attn.hook_z";
  s.cfg.hook_layer = 1;
  s.W_enc = torch::tensor({1.f, 0.f, 1.f, 0.f, 1.f, -1.f}).view({2, 3});
  s.b_enc = torch::tensor({0.f, -0.5f, 0.1f});
  s.b_dec = torch::tensor({0.5f, -0.5f});
  s.W_dec = torch::tensor({1.f, 0.f, 0.f, 1.f, 0.6f, 0.8f}).view({3, 2});
  return s;
}

void writeFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

}  // namespace

ZS_TEST(encodeDecodeByHand) {
  Sae s = handSae();
  auto x = torch::tensor({1.5f, 0.5f, 0.5f, 1.5f}).view({2, 2});
  auto f = s.encode(x);
  // xc = x - b_dec = [1,1] and [0,2]; pre = xc W_enc + b_enc.
  auto want = torch::tensor({1.f, 0.5f, 0.1f, 0.f, 1.5f, 0.f}).view({2, 3});
  ZS_CHECK(torch::allclose(f, want, 1e-6, 1e-6));
  auto pre = s.preActivations(x);
  ZS_CHECK(std::abs(pre[1][2].item<float>() - (-1.9f)) < 1e-6);
  auto xhat = s.decode(f);
  auto wantHat = torch::tensor({1.56f, 0.08f, 0.5f, 1.0f}).view({2, 2});
  ZS_CHECK(torch::allclose(xhat, wantHat, 1e-6, 1e-6));
  // Without b_dec applied to the input: pre = x W_enc + b_enc.
  s.cfg.apply_b_dec_to_input = false;
  auto f2 = s.encode(torch::tensor({1.5f, 0.5f}).view({1, 2}));
  ZS_CHECK(torch::allclose(f2, torch::tensor({1.5f, 0.f, 1.1f}).view({1, 3}), 1e-6, 1e-6));
  // Leading dimensions are kept: [B, T, d_in] -> [B, T, d_sae].
  ZS_CHECK_EQ(s.encode(torch::zeros({2, 5, 2})).sizes().vec(), (std::vector<int64_t>{2, 5, 3}));
  ZS_CHECK_THROWS(s.encode(torch::zeros({4, 3})), InputError);
}

ZS_TEST(saeLensRoundTrip) {
  std::string dir = test::tempDir() + "/rt/blocks.1.attn.hook_z";
  SaeConfig c;
  c.d_in = 8;
  c.d_sae = 24;
  c.hook_name = "blocks.1.attn.hook_z";
  c.hook_layer = 1;
  c.model_name = "tiny";
  c.context_size = 64;
  c.apply_b_dec_to_input = false;
  c.extra_json = R"({"zscope": {"l1_coefficient": 2.5}, "dataset_path": "x"})";
  auto s = Sae::init(c, 3);
  s->b_enc = torch::randn({24});
  s->b_dec = torch::randn({8});
  s->saveDir(dir);
  ZS_CHECK(std::filesystem::exists(dir + "/cfg.json"));
  auto r = Sae::loadDir(dir);
  ZS_CHECK(torch::equal(r->W_enc, s->W_enc));
  ZS_CHECK(torch::equal(r->W_dec, s->W_dec));
  ZS_CHECK(torch::equal(r->b_enc, s->b_enc));
  ZS_CHECK(torch::equal(r->b_dec, s->b_dec));
  ZS_CHECK_EQ(r->cfg.d_in, 8);
  ZS_CHECK_EQ(r->cfg.d_sae, 24);
  ZS_CHECK_EQ(r->cfg.hook_name, c.hook_name);
  ZS_CHECK_EQ(r->cfg.hook_layer, 1);
  ZS_CHECK_EQ(r->cfg.model_name, std::string("tiny"));
  ZS_CHECK_EQ(r->cfg.context_size, 64);
  ZS_CHECK_EQ(r->cfg.apply_b_dec_to_input, false);
  ZS_CHECK(r->cfg.flatten_heads());
  auto extra = nlohmann::json::parse(r->cfg.extra_json);
  ZS_CHECK_FUZZY(extra["zscope"]["l1_coefficient"].get<double>(), 2.5);
  ZS_CHECK_EQ(extra["dataset_path"].get<std::string>(), std::string("x"));
  // The file carries what SAELens needs, with the weights' SAELens shapes.
  auto j = nlohmann::json::parse(std::ifstream(dir + "/cfg.json"));
  for (const char* k : {"architecture", "d_in", "d_sae", "dtype", "device", "hook_name", "hook_layer",
                        "hook_head_index", "activation_fn_str", "apply_b_dec_to_input", "finetuning_scaling_factor",
                        "context_size", "model_name", "normalize_activations", "prepend_bos"})
    ZS_CHECK_MSG(j.contains(k), k);
  ZS_CHECK_EQ(j["normalize_activations"].get<std::string>(), std::string("none"));
  auto f = st::File::open(dir + "/sae_weights.safetensors");
  ZS_CHECK_EQ(f->get("W_enc").shape, (std::vector<int64_t>{8, 24}));
  ZS_CHECK_EQ(f->get("W_dec").shape, (std::vector<int64_t>{24, 8}));
  // Save -> load -> save gives the same cfg.json.
  std::string dir2 = test::tempDir() + "/rt2";
  r->saveDir(dir2);
  ZS_CHECK(nlohmann::json::parse(std::ifstream(dir2 + "/cfg.json")) == j);
}

ZS_TEST(oldStyleConfig) {
  std::string dir = test::tempDir() + "/old";
  std::filesystem::create_directories(dir);
  Sae s = handSae();
  saveTensors(dir + "/sae_weights.safetensors",
              {{"W_enc", s.W_enc}, {"W_dec", s.W_dec}, {"b_enc", s.b_enc}, {"b_dec", s.b_dec}});
  // Old SAELens names: hook_point, hook_point_layer, activation_fn; no d_sae.
  writeFile(dir + "/cfg.json", R"({"hook_point": "blocks.1.attn.hook_z", "hook_point_layer": 1, "d_in": 2,
    "activation_fn": "relu", "apply_b_dec_to_input": true, "model_name": "m", "normalize_activations": null})");
  auto r = Sae::loadDir(dir);
  ZS_CHECK_EQ(r->cfg.hook_name, std::string("blocks.1.attn.hook_z"));
  ZS_CHECK_EQ(r->cfg.hook_layer, 1);
  ZS_CHECK_EQ(r->cfg.d_sae, 3);
  ZS_CHECK(torch::equal(r->W_dec, s.W_dec));
  // hook_layer absent: parsed from the hook name.
  writeFile(dir + "/cfg.json", R"({"hook_name": "blocks.1.attn.hook_z", "d_in": 2, "d_sae": 3,
    "activation_fn_str": "relu", "normalize_activations": "none"})");
  ZS_CHECK_EQ(Sae::loadDir(dir)->cfg.hook_layer, 1);
}

ZS_TEST(refusals) {
  std::string dir = test::tempDir() + "/refuse";
  std::filesystem::create_directories(dir);
  Sae s = handSae();
  saveTensors(dir + "/sae_weights.safetensors",
              {{"W_enc", s.W_enc}, {"W_dec", s.W_dec}, {"b_enc", s.b_enc}, {"b_dec", s.b_dec}});
  auto expectRefusal = [&](const std::string& cfg, const std::string& needle) {
    writeFile(dir + "/cfg.json", cfg);
    try {
      Sae::loadDir(dir);
      ZS_FAIL(("accepted: " + cfg).c_str());
    } catch (const InputError& e) {
      ZS_CHECK_MSG(std::string(e.what()).find(needle) != std::string::npos, e.what());
      ZS_CHECK_MSG(std::string(e.what()).find("cfg.json") != std::string::npos, e.what());
    }
  };
  const std::string head = R"({"hook_name": "blocks.1.attn.hook_z", "d_in": 2, "d_sae": 3, )";
  // Other architectures and normalisations load (test_sae_architectures); these do not.
  expectRefusal(head + R"("normalize_activations": "whitening"})", "normalize_activations");
  expectRefusal(head + R"("activation_fn_str": "topk"})", "topk");  // no k
  expectRefusal(head + R"("activation_fn_str": "tanh"})", "tanh");
  expectRefusal(head + R"("architecture": "matryoshka_batchtopk"})", "matryoshka_batchtopk");
  expectRefusal(head + R"("hook_layer": 3})", "disagrees");
  expectRefusal("{not json", "JSON");
  expectRefusal(R"({"d_in": 2})", "hook_name");
  // Shapes that disagree with the cfg.
  writeFile(dir + "/cfg.json", head + R"("normalize_activations": "none"})");
  ZS_CHECK(Sae::loadDir(dir) != nullptr);
  writeFile(dir + "/cfg.json", R"({"hook_name": "blocks.1.attn.hook_z", "d_in": 2, "d_sae": 4})");
  ZS_CHECK_THROWS(Sae::loadDir(dir), InputError);
  ZS_CHECK_THROWS(Sae::loadDir(dir + "/missing"), InputError);
}

ZS_TEST(checkAgainstModel) {
  Gpt2Config cfg;
  cfg.n_layer = 2;
  cfg.n_head = 4;
  cfg.n_embd = 8;
  const ModelSpec m = Gpt2::specOf(cfg);
  Sae s;
  s.cfg.d_in = 8;
  s.cfg.hook_name = "blocks.1.attn.hook_z";
  s.cfg.hook_layer = 1;
  s.checkAgainst(m, "x");  // fine
  s.cfg.d_in = 6;
  ZS_CHECK_THROWS(s.checkAgainst(m, "x"), InputError);
  s.cfg.d_in = 8;
  s.cfg.hook_layer = 2;
  s.cfg.hook_name = "blocks.2.attn.hook_z";
  ZS_CHECK_THROWS(s.checkAgainst(m, "x"), InputError);
  s.cfg.hook_name = "blocks.1.hook_resid_pre";
  s.cfg.hook_layer = 1;
  ZS_CHECK(!s.cfg.flatten_heads());
  ZS_CHECK_THROWS(s.checkAgainst(m, "x"), InputError);
}

ZS_TEST(initHasUnitDecoderRows) {
  SaeConfig c;
  c.d_in = 16;
  c.d_sae = 64;
  c.hook_name = "blocks.0.attn.hook_z";
  auto s = Sae::init(c, 11);
  ZS_CHECK(torch::allclose(s->W_dec.norm(2, {1}), torch::ones({64}), 1e-5, 1e-5));
  ZS_CHECK(torch::equal(s->W_enc, s->W_dec.t()));
  ZS_CHECK(torch::equal(Sae::init(c, 11)->W_dec, s->W_dec));  // deterministic for a seed
}
