// The GPT-2 forward pass against activations computed independently
// (TransformerLens names, ../shared/testdata/tiny-gpt2/expected.safetensors),
// both in-process and through `zscope-cli run`.
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "core/base/error.h"
#include "core/model/gpt2.h"
#include "core/io/safetensors.h"
#include "core/io/tensor_io.h"
#include "tests/support/check.h"

using namespace zs;

namespace {

// max |a - b| / max |b|: relative to the tensor's scale, so near-zero entries
// do not blow up the ratio.
double relErr(const torch::Tensor& a, const torch::Tensor& b) {
  double scale = std::max(b.abs().max().item<double>(), 1e-12);
  return (a - b).abs().max().item<double>() / scale;
}

std::vector<int64_t> expectedIds(const st::File& f) {
  auto t = loadTensorRaw(f, "input_ids").reshape({-1});
  return std::vector<int64_t>(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + t.numel());
}

}  // namespace

ZS_TEST(forwardMatchesReference) {
  ZS_REQUIRE_SHARED(shared);
  const std::string dir = shared + "/testdata/tiny-gpt2";
  auto model = Gpt2::loadDir(dir);
  auto ref = st::File::open(dir + "/expected.safetensors");
  auto ids = expectedIds(*ref);
  torch::InferenceMode g;
  ForwardOptions o;
  o.capture = Capture::all();
  auto r = model->forward(torch::tensor(ids).unsqueeze(0), o);
  int compared = 0;
  for (const auto& info : ref->tensors()) {
    if (info.name == "input_ids") continue;
    ZS_CHECK_MSG(r.cache.count(info.name), info.name);
    auto expect = loadTensor(*ref, info.name);
    auto got = r.cache.at(info.name).to(torch::kFloat32);
    ZS_CHECK_EQ(std::vector<int64_t>(got.sizes().begin(), got.sizes().end()), info.shape);
    double e = relErr(got, expect);
    ZS_CHECK_MSG(e <= 1e-4, (info.name + " relative error " + std::to_string(e)));
    ++compared;
  }
  ZS_CHECK_EQ(compared, static_cast<int>(ref->tensors().size()) - 1);
}

ZS_TEST(cliRunMatchesReference) {
  ZS_REQUIRE_SHARED(shared);
  ZS_REQUIRE_CLI(cli);
  const std::string dir = shared + "/testdata/tiny-gpt2";
  auto ref = st::File::open(dir + "/expected.safetensors");
  auto ids = expectedIds(*ref);
  std::string tokens;
  for (size_t i = 0; i < ids.size(); ++i) tokens += (i ? "," : "") + std::to_string(ids[i]);
  const std::string out = test::tempDir() + "/run.safetensors";
  auto p = test::runProcess({cli, "run", "--model", dir, "--tokens", tokens, "--out", out, "--quiet"}, 60);
  ZS_CHECK_MSG(!p.timedOut && !p.crashed, p.err);
  ZS_CHECK_MSG(p.code == 0, p.err);
  auto got = st::File::open(out);
  for (const auto& info : ref->tensors()) {
    const auto* g = got->find(info.name);
    ZS_CHECK_MSG(g, info.name);
    ZS_CHECK_EQ(g->shape, info.shape);
    if (info.name == "input_ids") {
      ZS_CHECK_EQ(g->dtype, st::DType::I64);
      ZS_CHECK(torch::equal(loadTensorRaw(*got, info.name), loadTensorRaw(*ref, info.name)));
      continue;
    }
    ZS_CHECK_EQ(g->dtype, st::DType::F32);
    double e = relErr(loadTensor(*got, info.name), loadTensor(*ref, info.name));
    ZS_CHECK_MSG(e <= 1e-4, (info.name + " relative error " + std::to_string(e)));
  }
}

