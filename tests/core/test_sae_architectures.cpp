// SAE architectures (standard, gated, jumprelu, topk; batchtopk as jumprelu)
// against SAELens's own numbers in ../shared/testdata/saes, both cfg layouts,
// Gemma Scope params.npz folders, and the refusals (exit 3, one line).
#include <torch/torch.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/attribution/attribution.h"
#include "core/base/error.h"
#include "core/model/gpt2.h"
#include "core/io/npy.h"
#include "core/io/safetensors.h"
#include "core/sae/sae.h"
#include "core/train/sae_train.h"
#include "core/io/tensor_io.h"
#include "tests/core/cli_inprocess.h"
#include "tests/support/check.h"

using namespace zs;
namespace fs = std::filesystem;

namespace {

double childrenSum(const AttrNode& node) {
  double s = 0;
  for (const auto& c : node.children) s += c.value;
  return s;
}


const char* kArchs[] = {"standard", "gated", "jumprelu", "topk"};

std::string fixture(const std::string& shared, const std::string& arch) {
  return shared + "/testdata/saes/tiny-gpt2-" + arch + "-L1";
}

torch::Tensor expected(const std::string& dir, const std::string& key) {
  auto f = st::File::open(dir + "/expected.safetensors");
  return loadTensorRaw(*f, key);
}

double maxDiff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kDouble).reshape(-1) - b.to(torch::kDouble).reshape(-1)).abs().max().item<double>();
}

void writeFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

// Checks an SAE's forward pass against a fixture's expected activations.
void checkForward(const Sae& s, const std::string& dir, double tol = 1e-4) {
  auto x = expected(dir, "sae_in");
  SaeForward f = s.forward(x);
  std::printf("%s: max |diff| pre %.2e, acts %.2e, recons %.2e\n", dir.c_str(), maxDiff(f.target, expected(dir, "pre_acts")),
              maxDiff(f.actsPost, expected(dir, "feature_acts")), maxDiff(f.output, expected(dir, "sae_out")));
  ZS_CHECK_MSG(maxDiff(f.target, expected(dir, "pre_acts")) <= tol, dir + " pre_acts");
  ZS_CHECK_MSG(maxDiff(f.actsPost, expected(dir, "feature_acts")) <= tol, dir + " feature_acts");
  ZS_CHECK_MSG(maxDiff(f.output, expected(dir, "sae_out")) <= tol, dir + " sae_out");
  ZS_CHECK(maxDiff(s.encode(x), expected(dir, "feature_acts")) <= tol);
  ZS_CHECK(maxDiff(s.reconstruct(x), expected(dir, "sae_out")) <= tol);
  ZS_CHECK(maxDiff(s.decode(f.actsPost), f.recons) <= 1e-6);
}

std::string npyOf(const torch::Tensor& t) {
  torch::Tensor c = t.to(torch::kFloat32).contiguous();
  return npy::toNpyBytes(c.sizes().vec(), c.data_ptr<float>());
}

// A Gemma Scope style archive from the jumprelu fixture: apply_b_dec_to_input is
// false there, so b_enc absorbs -b_dec W_enc (same numbers).
void writeGemmaScope(const std::string& shared, const std::string& path, bool compress,
                     torch::Tensor threshold = {}) {
  auto s = Sae::loadDir(fixture(shared, "jumprelu"));
  torch::Tensor benc = s->b_enc - torch::matmul(s->b_dec, s->W_enc);
  fs::create_directories(fs::path(path).parent_path());
  npy::writeNpz(path,
                {{"W_enc", npyOf(s->W_enc)},
                 {"W_dec", npyOf(s->W_dec)},
                 {"b_enc", npyOf(benc)},
                 {"b_dec", npyOf(s->b_dec)},
                 {"threshold", npyOf(threshold.defined() ? threshold : s->threshold)}},
                compress);
}

// Runs the CLI, expecting exit 3 and a one-line message containing `needle` on stderr.
void expectExit3(std::vector<std::string> args, const std::string& needle) {
  std::ostringstream err;
  std::streambuf* old = std::cerr.rdbuf(err.rdbuf());
  int rc = test::runCli(args);
  std::cerr.rdbuf(old);
  std::string e = err.str();
  ZS_CHECK_MSG(rc == 3, "exit " + std::to_string(rc) + ": " + e);
  ZS_CHECK_MSG(e.find(needle) != std::string::npos, e);
  while (!e.empty() && e.back() == '\n') e.pop_back();
  ZS_CHECK_MSG(e.find('\n') == std::string::npos, "more than one line: " + e);
}

}  // namespace

