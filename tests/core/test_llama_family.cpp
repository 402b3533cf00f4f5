// The Llama family (Llama, Mistral, Qwen2, Gemma, Gemma 2) against activations
// computed independently (../shared/testdata/tiny-*/expected.safetensors), and
// hand-made checkpoints written here (random weights) for the settings the
// fixtures do not cover: shards, BF16, rope scaling, MQA, short windows,
// soft-caps, head_dim != hidden/heads, and the loader's refusals.
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <algorithm>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/base/error.h"
#include "core/model/hf_config.h"
#include "core/model/llama_family.h"
#include "core/model/rotary.h"
#include "core/io/safetensors.h"
#include "core/io/tensor_io.h"
#include "tests/core/cli_inprocess.h"
#include "tests/support/check.h"

using namespace zs;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// max |a - b| / max |b|: relative to the tensor's scale.
double relErr(const torch::Tensor& a, const torch::Tensor& b) {
  double scale = std::max(b.abs().max().item<double>(), 1e-12);
  return (a - b).abs().max().item<double>() / scale;
}
double absErr(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<double>(); }

ForwardResult run(const LlamaFamily& m, const std::vector<int64_t>& ids, Capture cap = Capture::all(),
                  std::map<int64_t, ZHook> hooks = {}, int64_t stop = -1) {
  torch::InferenceMode g;
  ForwardOptions o;
  o.capture = std::move(cap);
  o.zHooks = std::move(hooks);
  o.stopAfterZOfLayer = stop;
  return m.forward(torch::tensor(ids).unsqueeze(0), o);
}

// Parity of every tensor in expected.safetensors; returns the worst relative error.
double checkFixture(const std::string& name) {
  const std::string shared = test::sharedDir();
  const std::string dir = shared + "/testdata/" + name;
  auto model = LlamaFamily::loadDir(dir);
  auto ref = st::File::open(dir + "/expected.safetensors");
  auto idT = loadTensorRaw(*ref, "input_ids").reshape({-1});
  std::vector<int64_t> ids(idT.data_ptr<int64_t>(), idT.data_ptr<int64_t>() + idT.numel());
  // expected_tokens.json holds the same prompt.
  std::ifstream tj(dir + "/expected_tokens.json");
  ZS_CHECK_EQ(json::parse(tj)["input_ids"].get<std::vector<int64_t>>(), ids);
  auto r = run(*model, ids);
  double worst = 0;
  int compared = 0;
  for (const auto& info : ref->tensors()) {
    if (info.name == "input_ids") continue;
    ZS_CHECK_MSG(r.cache.count(info.name), info.name);
    auto expect = loadTensor(*ref, info.name);
    auto got = r.cache.at(info.name);
    ZS_CHECK_EQ(got.scalar_type(), torch::kFloat32);
    ZS_CHECK_EQ(got.sizes().vec(), info.shape);
    const bool pattern = info.name.find("hook_pattern") != std::string::npos;
    double e = pattern ? absErr(got, expect) : relErr(got, expect);
    ZS_CHECK_MSG(e <= 1e-4, info.name + " error " + std::to_string(e));
    worst = std::max(worst, e);
    ++compared;
  }
  ZS_CHECK_EQ(compared, static_cast<int>(ref->tensors().size()) - 1);
  ZS_CHECK_EQ(r.cache.size(), model->hookNames().size());
  ZS_CHECK(relErr(r.logits, r.cache.at("logits")) == 0);
  std::cout << "  " << name << ": " << compared << " tensors, max error " << worst << "\n";
  return worst;
}

// ---------------------------------------------------------------- hand-made checkpoints

json tinyConfig(const std::string& type) {
  json c = {{"model_type", type}, {"vocab_size", 97},       {"hidden_size", 32},
            {"intermediate_size", 48}, {"num_hidden_layers", 2}, {"num_attention_heads", 4},
            {"num_key_value_heads", 4}, {"max_position_embeddings", 64}, {"rms_norm_eps", 1e-6},
            {"tie_word_embeddings", false}};
  if (type == "gemma" || type == "gemma2") c["head_dim"] = 8;
  if (type == "mistral") c["sliding_window"] = nullptr;
  return c;
}

using Named = std::vector<std::pair<std::string, torch::Tensor>>;