ZS_TEST(promptWithBosAndErrors) {
  ZS_REQUIRE_SHARED(shared);
  ZS_REQUIRE_CLI(cli);
  const std::string dir = shared + "/testdata/tiny-gpt2";
  const std::string out = test::tempDir() + "/p.safetensors";
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.begin(), cli);
    auto p = test::runProcess(args, 60);
    return std::make_pair(p.code, p.err);
  };
  // BOS prepended by default: 1 + 25 tokens; the rest equal the reference prompt's ids.
  auto ok = run({"run", "--model", dir, "--prompt", "When Mary and John went to the store, John gave a drink to",
                 "--out", out, "--hooks", "blocks.0.attn.hook_z"});
  ZS_CHECK_EQ(ok.first, 0);
  auto f = st::File::open(out);
  ZS_CHECK_EQ(f->get("input_ids").shape, (std::vector<int64_t>{1, 26}));
  ZS_CHECK_EQ(f->get("blocks.0.attn.hook_z").shape, (std::vector<int64_t>{1, 26, 4, 16}));
  ZS_CHECK(!f->find("blocks.1.attn.hook_z"));
  ZS_CHECK_EQ(loadTensorRaw(*f, "input_ids")[0][0].item<int64_t>(), 376);
  // Too long a prompt: clear message, exit 3; --truncate keeps the context.
  std::string longText;
  for (int i = 0; i < 100; ++i) longText += "Mary ";
  auto tooLong = run({"run", "--model", dir, "--prompt", longText, "--out", out});
  ZS_CHECK_EQ(tooLong.first, 3);
  ZS_CHECK_MSG(tooLong.second.find("exceed") != std::string::npos, tooLong.second);
  ZS_CHECK_EQ(run({"run", "--model", dir, "--prompt", longText, "--out", out, "--truncate"}).first, 0);
  ZS_CHECK_EQ(st::File::open(out)->get("input_ids").shape, (std::vector<int64_t>{1, 64}));
  // Bad ids, missing folder, bad flags.
  ZS_CHECK_EQ(run({"run", "--model", dir, "--tokens", "1,2,999", "--out", out}).first, 3);
  ZS_CHECK_EQ(run({"run", "--model", dir, "--tokens", "1,x", "--out", out}).first, 2);
  ZS_CHECK_EQ(run({"run", "--model", "/nonexistent", "--tokens", "1", "--out", out}).first, 3);
  ZS_CHECK_EQ(run({"run", "--model", dir, "--out", out}).first, 2);
  ZS_CHECK_EQ(run({"run", "--model", dir, "--tokens", "1", "--out", out, "--device", "tpu"}).first, 2);
}

ZS_TEST(interventionsOnHookZ) {
  ZS_REQUIRE_SHARED(shared);
  auto model = Gpt2::loadDir(shared + "/testdata/tiny-gpt2");
  torch::InferenceMode g;
  auto ids = torch::tensor(std::vector<int64_t>{376, 54, 318, 306, 275}).unsqueeze(0);
  ForwardOptions cap;
  cap.capture = Capture({"blocks.*.attn.hook_z", "blocks.0.hook_attn_out"});
  auto clean = model->forward(ids, cap);
  // Replacing z by itself changes nothing.
  ForwardOptions same = cap;
  same.zHooks[0] = [](int64_t, const torch::Tensor& z) { return z.clone(); };
  ZS_CHECK(torch::allclose(model->forward(ids, same).logits, clean.logits));
  // Zero ablation: attn_out of layer 0 becomes its bias b_O.
  ForwardOptions zero = cap;
  zero.zHooks[0] = [](int64_t, const torch::Tensor& z) { return torch::zeros_like(z); };
  auto ab = model->forward(ids, zero);
  auto expectOut = model->b_O(0).expand({1, 5, 64});
  ZS_CHECK(torch::allclose(ab.cache.at("blocks.0.hook_attn_out"), expectOut, 1e-6, 1e-6));
  ZS_CHECK(!torch::allclose(ab.logits, clean.logits));
  // Patching from another run: z of run B in run A's forward.
  auto idsB = torch::tensor(std::vector<int64_t>{376, 70, 64, 281, 260}).unsqueeze(0);
  auto runB = model->forward(idsB, cap);
  ForwardOptions patch = cap;
  torch::Tensor zB = runB.cache.at("blocks.1.attn.hook_z");
  patch.zHooks[1] = [zB](int64_t, const torch::Tensor&) { return zB; };
  auto patched = model->forward(ids, patch);
  ZS_CHECK(torch::allclose(patched.cache.at("blocks.1.attn.hook_z"), zB));
  // A wrong-shaped replacement is refused, not silently used.
  ForwardOptions bad = cap;
  bad.zHooks[0] = [](int64_t, const torch::Tensor& z) { return z.narrow(1, 0, 1); };
  ZS_CHECK_THROWS(model->forward(ids, bad), std::runtime_error);
  // Stopping after hook_z of layer 0 returns no logits.
  ForwardOptions stop;
  stop.capture = Capture({"blocks.0.attn.hook_z"});
  stop.stopAfterZOfLayer = 0;
  auto s = model->forward(ids, stop);
  ZS_CHECK(!s.logits.defined());
  ZS_CHECK(torch::allclose(s.cache.at("blocks.0.attn.hook_z"), clean.cache.at("blocks.0.attn.hook_z")));
}