ZS_TEST(eachArchitectureMatchesSaeLens) {
  ZS_REQUIRE_SHARED(shared);
  for (const char* a : kArchs) {
    auto s = Sae::loadDir(fixture(shared, a));
    ZS_CHECK_EQ(s->cfg.architecture, std::string(a));
    ZS_CHECK_EQ(s->cfg.layout, std::string("saelens6"));
    ZS_CHECK_EQ(s->cfg.hook_name, std::string("blocks.1.attn.hook_z"));
    ZS_CHECK_EQ(s->cfg.hook_layer, 1);
    checkForward(*s, fixture(shared, a));
  }
  auto t = Sae::loadDir(fixture(shared, "topk"));
  ZS_CHECK_EQ(t->cfg.k, 12);
  ZS_CHECK(t->cfg.rescale_acts_by_decoder_norm);
  // sparsity.safetensors, when present.
  auto st = Sae::loadDir(fixture(shared, "standard"));
  ZS_CHECK(st->sparsity.defined() && st->sparsity.size(0) == 256);
}

ZS_TEST(dfaTablesMatchFixtures) {
  ZS_REQUIRE_SHARED(shared);
  auto model = Gpt2::loadDir(shared + "/testdata/tiny-gpt2");
  for (const char* a : kArchs) {
    const std::string dir = fixture(shared, a);
    auto s = Sae::loadDir(dir);
    auto ids = expected(dir, "input_ids");
    std::vector<int64_t> tokens(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + ids.numel());
    Attribution at(*model, {s.get()}, tokens);
    const int g = static_cast<int>(expected(dir, "dfa_feature").item<int64_t>());
    const int pos = static_cast<int>(expected(dir, "dfa_pos").item<int64_t>());
    Dfa d = at.dfa(1, g, pos);
    auto want = expected(dir, "dfa").to(torch::kDouble);  // [n, H]
    double err = 0;
    for (const auto& t : d.terms) err = std::max(err, std::fabs(t.value - want[t.pos][t.head].item<double>()));
    std::printf("%s: DFA max |diff| %.2e (bias %.2e, pre %.2e)\n", a, err,
                std::fabs(d.bias - expected(dir, "dfa_bias").item<double>()),
                std::fabs(d.preActivation - expected(dir, "dfa_pre").item<double>()));
    ZS_CHECK_MSG(err <= 1e-4, std::string(a) + " dfa terms off by " + std::to_string(err));
    ZS_CHECK_NEAR(d.bias, expected(dir, "dfa_bias").item<double>(), 1e-4);
    ZS_CHECK_NEAR(d.preActivation, expected(dir, "dfa_pre").item<double>(), 1e-4);
    ZS_CHECK_NEAR(d.activation, expected(dir, "dfa_act").item<double>(), 1e-4);
    auto ha = at.headAttribution(1, g);
    auto wantHa = expected(dir, "head_attribution");
    for (int h = 0; h < 4; ++h) ZS_CHECK_NEAR(ha[h], wantHa[h].item<double>(), 1e-5);
    // The activations the explorer shows are the architecture's real ones.
    auto acts = at.activations(1);
    auto wantActs = expected(dir, "feature_acts");
    ZS_CHECK(maxDiff(torch::from_blob(acts.data(), {static_cast<int64_t>(acts.size())}), wantActs) <= 1e-4);
    // RDFA: the root's children sum to its value; active features are the real ones.
    AttrNode root = at.root(1, g, pos);
    at.expand(root, 0);
    double childSum = 0;
    for (const auto& c : root.children) childSum += c.value;
    ZS_CHECK(!root.children.empty());
    ZS_CHECK_NEAR(childSum, root.value, 1e-6);
    ZS_CHECK_NEAR(root.activation, expected(dir, "dfa_act").item<double>(), 1e-4);
    for (const auto& f : at.activeFeatures(pos))
      ZS_CHECK(wantActs[pos][f.feature].item<float>() > 0);
    if (std::string(a) == "gated") {
      Dfa gd = at.gateDfa(1, g, pos);
      auto wantG = expected(dir, "dfa_gate").to(torch::kDouble);
      double e2 = 0;
      for (const auto& t : gd.terms) e2 = std::max(e2, std::fabs(t.value - wantG[t.pos][t.head].item<double>()));
      ZS_CHECK_MSG(e2 <= 1e-4, "gate dfa off by " + std::to_string(e2));
      ZS_CHECK_NEAR(gd.bias, expected(dir, "dfa_gate_bias").item<double>(), 1e-4);
    } else {
      ZS_CHECK_THROWS(at.gateDfa(1, g, pos), InputError);
    }
  }
}