// Random weights with every name and shape the config implies.
Named randomWeights(const json& cfgJson, uint64_t seed) {
  const LlamaFamilyConfig c = LlamaFamilyConfig::fromJsonText(cfgJson.dump(), "test config");
  auto gen = at::detail::createCPUGenerator(seed);
  auto rnd = [&](std::vector<int64_t> shape, double s) { return at::normal(0.0, s, shape, gen); };
  const int64_t d = c.hiddenSize, qd = c.numHeads * c.headDim, kvd = c.numKvHeads * c.headDim, M = c.intermediateSize;
  Named w;
  w.emplace_back("model.embed_tokens.weight", rnd({c.vocabSize, d}, 1.0));
  auto norm = [&](const std::string& n) { w.emplace_back(n, (c.gemmaNorm ? 0.0 : 1.0) + rnd({d}, 0.1)); };
  for (int64_t l = 0; l < c.numLayers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    norm(p + "input_layernorm.weight");
    w.emplace_back(p + "self_attn.q_proj.weight", rnd({qd, d}, 0.3));
    w.emplace_back(p + "self_attn.k_proj.weight", rnd({kvd, d}, 0.3));
    w.emplace_back(p + "self_attn.v_proj.weight", rnd({kvd, d}, 0.3));
    w.emplace_back(p + "self_attn.o_proj.weight", rnd({d, qd}, 0.2));
    if (c.qkvBias) {
      w.emplace_back(p + "self_attn.q_proj.bias", rnd({qd}, 0.1));
      w.emplace_back(p + "self_attn.k_proj.bias", rnd({kvd}, 0.1));
      w.emplace_back(p + "self_attn.v_proj.bias", rnd({kvd}, 0.1));
    }
    if (c.oBias) w.emplace_back(p + "self_attn.o_proj.bias", rnd({d}, 0.1));
    norm(p + "post_attention_layernorm.weight");
    if (c.postNorms) {
      norm(p + "pre_feedforward_layernorm.weight");
      norm(p + "post_feedforward_layernorm.weight");
    }
    w.emplace_back(p + "mlp.gate_proj.weight", rnd({M, d}, 0.2));
    w.emplace_back(p + "mlp.up_proj.weight", rnd({M, d}, 0.2));
    w.emplace_back(p + "mlp.down_proj.weight", rnd({d, M}, 0.2));
    if (c.mlpBias) {
      w.emplace_back(p + "mlp.gate_proj.bias", rnd({M}, 0.1));
      w.emplace_back(p + "mlp.up_proj.bias", rnd({M}, 0.1));
      w.emplace_back(p + "mlp.down_proj.bias", rnd({d}, 0.1));
    }
  }
  norm("model.norm.weight");
  if (!c.tieWordEmbeddings) w.emplace_back("lm_head.weight", rnd({c.vocabSize, d}, 0.2));
  return w;
}

int dirCounter = 0;

// Writes config.json and the weights (in `shards` files with an index when > 1).
std::string writeCheckpoint(const json& cfg, const Named& weights, int shards = 1,
                            torch::ScalarType dtype = torch::kFloat32) {
  const std::string dir = test::tempDir() + "/ckpt" + std::to_string(dirCounter++);
  fs::create_directories(dir);
  std::ofstream(dir + "/config.json") << cfg.dump(2);
  Named cast;
  for (const auto& [n, t] : weights) cast.emplace_back(n, t.to(dtype));
  if (shards == 1) {
    saveTensors(dir + "/model.safetensors", cast, {{"format", "pt"}});
    return dir;
  }
  json index = {{"metadata", {{"total_size", 0}}}, {"weight_map", json::object()}};
  const size_t per = (cast.size() + shards - 1) / shards;
  for (int s = 0; s < shards; ++s) {
    char fname[64];
    std::snprintf(fname, sizeof fname, "model-%05d-of-%05d.safetensors", s + 1, shards);
    Named part;
    for (size_t i = s * per; i < std::min(cast.size(), (s + 1) * per); ++i) {
      part.push_back(cast[i]);
      index["weight_map"][cast[i].first] = fname;
    }
    saveTensors(dir + "/" + fname, part, {{"format", "pt"}});
  }
  std::ofstream(dir + "/model.safetensors.index.json") << index.dump(2);
  return dir;
}

std::string makeModel(const json& cfg, uint64_t seed = 1, int shards = 1, torch::ScalarType dt = torch::kFloat32) {
  return writeCheckpoint(cfg, randomWeights(cfg, seed), shards, dt);
}

std::vector<int64_t> prompt(int64_t n, int64_t vocab, int64_t seed = 3) {
  std::vector<int64_t> ids;
  for (int64_t i = 0; i < n; ++i) ids.push_back((i * 37 + seed * 11 + (i * i) % 7) % vocab);
  return ids;
}