ZS_TEST(loaderVariants) {
  ZS_REQUIRE_SHARED(shared);
  // Names without "transformer.", a separate lm_head, F16/BF16 weights,
  // attn.bias buffers: all load; the logits match the reference weights.
  auto ref = Gpt2::loadDir(shared + "/testdata/tiny-gpt2");
  auto ids = torch::tensor(std::vector<int64_t>{376, 54, 318}).unsqueeze(0);
  torch::Tensor refLogits;
  {
    torch::InferenceMode g;
    refLogits = ref->forward(ids).logits;
  }
  for (auto dtype : {torch::kFloat32, torch::kFloat16, torch::kBFloat16}) {
    std::string dir = test::tempDir() + "/variant" + std::to_string(static_cast<int>(dtype));
    std::filesystem::create_directories(dir);
    std::filesystem::copy_file(shared + "/testdata/tiny-gpt2/config.json", dir + "/config.json",
                               std::filesystem::copy_options::overwrite_existing);
    std::vector<std::pair<std::string, torch::Tensor>> ts;
    for (auto& [name, t] : ref->namedParameters()) ts.emplace_back(name.substr(12), t.to(dtype));  // drop "transformer."
    ts.emplace_back("lm_head.weight", ref->W_E().to(dtype));
    ts.emplace_back("h.0.attn.bias", torch::ones({1, 1, 64, 64}));
    ts.emplace_back("h.0.attn.masked_bias", torch::tensor(-1e4));
    saveTensors(dir + "/model.safetensors", ts);
    auto m = Gpt2::loadDir(dir);
    torch::InferenceMode g;
    double tol = dtype == torch::kFloat32 ? 1e-6 : 0.05;
    ZS_CHECK(relErr(m->forward(ids).logits, refLogits) < tol);
  }
}

ZS_TEST(badCheckpoints) {
  ZS_REQUIRE_SHARED(shared);
  auto ref = Gpt2::loadDir(shared + "/testdata/tiny-gpt2");
  const std::string cfgText = ref->config().toJsonText();
  auto make = [&](const std::string& name, const std::string& cfg,
                  std::function<void(std::vector<std::pair<std::string, torch::Tensor>>&)> edit) {
    std::string dir = test::tempDir() + "/bad-" + name;
    std::filesystem::create_directories(dir);
    { std::ofstream(dir + "/config.json") << cfg; }
    auto ts = ref->namedParameters();
    edit(ts);
    saveTensors(dir + "/model.safetensors", ts);
    return dir;
  };
  auto noop = [](auto&) {};
  auto expectInputError = [](const std::string& dir, const char* needle) {
    try {
      Gpt2::loadDir(dir);
      ZS_FAIL(("loaded a bad checkpoint: " + dir));
    } catch (const InputError& e) {
      ZS_CHECK_MSG(std::string(e.what()).find(needle) != std::string::npos, e.what());
    }
  };
  expectInputError(make("missing", cfgText, [](auto& ts) { ts.erase(ts.begin() + 5); }), "no tensor named");
  expectInputError(make("shape", cfgText, [](auto& ts) { ts[0].second = torch::zeros({10, 64}); }), "wte.weight");
  std::string badCfg = cfgText;
  badCfg.replace(badCfg.find("\"n_head\": 4"), 11, "\"n_head\": 5");
  expectInputError(make("heads", badCfg, noop), "divisible");
  expectInputError(make("notjson", "{ not json", noop), "JSON");
  std::string negCfg = cfgText;
  negCfg.replace(negCfg.find("\"n_layer\": 2"), 12, "\"n_layer\": -1");
  expectInputError(make("neg", negCfg, noop), "n_layer");
  std::string strCfg = cfgText;
  strCfg.replace(strCfg.find("\"vocab_size\": 377"), 17, "\"vocab_size\": \"x\"");
  expectInputError(make("str", strCfg, noop), "vocab_size");
  std::string moreLayers = cfgText;
  moreLayers.replace(moreLayers.find("\"n_layer\": 2"), 12, "\"n_layer\": 3");
  expectInputError(make("layers", moreLayers, noop), "h.2");
  expectInputError(test::tempDir() + "/does-not-exist", "does not exist");
}