ZS_TEST(bothCfgLayoutsRoundTrip) {
  ZS_REQUIRE_SHARED(shared);
  for (const char* a : kArchs) {
    auto s = Sae::loadDir(fixture(shared, a));
    for (const char* layout : {"legacy", "saelens6"}) {
      s->cfg.layout = layout;
      const std::string out = test::tempDir() + "/rt-" + a + "-" + layout;
      s->saveDir(out);
      auto j = nlohmann::json::parse(std::ifstream(out + "/cfg.json"));
      if (std::string(layout) == "legacy") {
        ZS_CHECK(j.contains("hook_name") && j.contains("activation_fn_str") && !j.contains("metadata"));
      } else {
        ZS_CHECK(j.contains("metadata") && j["metadata"].contains("hook_name"));
        ZS_CHECK_EQ(j["architecture"].get<std::string>(), std::string(a));
        // Unknown metadata keys survive.
        ZS_CHECK_EQ(j["metadata"]["dataset_path"].get<std::string>(), std::string("Skylion007/openwebtext"));
      }
      auto r = Sae::loadDir(out);
      ZS_CHECK_EQ(r->cfg.architecture, std::string(a));
      ZS_CHECK_EQ(r->cfg.layout, std::string(layout));
      ZS_CHECK_EQ(r->cfg.k, s->cfg.k);
      ZS_CHECK_EQ(r->cfg.rescale_acts_by_decoder_norm, s->cfg.rescale_acts_by_decoder_norm);
      ZS_CHECK_EQ(r->fingerprint(), s->fingerprint());
      checkForward(*r, fixture(shared, a));
    }
  }
}

ZS_TEST(normalisationModes) {
  // constant_norm_rescale and layer_norm: decode(encode) undoes the input scaling;
  // a folded activation_scaler.json gives the same numbers as scaling by hand.
  SaeConfig c;
  c.d_in = 8;
  c.d_sae = 16;
  c.hook_name = "blocks.0.attn.hook_z";
  auto s = Sae::init(c, 5);
  s->b_enc = torch::randn({16}) * 0.1;
  s->b_dec = torch::randn({8}) * 0.1;
  auto x = torch::randn({6, 8}) * 3;
  for (const char* n : {"constant_norm_rescale", "layer_norm"}) {
    s->cfg.normalize_activations = n;
    torch::Tensor scale, shift;
    s->normalisation(x, scale, shift);
    auto xn = (x - shift) * scale;
    auto f = s->encode(x);
    ZS_CHECK(maxDiff(f, torch::relu(torch::matmul(xn - s->b_dec, s->W_enc) + s->b_enc)) < 1e-5);
    auto fw = s->forward(x);
    ZS_CHECK(maxDiff(fw.recons, torch::matmul(f, s->W_dec) + s->b_dec) < 1e-5);
    if (std::string(n) == "constant_norm_rescale") {
      ZS_CHECK(maxDiff(xn.norm(2, {1}), torch::full({6}, std::sqrt(8.0))) < 1e-4);
      ZS_CHECK(maxDiff(fw.output, fw.recons / scale) < 1e-5);
    }
    s->cfg.layout = "saelens6";
    const std::string dir = test::tempDir() + std::string("/norm-") + n;
    s->saveDir(dir);
    auto back = Sae::loadDir(dir);
    ZS_CHECK_EQ(back->cfg.normalize_activations, std::string(n));
  }
  // expected_average_only_in + activation_scaler.json: folded on load.
  s->cfg.normalize_activations = "expected_average_only_in";
  const std::string dir = test::tempDir() + "/scaler";
  s->saveDir(dir);
  writeFile(dir + "/activation_scaler.json", R"({"scaling_factor": 2.5})");
  auto r = Sae::loadDir(dir);
  auto want = torch::relu(torch::matmul(x * 2.5 - s->b_dec, s->W_enc) + s->b_enc);
  ZS_CHECK(maxDiff(r->encode(x), want) < 1e-4);
  ZS_CHECK(maxDiff(r->reconstruct(x), (torch::matmul(want, s->W_dec) + s->b_dec) / 2.5) < 1e-4);
  fs::remove(dir + "/activation_scaler.json");
  ZS_CHECK(maxDiff(Sae::loadDir(dir)->encode(x), torch::relu(torch::matmul(x - s->b_dec, s->W_enc) + s->b_enc)) < 1e-5);
}