std::string errorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no InputError)";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// The attention pattern recomputed from hook_rot_q / hook_rot_k.
torch::Tensor patternFrom(const ForwardResult& r, int64_t l, double scale, double cap, int64_t window) {
  const std::string b = "blocks." + std::to_string(l) + ".attn.";
  torch::Tensor q = r.cache.at(b + "hook_rot_q")[0].to(torch::kFloat64);  // [T, H, dh]
  torch::Tensor k = r.cache.at(b + "hook_rot_k")[0].to(torch::kFloat64);  // [T, K, dh]
  const int64_t T = q.size(0), H = q.size(1), K = k.size(1);
  torch::Tensor out = torch::zeros({H, T, T}, torch::kFloat64);
  for (int64_t h = 0; h < H; ++h) {
    torch::Tensor s = torch::matmul(q.select(1, h), k.select(1, h / (H / K)).t()) * scale;
    if (cap > 0) s = torch::tanh(s / cap) * cap;
    for (int64_t i = 0; i < T; ++i)
      for (int64_t j = 0; j < T; ++j)
        if (j > i || (window > 0 && j <= i - window)) s[i][j] = -1e300;
    out[h] = torch::softmax(s, -1);
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------- fixtures

ZS_TEST(llamaMatchesFixture) {
  ZS_REQUIRE_SHARED(shared);
  checkFixture("tiny-llama");
}
ZS_TEST(qwen2MatchesFixture) {
  ZS_REQUIRE_SHARED(shared);
  checkFixture("tiny-qwen2");
}
ZS_TEST(gemmaMatchesFixture) {
  ZS_REQUIRE_SHARED(shared);
  checkFixture("tiny-gemma");
}
ZS_TEST(gemma2MatchesFixture) {
  ZS_REQUIRE_SHARED(shared);
  checkFixture("tiny-gemma2");
}

ZS_TEST(specDescribesTheFixtures) {
  ZS_REQUIRE_SHARED(shared);
  auto m = LlamaFamily::loadDir(shared + "/testdata/tiny-gemma2");
  const ModelSpec& s = m->spec();
  ZS_CHECK_EQ(s.architecture, std::string("gemma2"));
  ZS_CHECK_EQ(s.nLayer, 3);
  ZS_CHECK_EQ(s.nHead, 4);
  ZS_CHECK_EQ(s.nKvHead, 2);
  ZS_CHECK_EQ(s.dHead, 16);
  ZS_CHECK(s.norm == NormKind::RMSNorm);
  ZS_CHECK(!s.learnedPositions);
  ZS_CHECK(s.postAttnNorm);
  ZS_CHECK_EQ(s.dtype, std::string("float32"));
  ZS_CHECK(!m->W_pos().defined());
  ZS_CHECK_EQ(m->W_V(0).sizes().vec(), (std::vector<int64_t>{2, 64, 16}));
  ZS_CHECK_EQ(m->W_O(0).sizes().vec(), (std::vector<int64_t>{4, 16, 64}));
  ZS_CHECK_EQ(m->W_U().sizes().vec(), (std::vector<int64_t>{64, 360}));
  // hook_z W_O reproduces the attention output before ln1_post; normLinear the norm.
  auto ids = prompt(10, 360);
  auto r = run(*m, ids);
  torch::Tensor z = r.cache.at("blocks.1.attn.hook_z")[0];  // [T, H, dh]
  torch::Tensor pre = torch::einsum("thd,hdm->tm", {z, m->W_O(1)});
  torch::Tensor viaNorm = m->normLinear("blocks.1.ln1_post", pre, r.cache.at("blocks.1.ln1_post.hook_scale")[0]);
  ZS_CHECK(relErr(viaNorm, r.cache.at("blocks.1.hook_attn_out")[0]) < 1e-5);
  ZS_CHECK_THROWS(m->normLinear("blocks.9.ln1", pre, pre), std::invalid_argument);
  ZS_CHECK(!m->normBias("ln_final").defined());
}

// ---------------------------------------------------------------- invariants

ZS_TEST(causalAndHooks) {
  json cfg = tinyConfig("llama");
  auto m = LlamaFamily::loadDir(makeModel(cfg));
  auto ids = prompt(12, 97);
  auto r = run(*m, ids);
  // Later tokens do not change earlier logits.
  auto ids2 = ids;
  ids2[8] = (ids2[8] + 5) % 97;
  auto r2 = run(*m, ids2);
  ZS_CHECK(absErr(r.logits.narrow(1, 0, 8), r2.logits.narrow(1, 0, 8)) < 1e-6);
  ZS_CHECK(absErr(r.logits.narrow(1, 8, 1), r2.logits.narrow(1, 8, 1)) > 1e-4);
  // An identity zHook reproduces the logits; a zero-ablation changes them.
  std::map<int64_t, ZHook> id = {{1, [](int64_t, const torch::Tensor& z) { return z.clone(); }}};
  ZS_CHECK(absErr(run(*m, ids, Capture::none(), id).logits, r.logits) == 0);
  std::map<int64_t, ZHook> zero = {{0, [](int64_t, const torch::Tensor& z) { return torch::zeros_like(z); }}};
  auto ablated = run(*m, ids, Capture({"blocks.0.attn.hook_z"}), zero);
  ZS_CHECK(ablated.cache.at("blocks.0.attn.hook_z").abs().max().item<double>() == 0);
  ZS_CHECK(absErr(ablated.logits, r.logits) > 1e-3);
  // stopAfterZOfLayer: hook_z as in the full run, no logits.
  auto stopped = run(*m, ids, Capture({"blocks.*.attn.hook_z"}), {}, 0);
  ZS_CHECK(!stopped.logits.defined());
  ZS_CHECK_EQ(stopped.cache.size(), size_t(1));
  ZS_CHECK(absErr(stopped.cache.at("blocks.0.attn.hook_z"), r.cache.at("blocks.0.attn.hook_z")) == 0);
  // A batch of two equals two single runs.
  torch::InferenceMode g;
  auto both = m->forward(torch::stack({torch::tensor(ids), torch::tensor(ids2)}));
  ZS_CHECK(absErr(both.logits[1], r2.logits[0]) < 1e-5);
  ZS_CHECK_THROWS(m->forward(torch::tensor(std::vector<int64_t>{1, 97}).unsqueeze(0)), InputError);
}

// Grouped-query attention (including MQA) equals multi-head attention with the
// key/value heads repeated; head_dim != hidden/heads on the way.
ZS_TEST(groupedQueryAndMqaMatchRepeatedHeads) {
  for (int64_t kv : {1, 2}) {
    json cfg = tinyConfig("llama");
    cfg["head_dim"] = 12;  // != 32 / 4
    cfg["num_key_value_heads"] = kv;
    cfg["attention_bias"] = true;
    Named w = randomWeights(cfg, 7);
    json full = cfg;
    full["num_key_value_heads"] = 4;
    Named wf;
    for (auto [n, t] : w) {
      if (n.find("k_proj") != std::string::npos || n.find("v_proj") != std::string::npos) {
        const bool bias = n.find("bias") != std::string::npos;
        t = bias ? t.view({kv, 12}).repeat_interleave(4 / kv, 0).reshape({-1})
                 : t.view({kv, 12, 32}).repeat_interleave(4 / kv, 0).reshape({4 * 12, 32});
      }
      wf.emplace_back(n, t);
    }
    auto g = LlamaFamily::loadDir(writeCheckpoint(cfg, w));
    auto f = LlamaFamily::loadDir(writeCheckpoint(full, wf));
    ZS_CHECK_EQ(g->spec().nKvHead, kv);
    auto ids = prompt(11, 97);
    auto rg = run(*g, ids), rf = run(*f, ids);
    ZS_CHECK(relErr(rg.logits, rf.logits) < 1e-5);
    ZS_CHECK(relErr(rg.cache.at("blocks.1.attn.hook_z"), rf.cache.at("blocks.1.attn.hook_z")) < 1e-5);
    ZS_CHECK_EQ(rg.cache.at("blocks.0.attn.hook_v").sizes().vec(), (std::vector<int64_t>{1, 11, kv, 12}));
    ZS_CHECK_EQ(rg.cache.at("blocks.0.attn.hook_z").sizes().vec(), (std::vector<int64_t>{1, 11, 4, 12}));
    ZS_CHECK(absErr(rg.cache.at("blocks.1.attn.hook_pattern")[0],
                    patternFrom(rg, 1, 1.0 / std::sqrt(12.0), 0, 0).to(torch::kFloat32)) < 1e-5);
  }
}

// Mistral without a window is Llama; with one shorter than the prompt, keys
// further back than the window get no attention and cannot change the output.
ZS_TEST(slidingWindowShorterThanPrompt) {
  json cfg = tinyConfig("mistral");
  Named w = randomWeights(cfg, 5);
  json llama = cfg;
  llama["model_type"] = "llama";
  auto ids = prompt(20, 97);
  auto mFull = LlamaFamily::loadDir(writeCheckpoint(cfg, w));
  auto mLlama = LlamaFamily::loadDir(writeCheckpoint(llama, w));
  auto rFull = run(*mFull, ids);
  ZS_CHECK(absErr(rFull.logits, run(*mLlama, ids).logits) == 0);

  cfg["sliding_window"] = 4;
  auto m = LlamaFamily::loadDir(writeCheckpoint(cfg, w));
  auto r = run(*m, ids);
  for (int64_t l = 0; l < 2; ++l) {
    torch::Tensor p = r.cache.at("blocks." + std::to_string(l) + ".attn.hook_pattern")[0];
    ZS_CHECK(absErr(p, patternFrom(r, l, 1.0 / std::sqrt(8.0), 0, 4).to(torch::kFloat32)) < 1e-5);
    ZS_CHECK(p[0][10].narrow(0, 0, 7).abs().max().item<double>() == 0);  // i=10 sees j in 7..10
    ZS_CHECK(p[0][10][7].item<double>() > 0);
  }
  ZS_CHECK(absErr(r.logits, rFull.logits) > 1e-3);
  // Two layers of window 4: position t depends on tokens t-6..t only.
  auto ids2 = ids;
  ids2[2] = (ids2[2] + 1) % 97;
  auto r2 = run(*m, ids2);
  ZS_CHECK(absErr(r.logits.narrow(1, 9, 11), r2.logits.narrow(1, 9, 11)) < 1e-6);
  ZS_CHECK(absErr(r.logits.narrow(1, 8, 1), r2.logits.narrow(1, 8, 1)) > 1e-5);

  // Gemma 2: sliding on even layers only. Qwen2: only with use_sliding_window,
  // on layers >= max_window_layers.
  json g2 = tinyConfig("gemma2");
  g2["sliding_window"] = 3;
  g2["num_hidden_layers"] = 3;
  auto mg = LlamaFamily::loadDir(makeModel(g2, 9));
  auto rg = run(*mg, ids);
  const double gs = 1.0 / std::sqrt(256.0);
  for (int64_t l = 0; l < 3; ++l)
    ZS_CHECK(absErr(rg.cache.at("blocks." + std::to_string(l) + ".attn.hook_pattern")[0],
                    patternFrom(rg, l, gs, 50.0, l % 2 == 0 ? 3 : 0).to(torch::kFloat32)) < 1e-5);
  json q = tinyConfig("qwen2");
  q["sliding_window"] = 3;
  q["max_window_layers"] = 1;
  auto qOff = LlamaFamily::loadDir(makeModel(q, 4));
  ZS_CHECK(!qOff->config().slidingLayers[0] && !qOff->config().slidingLayers[1]);
  q["use_sliding_window"] = true;
  auto mq = LlamaFamily::loadDir(makeModel(q, 4));
  auto rq = run(*mq, ids);
  for (int64_t l = 0; l < 2; ++l)
    ZS_CHECK(absErr(rq.cache.at("blocks." + std::to_string(l) + ".attn.hook_pattern")[0],
                    patternFrom(rq, l, 1.0 / std::sqrt(8.0), 0, l >= 1 ? 3 : 0).to(torch::kFloat32)) < 1e-5);
}

// Gemma 2 soft-caps that bite: scores and logits squashed by tanh.
ZS_TEST(softCapsBite) {
  json cfg = tinyConfig("gemma2");
  cfg["attn_logit_softcapping"] = 0.5;
  cfg["final_logit_softcapping"] = 1.5;
  cfg["query_pre_attn_scalar"] = 2;
  cfg["sliding_window"] = 100;
  Named w = randomWeights(cfg, 11);
  auto m = LlamaFamily::loadDir(writeCheckpoint(cfg, w));
  auto ids = prompt(9, 97);
  auto r = run(*m, ids);
  ZS_CHECK(r.logits.abs().max().item<double>() <= 1.5);
  ZS_CHECK(r.logits.abs().max().item<double>() > 1.0);  // the cap bites
  for (int64_t l = 0; l < 2; ++l)
    ZS_CHECK(absErr(r.cache.at("blocks." + std::to_string(l) + ".attn.hook_pattern")[0],
                    patternFrom(r, l, 1.0 / std::sqrt(2.0), 0.5, 0).to(torch::kFloat32)) < 1e-5);
  // Without caps the same weights give other logits; final cap = tanh of the uncapped ones.
  json nc = cfg;
  nc["final_logit_softcapping"] = nullptr;
  auto rn = run(*LlamaFamily::loadDir(writeCheckpoint(nc, w)), ids);
  ZS_CHECK(absErr(torch::tanh(rn.logits / 1.5) * 1.5, r.logits) < 1e-5);
}

// Rotary: hook_rot_q is hook_q rotated by position, with inv_freq as scaled by rope_scaling.
ZS_TEST(rotaryScaling) {
  RopeConfig base;
  base.theta = 500000;
  torch::Tensor inv = ropeInvFreq(base, 64, 10);
  ZS_CHECK_NEAR(inv[1].item<double>() / std::pow(500000.0, -2.0 / 64), 1.0, 1e-6);
  RopeConfig lin = base;
  lin.type = "linear";
  lin.factor = 4;
  ZS_CHECK(absErr(ropeInvFreq(lin, 64, 10), inv / 4) < 1e-12);
  RopeConfig dyn = base;
  dyn.type = "dynamic";
  dyn.factor = 2;
  dyn.maxPositions = 16;
  ZS_CHECK(absErr(ropeInvFreq(dyn, 64, 16), inv) == 0);
  const double b2 = 500000.0 * std::pow(2.0 * 32 / 16 - 1, 64.0 / 62);
  ZS_CHECK_NEAR(ropeInvFreq(dyn, 64, 32)[5].item<double>() / std::pow(b2, -10.0 / 64), 1.0, 1e-6);
  RopeConfig l3 = base;  // Llama 3.1's values
  l3.type = "llama3";
  l3.factor = 8;
  l3.lowFreqFactor = 1;
  l3.highFreqFactor = 4;
  l3.originalMaxPositions = 8192;
  torch::Tensor i3 = ropeInvFreq(l3, 128, 10), i0 = ropeInvFreq(base, 128, 10);
  for (int64_t i = 0; i < 64; ++i) {
    const double f = i0[i].item<double>(), wl = 2 * M_PI / f;
    double want = f;
    if (wl > 8192) want = f / 8;
    else if (wl >= 2048) {
      const double s = (8192 / wl - 1) / 3;
      want = (1 - s) * f / 8 + s * f;
    }
    ZS_CHECK_NEAR(i3[i].item<double>() / want, 1.0, 1e-5);
  }
  ZS_CHECK(i3[0].item<double>() == i0[0].item<double>());  // high frequencies kept
  ZS_CHECK_NEAR(i3[63].item<double>() / (i0[63].item<double>() / 8), 1.0, 1e-6);

  // Through the model: llama3 scaling, hook_rot_q = rotate(hook_q) in float64.
  json cfg = tinyConfig("llama");
  cfg["rope_theta"] = 100.0;
  cfg["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 4.0}, {"low_freq_factor", 1.0},
                         {"high_freq_factor", 4.0}, {"original_max_position_embeddings", 16}};
  auto m = LlamaFamily::loadDir(makeModel(cfg));
  auto r = run(*m, prompt(14, 97));
  torch::Tensor invm = ropeInvFreq(m->config().rope, 8, 14).to(torch::kFloat64);
  torch::Tensor q = r.cache.at("blocks.1.attn.hook_q")[0].to(torch::kFloat64);  // [T, H, 8]
  torch::Tensor want = torch::empty_like(q);
  for (int64_t t = 0; t < 14; ++t)
    for (int64_t i = 0; i < 4; ++i) {
      const double a = t * static_cast<float>(invm[i].item<double>());
      auto x1 = q[t].select(-1, i), x2 = q[t].select(-1, i + 4);
      want[t].select(-1, i).copy_(x1 * std::cos(a) - x2 * std::sin(a));
      want[t].select(-1, i + 4).copy_(x2 * std::cos(a) + x1 * std::sin(a));
    }
  ZS_CHECK(absErr(r.cache.at("blocks.1.attn.hook_rot_q")[0].to(torch::kFloat64), want) < 1e-5);
  // Dynamic: the context grows to factor x max_position_embeddings; past
  // max_position_embeddings the base grows, before it nothing changes.
  json dcfg = tinyConfig("llama");
  dcfg["max_position_embeddings"] = 8;
  dcfg["rope_scaling"] = {{"type", "dynamic"}, {"factor", 2.0}};
  Named dw = randomWeights(dcfg, 13);
  json plain = dcfg;
  plain["rope_scaling"] = nullptr;
  plain["max_position_embeddings"] = 16;
  auto dm = LlamaFamily::loadDir(writeCheckpoint(dcfg, dw));
  auto pm = LlamaFamily::loadDir(writeCheckpoint(plain, dw));
  ZS_CHECK_EQ(dm->spec().nCtx, 16);
  ZS_CHECK(absErr(run(*dm, prompt(8, 97)).logits, run(*pm, prompt(8, 97)).logits) == 0);
  ZS_CHECK(absErr(run(*dm, prompt(12, 97)).logits, run(*pm, prompt(12, 97)).logits) > 1e-4);
  // The legacy "type" key works too; other types are refused by name.
  cfg["rope_scaling"] = {{"type", "linear"}, {"factor", 2.0}};
  ZS_CHECK_EQ(LlamaFamily::loadDir(makeModel(cfg))->config().rope.type, std::string("linear"));
}

// ---------------------------------------------------------------- loading

ZS_TEST(shardsBf16AndTiedHeads) {
  json cfg = tinyConfig("qwen2");
  Named w = randomWeights(cfg, 21);
  auto ids = prompt(10, 97);
  auto single = run(*LlamaFamily::loadDir(writeCheckpoint(cfg, w)), ids);
  auto sharded = LlamaFamily::loadDir(writeCheckpoint(cfg, w, 3));
  ZS_CHECK(absErr(run(*sharded, ids).logits, single.logits) == 0);

  // BF16 and F16 files: computed in float32 from the stored values, or kept in
  // bfloat16 in memory (the same numbers: the upcast is exact).
  Named wb;
  for (const auto& [n, t] : w) wb.emplace_back(n, t.to(torch::kBFloat16).to(torch::kFloat32));
  auto ref = run(*LlamaFamily::loadDir(writeCheckpoint(cfg, wb)), ids);
  const std::string bdir = writeCheckpoint(cfg, w, 2, torch::kBFloat16);
  ZS_CHECK(absErr(run(*LlamaFamily::loadDir(bdir), ids).logits, ref.logits) == 0);
  ModelLoadOptions o;
  o.dtype = "bfloat16";
  auto mb = LlamaFamily::loadDir(bdir, o);
  ZS_CHECK_EQ(mb->spec().dtype, std::string("bfloat16"));
  ZS_CHECK_EQ(mb->weights().layers[0].q_w.scalar_type(), torch::kBFloat16);
  auto rb = run(*mb, ids);
  ZS_CHECK_EQ(rb.cache.at("blocks.0.hook_resid_post").scalar_type(), torch::kFloat32);
  ZS_CHECK(relErr(rb.logits, ref.logits) < 1e-5);
  ZS_CHECK(relErr(run(*LlamaFamily::loadDir(writeCheckpoint(cfg, w, 1, torch::kFloat16)), ids).logits,
                  single.logits) < 1e-2);

  // Tied head: no lm_head.weight, the embedding unembeds.
  json tied = cfg;
  tied["tie_word_embeddings"] = true;
  Named wt;
  for (const auto& [n, t] : w)
    if (n != "lm_head.weight") wt.emplace_back(n, t);
  auto mt = LlamaFamily::loadDir(writeCheckpoint(tied, wt));
  ZS_CHECK(absErr(mt->W_U(), mt->W_E().t()) == 0);
  ZS_CHECK(!mt->weights().lm_head.defined());
  // Untied without lm_head: refused.
  ZS_CHECK(contains(errorOf([&] { LlamaFamily::loadDir(writeCheckpoint(cfg, wt)); }), "lm_head.weight"));
}

ZS_TEST(loaderRefusals) {
  json cfg = tinyConfig("llama");
  Named w = randomWeights(cfg, 2);
  // Missing shard.
  const std::string sdir = writeCheckpoint(cfg, w, 3);
  fs::remove(sdir + "/model-00002-of-00003.safetensors");
  std::string e = errorOf([&] { LlamaFamily::loadDir(sdir); });
  ZS_CHECK_MSG(contains(e, "model-00002-of-00003.safetensors") && contains(e, "missing"), e);
  // Truncated BF16 shard.
  const std::string tdir = writeCheckpoint(cfg, w, 2, torch::kBFloat16);
  const std::string shard = tdir + "/model-00002-of-00002.safetensors";
  fs::resize_file(shard, fs::file_size(shard) - 100);
  e = errorOf([&] { LlamaFamily::loadDir(tdir); });
  ZS_CHECK_MSG(contains(e, "model-00002-of-00002.safetensors"), e);
  // Shape mismatch: names the tensor, expected and actual shapes.
  Named bad = w;
  for (auto& [n, t] : bad)
    if (n == "model.layers.1.self_attn.k_proj.weight") t = torch::zeros({16, 32});
  e = errorOf([&] { LlamaFamily::loadDir(writeCheckpoint(cfg, bad)); });
  ZS_CHECK_MSG(contains(e, "model.layers.1.self_attn.k_proj.weight") && contains(e, "[16, 32]") &&
                   contains(e, "[32, 32]"),
               e);
  // Missing tensor.
  Named less;
  for (const auto& kv : w)
    if (kv.first != "model.layers.0.mlp.up_proj.weight") less.push_back(kv);
  ZS_CHECK(contains(errorOf([&] { LlamaFamily::loadDir(writeCheckpoint(cfg, less)); }),
                    "model.layers.0.mlp.up_proj.weight"));
  // Config refusals name the key or value.
  auto cfgError = [&](json c) { return errorOf([&] { LlamaFamilyConfig::fromJsonText(c.dump(), "config.json"); }); };
  json c = cfg;
  c["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}};
  ZS_CHECK(contains(cfgError(c), "yarn"));
  ZS_CHECK(contains(errorOf([&] { LlamaFamily::loadDir(writeCheckpoint(c, w)); }), "rope_scaling type 'yarn'"));
  c = cfg;
  c["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}};
  ZS_CHECK(contains(cfgError(c), "low_freq_factor"));
  c = cfg;
  c["hidden_act"] = "swiglu_oai";
  ZS_CHECK(contains(cfgError(c), "hidden_act"));
  c = cfg;
  c["partial_rotary_factor"] = 0.5;
  ZS_CHECK(contains(cfgError(c), "partial_rotary_factor"));
  c = cfg;
  c["num_key_value_heads"] = 3;
  ZS_CHECK(contains(cfgError(c), "num_key_value_heads"));
  c = cfg;
  c["model_type"] = "gemma3";
  ZS_CHECK(contains(cfgError(c), "gemma3"));
  c = cfg;
  c["quantization_config"] = {{"quant_method", "awq"}};
  ZS_CHECK(contains(cfgError(c), "quantization_config"));
}

// Absent keys take each config class's defaults.
ZS_TEST(configDefaults) {
  auto parse = [](json j) { return LlamaFamilyConfig::fromJsonText(j.dump(), "config.json"); };
  auto l = parse({{"model_type", "llama"}, {"num_attention_heads", 8}, {"hidden_size", 512}});
  ZS_CHECK_EQ(l.numKvHeads, 8);
  ZS_CHECK_EQ(l.headDim, 64);
  ZS_CHECK(!l.tieWordEmbeddings);
  ZS_CHECK_EQ(l.maxPositions, 2048);
  auto m = parse({{"architectures", {"MistralForCausalLM"}}});
  ZS_CHECK_EQ(m.modelType, std::string("mistral"));
  ZS_CHECK_EQ(m.numKvHeads, 8);
  ZS_CHECK_EQ(m.slidingWindow, 4096);
  ZS_CHECK(m.slidingLayers[31]);
  auto q = parse({{"model_type", "qwen2"}});
  ZS_CHECK(q.qkvBias && !q.oBias);
  ZS_CHECK_EQ(q.slidingWindow, 0);
  auto g = parse({{"model_type", "gemma"}, {"hidden_act", "gelu"}});
  ZS_CHECK_EQ(g.activation, std::string("gelu_pytorch_tanh"));
  ZS_CHECK(g.tieWordEmbeddings && g.embedScale && g.gemmaNorm);
  ZS_CHECK_EQ(g.headDim, 256);
  auto g2 = parse({{"model_type", "gemma2"}});
  ZS_CHECK_EQ(g2.attnSoftcap, 50.0);
  ZS_CHECK_EQ(g2.finalSoftcap, 30.0);
  ZS_CHECK_NEAR(g2.attnScale, 1.0 / 16, 1e-12);
  ZS_CHECK(g2.slidingLayers[0] && !g2.slidingLayers[1] && g2.slidingLayers[24]);
  ZS_CHECK_EQ(g2.slidingWindow, 4096);
  ZS_CHECK_EQ(g2.numKvHeads, 4);
}

// ---------------------------------------------------------------- through the CLI

namespace {

// zscope-cli in-process; stderr captured.
int runCliCapturing(std::vector<std::string> args, std::string* err) {
  std::ostringstream captured;
  std::streambuf* old = std::cerr.rdbuf(captured.rdbuf());
  int rc = 0;
  try {
    rc = test::runCli(std::move(args), nullptr, false);
  } catch (...) {
    std::cerr.rdbuf(old);
    throw;
  }
  std::cerr.rdbuf(old);
  *err = captured.str();
  return rc;
}

std::string idList(const std::vector<int64_t>& ids) {
  std::string s;
  for (size_t i = 0; i < ids.size(); ++i) s += (i ? "," : "") + std::to_string(ids[i]);
  return s;
}

}  // namespace

ZS_TEST(cliRunWritesEveryActivation) {
  ZS_REQUIRE_SHARED(shared);
  for (const char* name : {"tiny-llama", "tiny-qwen2", "tiny-gemma", "tiny-gemma2"}) {
    const std::string dir = shared + "/testdata/" + name;
    auto ref = st::File::open(dir + "/expected.safetensors");
    auto idT = loadTensorRaw(*ref, "input_ids").reshape({-1});
    std::vector<int64_t> ids(idT.data_ptr<int64_t>(), idT.data_ptr<int64_t>() + idT.numel());
    const std::string out = test::tempDir() + "/" + name + ".safetensors";
    std::string err;
    ZS_CHECK_EQ(runCliCapturing({"run", "--model", dir, "--tokens", idList(ids), "--out", out, "--threads", "1"}, &err), 0);
    ZS_CHECK_MSG(contains(err, "weights in float32"), err);
    auto got = st::File::open(out);
    ZS_CHECK_EQ(got->tensors().size(), ref->tensors().size());
    for (const auto& info : ref->tensors()) {
      const auto* g = got->find(info.name);
      ZS_CHECK_MSG(g, info.name);
      ZS_CHECK_EQ(g->shape, info.shape);
      if (info.name == "input_ids") {
        ZS_CHECK(torch::equal(loadTensorRaw(*got, info.name), loadTensorRaw(*ref, info.name)));
        continue;
      }
      ZS_CHECK(g->dtype == st::DType::F32);
      double e = info.name.find("hook_pattern") != std::string::npos
                     ? absErr(loadTensor(*got, info.name), loadTensor(*ref, info.name))
                     : relErr(loadTensor(*got, info.name), loadTensor(*ref, info.name));
      ZS_CHECK_MSG(e <= 1e-4, std::string(name) + " " + info.name + " error " + std::to_string(e));
    }
  }
}

ZS_TEST(cliRefusalsExit3WithOneLine) {
  json cfg = tinyConfig("llama");
  Named w = randomWeights(cfg, 2);
  const std::string out = test::tempDir() + "/refused.safetensors";
  auto refused = [&](const std::string& dir, const std::string& part) {
    std::string err;
    const int rc = runCliCapturing({"run", "--model", dir, "--tokens", "1,2,3", "--out", out}, &err);
    ZS_CHECK_MSG(rc == 3, "exit " + std::to_string(rc) + ": " + err);
    ZS_CHECK_MSG(contains(err, part), err);
    ZS_CHECK_MSG(std::count(err.begin(), err.end(), '\n') == 1, err);
  };
  json c = cfg;
  c["rope_scaling"] = {{"rope_type", "longrope"}, {"factor", 4.0}};
  refused(writeCheckpoint(c, w), "rope_scaling type 'longrope'");
  const std::string sdir = writeCheckpoint(cfg, w, 3);
  fs::remove(sdir + "/model-00003-of-00003.safetensors");
  refused(sdir, "model-00003-of-00003.safetensors");
  Named bad = w;
  for (auto& [n, t] : bad)
    if (n == "model.layers.0.self_attn.o_proj.weight") t = torch::zeros({32, 31});
  refused(writeCheckpoint(cfg, bad), "model.layers.0.self_attn.o_proj.weight");
  const std::string tdir = writeCheckpoint(cfg, w, 2, torch::kBFloat16);
  fs::resize_file(tdir + "/model-00001-of-00002.safetensors", fs::file_size(tdir + "/model-00001-of-00002.safetensors") / 2);
  refused(tdir, "model-00001-of-00002.safetensors");
  // --dtype bfloat16 through the CLI: runs, says so.
  std::string err;
  ZS_CHECK_EQ(runCliCapturing({"run", "--model", writeCheckpoint(cfg, w), "--tokens", "1,2,3", "--out", out, "--dtype", "bfloat16"},
                  &err),
              0);
  ZS_CHECK_MSG(contains(err, "weights in bfloat16"), err);
  ZS_CHECK_EQ(st::File::open(out)->get("logits").dtype, st::DType::F32);
}