ZS_TEST(legacyTopkAndBatchTopk) {
  ZS_REQUIRE_SHARED(shared);
  // Legacy flat layout: activation_fn_str "topk" with activation_fn_kwargs.k.
  const std::string src = fixture(shared, "topk");
  const std::string dir = test::tempDir() + "/legacy-topk";
  fs::create_directories(dir);
  fs::copy_file(src + "/sae_weights.safetensors", dir + "/sae_weights.safetensors");
  writeFile(dir + "/cfg.json", R"({"architecture": "standard", "hook_name": "blocks.1.attn.hook_z", "hook_layer": 1,
    "d_in": 64, "d_sae": 256, "activation_fn_str": "topk", "activation_fn_kwargs": {"k": 12},
    "rescale_acts_by_decoder_norm": true, "apply_b_dec_to_input": true, "normalize_activations": "none",
    "some_future_key": [1, 2]})");
  auto s = Sae::loadDir(dir);
  ZS_CHECK_EQ(s->cfg.architecture, std::string("topk"));
  ZS_CHECK_EQ(s->cfg.k, 12);
  checkForward(*s, src);
  // BatchTopK as SAELens saves it for inference: jumprelu with one threshold.
  auto j = Sae::loadDir(fixture(shared, "jumprelu"));
  const std::string bt = test::tempDir() + "/batchtopk";
  j->threshold = torch::full({256}, 0.3f);
  j->saveDir(bt);
  auto b = Sae::loadDir(bt);
  ZS_CHECK_EQ(b->cfg.architecture, std::string("jumprelu"));
  auto x = expected(fixture(shared, "jumprelu"), "sae_in");
  auto pre = b->preActivations(x);
  ZS_CHECK(maxDiff(b->encode(x), torch::relu(pre) * (pre > 0.3f).to(torch::kFloat)) == 0);
}

ZS_TEST(gemmaScopeFolder) {
  ZS_REQUIRE_SHARED(shared);
  const std::string want = fixture(shared, "jumprelu");
  for (bool compress : {false, true}) {
    const std::string root = test::tempDir() + (compress ? "/gz" : "/st");
    const std::string path = root + "/gemma-scope-2b-pt-att/layer_1/width_256/average_l0_14/params.npz";
    writeGemmaScope(shared, path, compress);
    // The archive, or the folder holding it.
    for (const std::string& p : {path, fs::path(path).parent_path().string()}) {
      auto s = Sae::loadDir(p);
      ZS_CHECK_EQ(s->cfg.hook_name, std::string("blocks.1.attn.hook_z"));
      ZS_CHECK_EQ(s->cfg.hook_layer, 1);
      ZS_CHECK_EQ(s->cfg.architecture, std::string("jumprelu"));
      ZS_CHECK(!s->cfg.apply_b_dec_to_input);
      checkForward(*s, want);
    }
    // It saves as a SAELens folder that loads back to the same numbers.
    auto s = Sae::loadDir(path);
    s->saveDir(root + "/as-saelens");
    checkForward(*Sae::loadDir(root + "/as-saelens"), want);
  }
  // An explicit hook for a path that does not name one.
  const std::string plain = test::tempDir() + "/plain/params.npz";
  writeGemmaScope(shared, plain, false);
  ZS_CHECK_THROWS(Sae::loadDir(plain), InputError);
  auto withHook = Sae::loadDir(plain, torch::kCPU, "blocks.1.attn.hook_z");
  ZS_CHECK_EQ(withHook->cfg.hook_layer, 1);
}

ZS_TEST(npyReaderIsDefensive) {
  // Round trip, Fortran order, dtype and header errors, truncation and corruption.
  float v[6] = {1, 2, 3, 4, 5, 6};
  std::string b = npy::toNpyBytes({2, 3}, v);
  npy::Array a = npy::parse(b, "x");
  ZS_CHECK_EQ(a.shape, (std::vector<int64_t>{2, 3}));
  ZS_CHECK_EQ(a.toFloat32("x"), std::vector<float>(v, v + 6));
  std::string f = b;
  size_t at = f.find("False");
  f.replace(at, 5, "True ");
  auto fa = npy::parse(f, "x").toFloat32("x");  // column-major [2,3]: (0,0)=1 (1,0)=2 (0,1)=3 ...
  ZS_CHECK_EQ(fa, (std::vector<float>{1, 3, 5, 2, 4, 6}));
  ZS_CHECK_THROWS(npy::parse(b.substr(0, b.size() - 1), "x"), InputError);
  ZS_CHECK_THROWS(npy::parse("\x93NUMPY", "x"), InputError);
  ZS_CHECK_THROWS(npy::parse("not numpy at all", "x"), InputError);
  std::string o = b;
  o.replace(o.find("<f4"), 3, "|O ");
  ZS_CHECK_THROWS(npy::parse(o, "x"), InputError);
  const std::string dir = test::tempDir();
  for (bool compress : {false, true}) {
    const std::string p = dir + "/a.npz";
    npy::writeNpz(p, {{"a", b}, {"b", b}}, compress);
    auto m = npy::readNpz(p);
    ZS_CHECK_EQ(m.size(), size_t{2});
    ZS_CHECK_EQ(m.at("b").toFloat32("b"), std::vector<float>(v, v + 6));
    std::string bytes;
    {
      std::ifstream in(p, std::ios::binary);
      bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    // Every truncation is refused with an InputError, never a crash.
    for (size_t n = 0; n < bytes.size(); n += 7) {
      writeFile(dir + "/t.npz", bytes.substr(0, n));
      ZS_CHECK_THROWS(npy::readNpz(dir + "/t.npz"), InputError);
    }
    // A flipped data byte: CRC (or inflate) catches it.
    std::string bad = bytes;
    bad[60] = static_cast<char>(bad[60] ^ 0x5a);
    writeFile(dir + "/c.npz", bad);
    ZS_CHECK_THROWS(npy::readNpz(dir + "/c.npz"), InputError);
  }
  ZS_CHECK_THROWS(npy::readNpz(dir + "/missing.npz"), InputError);
}

ZS_TEST(refusalsExit3WithOneLine) {
  ZS_REQUIRE_SHARED(shared);
  const std::string model = shared + "/testdata/tiny-gpt2";
  const std::string out = test::tempDir() + "/run.safetensors";
  auto runWith = [&](const std::string& sae) {
    return std::vector<std::string>{"run", "--model", model, "--tokens", "1,2,3", "--sae", sae, "--out", out};
  };
  // Truncated .npz.
  const std::string root = test::tempDir() + "/refuse/gemma-scope-2b-pt-att/layer_1/width_256/x";
  writeGemmaScope(shared, root + "/params.npz", false);
  std::string bytes;
  {
    std::ifstream in(root + "/params.npz", std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  const std::string trunc = test::tempDir() + "/trunc/gemma-scope-2b-pt-att/layer_1/params.npz";
  fs::create_directories(fs::path(trunc).parent_path());
  writeFile(trunc, bytes.substr(0, bytes.size() / 2));
  expectExit3(runWith(trunc), "truncated");
  // Wrong-shape threshold.
  const std::string wrong = test::tempDir() + "/wrong/gemma-scope-2b-pt-att/layer_1/params.npz";
  writeGemmaScope(shared, wrong, false, torch::zeros({255}));
  expectExit3(runWith(wrong), "threshold");
  // k > d_sae.
  const std::string kdir = test::tempDir() + "/bigk";
  auto t = Sae::loadDir(fixture(shared, "topk"));
  t->saveDir(kdir);
  auto j = nlohmann::json::parse(std::ifstream(kdir + "/cfg.json"));
  j["k"] = 300;
  writeFile(kdir + "/cfg.json", j.dump());
  expectExit3(runWith(kdir), "k = 300");
  // Unsupported architecture / normalisation: one line naming it.
  j["k"] = 12;
  j["architecture"] = "matryoshka";
  writeFile(kdir + "/cfg.json", j.dump());
  expectExit3(runWith(kdir), "matryoshka");
  j["architecture"] = "topk";
  j["normalize_activations"] = "whitening";
  writeFile(kdir + "/cfg.json", j.dump());
  expectExit3(runWith(kdir), "whitening");
}

ZS_TEST(runWritesSaeLensHookNames) {
  ZS_REQUIRE_SHARED(shared);
  const std::string dir = fixture(shared, "gated");
  auto ids = expected(dir, "input_ids");
  std::string tok;
  for (int64_t i = 0; i < ids.numel(); ++i) tok += (i ? "," : "") + std::to_string(ids[i].item<int64_t>());
  const std::string out = test::tempDir() + "/run-sae.safetensors";
  ZS_CHECK_EQ(test::runCli({"run", "--model", shared + "/testdata/tiny-gpt2", "--tokens", tok, "--no-bos", "--sae",
                            dir, "--out", out}),
              0);
  auto f = st::File::open(out);
  const std::string h = "blocks.1.attn.hook_z";
  const int64_t n = ids.numel();
  ZS_CHECK_EQ(f->get(h + ".hook_sae_input").shape, (std::vector<int64_t>{1, n, 64}));
  ZS_CHECK_EQ(f->get(h + ".hook_sae_acts_pre").shape, (std::vector<int64_t>{1, n, 256}));
  ZS_CHECK_EQ(f->get(h + ".hook_sae_acts_post").shape, (std::vector<int64_t>{1, n, 256}));
  ZS_CHECK_EQ(f->get(h + ".hook_sae_recons").shape, (std::vector<int64_t>{1, n, 64}));
  ZS_CHECK_EQ(f->get(h + ".hook_sae_output").shape, (std::vector<int64_t>{1, n, 4, 16}));
  ZS_CHECK_EQ(f->get(h + ".hook_sae_error").shape, (std::vector<int64_t>{1, n, 4, 16}));
  ZS_CHECK(maxDiff(loadTensor(*f, h + ".hook_sae_input"), expected(dir, "sae_in")) <= 1e-4);
  ZS_CHECK(maxDiff(loadTensor(*f, h + ".hook_sae_acts_pre"), expected(dir, "pre_acts")) <= 1e-4);
  ZS_CHECK(maxDiff(loadTensor(*f, h + ".hook_sae_acts_post"), expected(dir, "feature_acts")) <= 1e-4);
  ZS_CHECK(maxDiff(loadTensor(*f, h + ".hook_sae_output"), expected(dir, "sae_out")) <= 1e-4);
  auto err = loadTensor(*f, h + ".hook_sae_error") + loadTensor(*f, h + ".hook_sae_output");
  ZS_CHECK(maxDiff(err, loadTensor(*f, h)) <= 1e-5);
}

// ---- Training the sparse architectures -------------------------------------

namespace {

// x = sum of `active` planted unit directions with magnitudes in [lo, hi].
torch::Tensor plantedBatch(const torch::Tensor& dirs, int64_t B, int64_t active, double lo, double hi) {
  const int64_t n = dirs.size(0);
  auto pick = std::get<1>(torch::rand({B, n}).sort(1)).slice(1, 0, active);
  auto mags = torch::rand({B, active}) * (hi - lo) + lo;
  auto coeff = torch::zeros({B, n}).scatter_(1, pick, mags);
  return coeff.mm(dirs);
}

torch::Tensor plantedDirs(int64_t n, int64_t d) {
  auto dirs = torch::randn({n, d});
  return dirs / dirs.norm(2, {1}, true);
}

std::unique_ptr<Sae> smallSae(int64_t d, int64_t m, const std::string& arch, uint64_t seed) {
  SaeConfig c;
  c.d_in = d;
  c.d_sae = m;
  c.hook_name = "blocks.0.attn.hook_z";
  c.hook_layer = 0;
  c.architecture = arch;
  c.k = 3;
  return Sae::init(c, seed);
}

}  // namespace

ZS_TEST(topkTrainingRecoversPlantedDirectionsWithNoDeadLatents) {
  // 24 planted directions in 32 dimensions, 3 active per sample; a TopK SAE with
  // 24 latents and k = 3 should find every direction, and AuxK keeps every latent alive.
  torch::manual_seed(0);
  const int64_t d = 32, n = 24;
  auto dirs = plantedDirs(n, d);
  auto sae = smallSae(d, n, "topk", 1);
  SaeTrainOptions o;
  o.architecture = "topk";
  o.k = 3;
  o.lr = 1e-2;
  o.warmupSteps = 20;
  o.totalSteps = 3000;
  o.decayFraction = 0.2;
  o.deadSteps = 20;
  o.auxkCoeff = 1.0;  // SAELens's default (Gao et al. use 1/32): revives faster on a run this short
  SaeTrainer tr(*sae, o);
  SaeStepStats last;
  for (int64_t i = 0; i < o.totalSteps; ++i) last = tr.step(plantedBatch(dirs, 256, 3, 1.0, 2.0));
  tr.syncToSae(*sae);
  ZS_CHECK_EQ(sae->cfg.architecture, std::string("topk"));
  ZS_CHECK_EQ(sae->cfg.k, 3);
  // Each planted direction has a decoder row pointing along it.
  auto cos = dirs.mm(sae->W_dec.t() / sae->W_dec.norm(2, {1}).unsqueeze(0));  // [n, m]
  auto best = std::get<0>(cos.max(1));
  const int64_t recovered = (best > 0.9).sum().item<int64_t>();
  // No dead latents: every latent fires on fresh data.
  auto f = sae->encode(plantedBatch(dirs, 4096, 3, 1.0, 2.0));
  const int64_t dead = ((f > 0).sum(0) == 0).sum().item<int64_t>();
  std::printf("topk planted: %lld of %lld directions at cos > 0.9 (min %.3f), %lld dead latents, EV %.3f\n",
              static_cast<long long>(recovered), static_cast<long long>(n), best.min().item<double>(),
              static_cast<long long>(dead), last.explained_variance);
  ZS_CHECK_MSG(recovered >= n - 3, "recovered " + std::to_string(recovered) + " of " + std::to_string(n));
  ZS_CHECK_EQ(dead, int64_t{0});
  ZS_CHECK(last.explained_variance > 0.9);
  // It saves as a SAELens topk folder.
  const std::string dir = test::tempDir() + "/trained-topk";
  sae->saveDir(dir);
  auto r = Sae::loadDir(dir);
  ZS_CHECK_EQ(r->cfg.architecture, std::string("topk"));
  ZS_CHECK(maxDiff(r->encode(dirs), sae->encode(dirs)) < 1e-6);
}

ZS_TEST(batchTopkSavesAsJumpReluWithOneThreshold) {
  torch::manual_seed(1);
  const int64_t d = 16, n = 24;
  auto dirs = plantedDirs(n, d);
  auto sae = smallSae(d, n, "standard", 2);
  SaeTrainOptions o;
  o.architecture = "batchtopk";
  o.k = 3;
  o.lr = 1e-2;
  o.warmupSteps = 0;
  o.totalSteps = 300;
  o.deadSteps = 20;
  SaeTrainer tr(*sae, o);
  SaeStepStats s;
  for (int64_t i = 0; i < o.totalSteps; ++i) s = tr.step(plantedBatch(dirs, 256, 3, 1.0, 2.0));
  ZS_CHECK_NEAR(s.l0, 3.0, 1e-9);  // k per token on average over the batch
  ZS_CHECK(tr.batchThreshold > 0);
  tr.syncToSae(*sae);
  const std::string dir = test::tempDir() + "/trained-batchtopk";
  sae->saveDir(dir);
  auto r = Sae::loadDir(dir);
  ZS_CHECK_EQ(r->cfg.architecture, std::string("jumprelu"));
  ZS_CHECK(r->threshold.min().item<double>() == r->threshold.max().item<double>());
  ZS_CHECK_NEAR(r->threshold[0].item<double>(), tr.batchThreshold, 1e-6);
  // At inference the shared threshold gives about k active features per token.
  auto f = r->encode(plantedBatch(dirs, 2048, 3, 1.0, 2.0));
  const double l0 = (f > 0).sum(1).to(torch::kDouble).mean().item<double>();
  ZS_CHECK_MSG(l0 > 2 && l0 < 4.5, "inference L0 " + std::to_string(l0));
}

ZS_TEST(jumpReluThresholdsMoveTheRightWay) {
  // Encoder = decoder^T = the planted directions, thresholds at 1 with true
  // magnitudes in [0.5, 1.5]: without a sparsity penalty the reconstruction
  // pulls the thresholds down (features just below them are needed); with a
  // strong L0 penalty they go up.
  const int64_t d = 16, n = 16;
  for (double l0 : {0.0, 5.0}) {
    torch::manual_seed(3);
    auto dirs = torch::eye(d);
    auto sae = smallSae(d, n, "jumprelu", 4);
    sae->W_dec = dirs.clone();
    sae->W_enc = dirs.t().contiguous();
    sae->threshold = torch::ones({n});
    SaeTrainOptions o;
    o.architecture = "jumprelu";
    o.l1 = l0;
    o.lr = 1e-2;
    o.warmupSteps = 0;
    o.decayFraction = 0;
    o.totalSteps = 60;
    o.bandwidth = 0.2;
    SaeTrainer tr(*sae, o);
    for (int64_t i = 0; i < o.totalSteps; ++i) tr.step(plantedBatch(dirs, 256, 4, 0.5, 1.5));
    tr.syncToSae(*sae);
    const double mean = sae->threshold.mean().item<double>();
    if (l0 == 0) ZS_CHECK_MSG(mean < 0.9, "no penalty: mean threshold " + std::to_string(mean));
    else ZS_CHECK_MSG(mean > 1.1, "L0 penalty: mean threshold " + std::to_string(mean));
    const std::string dir = test::tempDir() + "/trained-jumprelu-" + std::to_string(static_cast<int>(l0));
    sae->saveDir(dir);
    ZS_CHECK(torch::allclose(Sae::loadDir(dir)->threshold, sae->threshold));
  }
}

ZS_TEST(reluResamplesByDensityOverAWindow) {
  torch::manual_seed(5);
  const int64_t d = 16, n = 24;
  auto dirs = plantedDirs(n, d);
  auto sae = smallSae(d, n, "standard", 6);
  // Feature 0 fires rarely: a large negative bias.
  sae->b_enc[0] = -3.0;
  SaeTrainOptions o;
  o.lr = 1e-4;
  o.l1 = 0.01;
  o.warmupSteps = 0;
  SaeTrainer tr(*sae, o);
  for (int i = 0; i < 20; ++i) tr.step(plantedBatch(dirs, 256, 3, 1.0, 2.0));
  auto dens = tr.windowDensity();
  ZS_CHECK(dens[0].item<double>() < 1e-3);
  ZS_CHECK_NEAR(tr.windowTokens(), 20 * 256, 0);
  auto cand = plantedBatch(dirs, 1024, 3, 1.0, 2.0);
  // A window too short to see the density: nothing happens.
  ZS_CHECK_EQ(tr.resampleByDensity(cand, 1e-3, 1e6, 7), int64_t{0});
  const int64_t low = (dens < 1e-3).sum().item<int64_t>();
  ZS_CHECK_EQ(tr.resampleByDensity(cand, 1e-3, 1000, 7), low);
  ZS_CHECK_EQ(tr.windowTokens(), 0.0);
  ZS_CHECK(tr.benc[0].item<double>() == 0.0);  // resampled
}

// Diagnostic sweep over learning rates / sizes (runs only with ZS_EXP=1).
ZS_TEST(zzTopkSweep) {
  if (!std::getenv("ZS_EXP")) ZS_SKIP("diagnostic sweep (ZS_EXP=1)");
  struct Cfg { int64_t m; double lr; int64_t steps; double beta1; int64_t B; };
  for (Cfg c : {Cfg{24, 1e-2, 2000, 0.0, 256}, Cfg{24, 1e-2, 3000, 0.0, 256}, Cfg{24, 1e-2, 2000, 0.9, 256},
                Cfg{32, 1e-2, 2000, 0.0, 256}}) {
    for (int seed = 0; seed < 3; ++seed) {
      torch::manual_seed(seed);
      const int64_t d = 32, n = 24;
      auto dirs = plantedDirs(n, d);
      auto sae = smallSae(d, c.m, "topk", 1 + seed);
      SaeTrainOptions o;
      o.architecture = "topk";
      o.k = 3;
      o.lr = c.lr;
      o.beta1 = c.beta1;
      o.warmupSteps = 20;
      o.totalSteps = c.steps;
      o.deadSteps = 20;
      SaeTrainer tr(*sae, o);
      SaeStepStats last;
      for (int64_t i = 0; i < o.totalSteps; ++i) last = tr.step(plantedBatch(dirs, c.B, 3, 1.0, 2.0));
      tr.syncToSae(*sae);
      auto cos = dirs.mm(sae->W_dec.t() / sae->W_dec.norm(2, {1}).unsqueeze(0));
      auto best = std::get<0>(cos.max(1));
      auto f = sae->encode(plantedBatch(dirs, 4096, 3, 1.0, 2.0));
      std::printf("m %lld lr %g steps %lld b1 %g B %lld seed %d: recovered %lld min cos %.3f dead %lld ev %.3f\n",
                  (long long)c.m, c.lr, (long long)c.steps, c.beta1, (long long)c.B, seed,
                  (long long)(best > 0.95).sum().item<int64_t>(), best.min().item<double>(),
                  (long long)((f > 0).sum(0) == 0).sum().item<int64_t>(), last.explained_variance);
    }
  }
}

ZS_TEST(trainSaeRefusesAKnobItsArchitectureIgnores) {
  // --k (and the AuxK options) belong to topk/batchtopk, --l1/--l1-scale to standard, --l0 and --init-l0 to
  // jumprelu; k > d_sae and an initial L0 > d_sae are refused.
  ZS_REQUIRE_SHARED(shared);
  const std::string model = shared + "/testdata/tiny-gpt2";
  const std::string corpus = test::tempDir() + "/knobs.txt";
  writeFile(corpus, "the cat sat on the mat. the dog ran to the house.\n");
  auto rc = [&](std::vector<std::string> extra, const std::string& needle) {
    std::vector<std::string> args = {"train-sae", "--model", model, "--layer", "0", "--corpus", corpus,
                                     "--out", test::tempDir() + "/knobs-out", "--d-sae", "32", "--tokens", "64"};
    args.insert(args.end(), extra.begin(), extra.end());
    std::ostringstream err;
    std::streambuf* old = std::cerr.rdbuf(err.rdbuf());
    const int r = test::runCli(args);
    std::cerr.rdbuf(old);
    ZS_CHECK_MSG(err.str().find(needle) != std::string::npos, err.str());
    return r;
  };
  ZS_CHECK_EQ(rc({"--architecture", "standard", "--k", "8"}, "--k applies to"), 2);
  ZS_CHECK_EQ(rc({"--l1", "0.5"}, "--l1/--l1-scale apply to"), 2);  // the default is topk
  ZS_CHECK_EQ(rc({"--architecture", "batchtopk", "--l0", "2"}, "--l0 applies to"), 2);
  ZS_CHECK_EQ(rc({"--architecture", "topk", "--k", "33"}, "--k must be between 1 and d_sae = 32"), 2);
  ZS_CHECK_EQ(rc({"--architecture", "standard", "--auxk-coeff", "0.1"}, "--auxk-coeff/--auxk-k/--no-auxk-normalize apply to"), 2);
  ZS_CHECK_EQ(rc({"--architecture", "jumprelu", "--resample-topk"}, "--resample-topk applies to"), 2);
  ZS_CHECK_EQ(rc({"--init-l0", "8"}, "--init-threshold/--init-l0 apply to"), 2);  // the default is topk
  ZS_CHECK_EQ(rc({"--architecture", "jumprelu", "--init-l0", "33"}, "--init-l0 must be at most d_sae = 32"), 2);
}
