// Issue 19, hostile input that needs LibTorch: the .pt reader, model and SAE
// weights, training and evaluation options, the feature-database builder, and
// signals. Cases that could hang run under alarm().
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "core/base/error.h"
#include "core/io/pt_reader.h"
#include "core/model/load.h"
#include "core/sae/sae.h"
#include "core/train/train_model.h"
#include "tests/core/cli_inprocess.h"
#include "tests/core/sae_fixture.h"
#include "tests/support/check.h"

namespace fs = std::filesystem;
using zs::test::runCli;

namespace {

struct Alarm {
  explicit Alarm(unsigned s) { ::alarm(s); }
  ~Alarm() { ::alarm(0); }
};

std::string tmp(const std::string& name) { return (fs::path(zs::test::tempDir()) / name).string(); }

std::string dataDir() {
  const char* e = std::getenv("ZSCOPE_DATA_DIR");
  return e ? e : "";
}
std::string model() { return dataDir() + "/models/zscope-2l"; }

#define REQUIRE_DATA()                                                            \
  do {                                                                            \
    if (dataDir().empty() || !fs::exists(model())) ZS_SKIP("shipped data/ absent"); \
  } while (0)

void put16(std::string& s, uint32_t v) {
  s += static_cast<char>(v & 0xff);
  s += static_cast<char>((v >> 8) & 0xff);
}
void put32(std::string& s, uint32_t v) {
  put16(s, v & 0xffff);
  put16(s, v >> 16);
}

// A stored (uncompressed) zip, as torch.save writes them.
std::string zipMany(const std::vector<std::pair<std::string, std::string>>& entries) {
  std::string z, cdir;
  for (const auto& [name, data] : entries) {
    const uint32_t lho = static_cast<uint32_t>(z.size());
    put32(z, 0x04034b50);
    put16(z, 20), put16(z, 0), put16(z, 0), put16(z, 0), put16(z, 0);
    put32(z, 0), put32(z, static_cast<uint32_t>(data.size())), put32(z, static_cast<uint32_t>(data.size()));
    put16(z, static_cast<uint32_t>(name.size())), put16(z, 0);
    z += name + data;
    put32(cdir, 0x02014b50);
    put16(cdir, 20), put16(cdir, 20), put16(cdir, 0), put16(cdir, 0), put16(cdir, 0), put16(cdir, 0);
    put32(cdir, 0), put32(cdir, static_cast<uint32_t>(data.size())), put32(cdir, static_cast<uint32_t>(data.size()));
    put16(cdir, static_cast<uint32_t>(name.size())), put16(cdir, 0), put16(cdir, 0), put16(cdir, 0), put16(cdir, 0);
    put32(cdir, 0), put32(cdir, lho);
    cdir += name;
  }
  const uint32_t cd = static_cast<uint32_t>(z.size());
  z += cdir;
  put32(z, 0x06054b50);
  put16(z, 0), put16(z, 0), put16(z, static_cast<uint32_t>(entries.size())), put16(z, static_cast<uint32_t>(entries.size()));
  put32(z, static_cast<uint32_t>(cdir.size())), put32(z, cd), put16(z, 0);
  return z;
}
std::string zipOne(const std::string& name, const std::string& data) { return zipMany({{name, data}}); }

std::string writePt(const std::string& name, const std::string& pickle) {
  const std::string p = tmp(name);
  std::ofstream(p, std::ios::binary) << zipOne("archive/data.pkl", pickle);
  return p;
}

std::string corpusFile() {
  const std::string p = tmp("corpus.txt");
  std::ofstream f(p, std::ios::binary);
  for (int i = 0; i < 200; ++i)
    f << "The cat sat on the mat and the dog ran to the park. When Mary and John went to the store, John gave "
         "a drink to Mary.\n";
  return p;
}

}  // namespace

// ---- 1b: the .pt reader's value trees -----------------------------------------------

ZS_TEST(ptDeeplyNestedListsDoNotOverflowTheStack) {
  std::string pk = "\x80\x02";
  const int n = 300000;
  pk += std::string(n, ']');
  pk += std::string(n - 1, 'a');
  pk += '.';
  ZS_CHECK_THROWS(zs::loadTorchStateDict(writePt("deep.pt", pk)), zs::InputError);
  // Tuples built from marks, nested the same way.
  std::string tu = "\x80\x02";
  for (int i = 0; i < n; ++i) tu += "(";
  tu += "N";
  for (int i = 0; i < n; ++i) tu += "t";
  tu += '.';
  ZS_CHECK_THROWS(zs::loadTorchStateDict(writePt("deep-tuple.pt", tu)), zs::InputError);
}

ZS_TEST(ptMemoCapsAndCycles) {
  std::string big = "\x80\x02]r";
  big += std::string("\xf0\xff\xff\x7f", 4);
  big += '.';
  ZS_CHECK_THROWS(zs::loadTorchStateDict(writePt("memo.pt", big)), zs::InputError);
  // A list that contains itself (through the memo): refused, no leak, no crash.
  std::string cyc = "\x80\x02]q";
  cyc += '\0';
  cyc += "h";
  cyc += '\0';
  cyc += "a.";
  ZS_CHECK_THROWS(zs::loadTorchStateDict(writePt("cycle.pt", cyc)), zs::InputError);
  ZS_CHECK_THROWS(zs::loadTorchStateDict(zs::test::tempDir()), zs::InputError);  // a folder
}

// A torch.save pickle of one float tensor with the given sizes and strides.
std::string tensorPickle(const std::string& sizes, const std::string& strides) {
  auto str = [](const std::string& x) {
    std::string o = "X";
    put32(o, static_cast<uint32_t>(x.size()));
    return o + x;
  };
  std::string p = "\x80\x02";
  p += "ccollections\nOrderedDict\n)R";
  p += str("w") + "ctorch._utils\n_rebuild_tensor_v2\n((";
  p += str("storage") + "ctorch\nFloatStorage\n" + str("0") + str("cpu") + "K\x06tQ";
  p += std::string("K\0", 2) + sizes + strides + "\x89" "ccollections\nOrderedDict\n)RtRs.";
  return p;
}

ZS_TEST(ptOverflowingStridesRefused) {
  const std::string storage(6 * 4, '\0');  // six floats
  auto pt = [&](const std::string& name, const std::string& sizes, const std::string& strides) {
    const std::string p = tmp(name);
    std::ofstream(p, std::ios::binary) << zipMany({{"archive/data.pkl", tensorPickle(sizes, strides)},
                                                   {"archive/data/0", storage}});
    return p;
  };
  // A well-formed [2, 3] view loads: the pickle above is what torch.save writes.
  const auto ok = zs::loadTorchStateDict(pt("ok.pt", "(K\x02K\x03t", "(K\x03K\x01t"));
  ZS_CHECK_EQ(ok.size(), 1u);
  // LONG1 (0x8a) 8-byte integers: (2^62 - 1) * 4 overflows int64; the old check wrapped around.
  const std::string huge = std::string("\x8a\x08", 2) + std::string("\x00\x00\x00\x00\x00\x00\x00\x40", 8);
  ZS_CHECK_THROWS(zs::loadTorchStateDict(pt("overflow.pt", "(" + huge + "K\x01t", "(K\x04K\x01t")), zs::InputError);
  ZS_CHECK_THROWS(zs::loadTorchStateDict(pt("overflow2.pt", "(K\x02K\x03t", "(" + huge + "K\x01t")), zs::InputError);
}

// ---- 3: NaN in model weights, options, evaluation ---------------------------------------

ZS_TEST(modelWeightsWithNaNRefusedAtLoad) {
  REQUIRE_DATA();
  const std::string dir = tmp("nan-model");
  fs::create_directories(dir);
  for (const auto& e : fs::directory_iterator(model()))
    if (e.is_regular_file()) fs::copy_file(e.path(), dir + "/" + e.path().filename().string());
  const std::string w = dir + "/model.safetensors";
  std::fstream f(w, std::ios::in | std::ios::out | std::ios::binary);
  uint64_t n = 0;
  unsigned char len[8];
  f.read(reinterpret_cast<char*>(len), 8);
  for (int i = 7; i >= 0; --i) n = (n << 8) | len[i];
  std::string header(n, '\0');
  f.read(header.data(), static_cast<std::streamsize>(n));
  const auto h = nlohmann::json::parse(header);
  std::string key;
  for (auto it = h.begin(); it != h.end(); ++it)
    if (it.key().find("wpe.weight") != std::string::npos) key = it.key();
  ZS_CHECK(!key.empty());
  const uint64_t off = h[key]["data_offsets"][0].get<uint64_t>();
  const float nan = std::nanf("");
  f.seekp(static_cast<std::streamoff>(8 + n + off));
  f.write(reinterpret_cast<const char*>(&nan), 4);
  f.close();
  ZS_CHECK_EQ(runCli({"run", "--model", dir, "--tokens", "1,2", "--out", tmp("nan.safetensors")}), 3);
  ZS_CHECK(!fs::exists(tmp("nan.safetensors")));
}

ZS_TEST(trainSaeRejectsNonFiniteAndOutOfRangeOptions) {
  REQUIRE_DATA();
  const std::string c = corpusFile();
  auto rc = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = {"train-sae", "--model", model(), "--layer", "0", "--corpus", c, "--out",
                                     tmp("sae-out")};
    args.insert(args.end(), extra.begin(), extra.end());
    return runCli(args);
  };
  for (const char* lr : {"nan", "inf", "-inf", "1e30", "0", "-1"}) ZS_CHECK_EQ(rc({"--lr", lr}), 2);
  for (const char* l1 : {"nan", "inf", "1e30", "-1"}) ZS_CHECK_EQ(rc({"--l1", l1}), 2);
  ZS_CHECK_EQ(rc({"--expansion", "1e6"}), 2);
  ZS_CHECK_EQ(rc({"--expansion", "nan"}), 2);
  ZS_CHECK_EQ(rc({"--d-sae", "-5"}), 2);
  ZS_CHECK_EQ(rc({"--d-sae", "1000000000"}), 2);
  ZS_CHECK_EQ(rc({"--batch", "0"}), 2);
  ZS_CHECK_EQ(rc({"--decay-fraction", "2"}), 2);
  ZS_CHECK(!fs::exists(tmp("sae-out")));
}

ZS_TEST(evalSaeNonFiniteMetricsFail) {
  REQUIRE_DATA();
  Alarm guard(300);
  const auto spec = zs::loadModelSpec(model());
  zs::SaeConfig cfg;
  cfg.d_in = spec.dZ();
  cfg.d_sae = 16;
  cfg.hook_name = "blocks.0.attn.hook_z";
  cfg.hook_layer = 0;
  auto sae = zs::Sae::init(cfg, 1);
  {
    torch::NoGradGuard ng;
    sae->W_enc.fill_(1e30f);
    sae->b_enc.fill_(1e30f);
    sae->W_dec.fill_(1e30f);
  }
  const std::string dir = tmp("huge-sae");
  sae->saveDir(dir);
  std::string out;
  const int code = runCli({"eval-sae", "--model", model(), "--sae", dir, "--corpus", corpusFile(), "--corpus-format",
                           "text", "--tokens", "64", "--context", "16", "--batch", "2", "--json"},
                          &out);
  ZS_CHECK_MSG(code == 1, "exit " + std::to_string(code) + ": " + out);
}

ZS_TEST(saeConfigNegativeSizesRefused) {
  ZS_CHECK_THROWS(
      zs::SaeConfig::fromJsonText(R"({"d_in":-4,"d_sae":8,"hook_name":"blocks.0.attn.hook_z"})", "cfg.json"),
      zs::InputError);
  ZS_CHECK_THROWS(
      zs::SaeConfig::fromJsonText(R"({"d_in":4,"d_sae":-8,"hook_name":"blocks.0.attn.hook_z"})", "cfg.json"),
      zs::InputError);
  ZS_CHECK_THROWS(zs::SaeConfig::fromJsonText(
                      R"({"d_in":4,"d_sae":8,"hook_name":"blocks.0.attn.hook_z","x":)" + std::string(100000, '[') +
                          std::string(100000, ']') + "}",
                      "cfg.json"),
                  zs::InputError);
}

ZS_TEST(oversizedTrainModelConfigRefused) {
  const std::string cfg =
      R"({"model":{"n_layer":200,"n_head":64,"n_embd":65536,"n_positions":4096},"train":{"context":4096,"batch":512,"eval_tokens":8192}})";
  std::string msg;
  try {
    (void)zs::TrainConfig::fromJsonText(cfg, "big.json");
  } catch (const zs::InputError& e) {
    msg = e.what();
  }
  ZS_CHECK_MSG(msg.find("MiB") != std::string::npos, msg);  // refused for its memory, before allocating
  const std::string p = tmp("big.json");
  std::ofstream(p) << cfg;
  ZS_CHECK_EQ(runCli({"train-model", "--config", p, "--corpus", "x", "--out", tmp("big-model")}), 3);
}

// ---- 2a: build-db after the SAE weights changed ----------------------------------------

ZS_TEST(buildDbDoesNotResumeAfterWeightsChanged) {
  REQUIRE_DATA();
  Alarm guard(500);
  const auto spec = zs::loadModelSpec(model());
  const std::string sae = tmp("build-sae");
  zs::test::writeSae(sae, 0, spec.dZ(), 32, 1);
  const std::string db = tmp("build.zscope.db"), corpus = corpusFile();
  const std::vector<std::string> args = {"build-db", "--model", model(),  "--sae",     sae,  "--corpus",
                                         corpus,     "--tokens", "256", "--context", "32", "--out", db};
  ZS_CHECK_EQ(runCli(args), 0);
  ZS_CHECK_EQ(runCli(args), 0);  // same inputs: already built
  fs::remove_all(sae);
  zs::test::writeSae(sae, 0, spec.dZ(), 32, 2);  // same hook and d_sae, other weights
  ZS_CHECK_EQ(runCli(args), 3);
}

// ---- 4: SIGTERM ends a long job ---------------------------------------------------------

ZS_TEST(sigtermEndsALongJob) {
  REQUIRE_DATA();
  const char* cli = std::getenv("ZSCOPE_CLI");
  if (!cli || !fs::exists(cli)) ZS_SKIP("ZSCOPE_CLI not set (run through ctest)");
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::alarm(120);  // never outlive the test
    ::execl(cli, cli, "bench", "forward", "--model", model().c_str(), "--tokens", "64", "--iters", "100000000",
            "--quiet", "--threads", "1", static_cast<char*>(nullptr));
    std::_Exit(99);
  }
  ZS_CHECK(pid > 0);
  ::sleep(4);
  ::kill(pid, SIGTERM);
  int status = 0;
  pid_t r = 0;
  for (int i = 0; i < 400 && r == 0; ++i) {  // at most 40 s
    r = ::waitpid(pid, &status, WNOHANG);
    if (r == 0) ::usleep(100000);
  }
  if (r == 0) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    ZS_FAIL("zscope-cli did not end within 40 s of SIGTERM");
  }
  ZS_CHECK(WIFEXITED(status));
  ZS_CHECK_EQ(WEXITSTATUS(status), 130);
}

// The CLI's error mapping: a LibTorch error (c10::Error, a multi-line message with
// a C++ trace; shapes read from files reach torch this way) is an input error,
// exit 3 with its first line only; any other exception is exit 1.
namespace {
zs::cli::Registrar regC10({"test-c10-error", "", "test: a real LibTorch shape error", {},
                           [](const zs::cli::Args&) -> int {
                             auto a = torch::zeros({2, 3});
                             auto bad = a.matmul(torch::zeros({2, 3}));  // TORCH_CHECK: c10::Error with a trace
                             return static_cast<int>(bad.numel());
                           }});
zs::cli::Registrar regPlain({"test-plain-error", "", "test: an unexpected error", {},
                             [](const zs::cli::Args&) -> int { throw std::runtime_error("something broke"); }});

std::pair<int, std::string> runCapturingStderr(const std::string& command) {
  std::ostringstream err;
  std::streambuf* old = std::cerr.rdbuf(err.rdbuf());
  const int rc = zs::test::runCli({command});
  std::cerr.rdbuf(old);
  return {rc, err.str()};
}
}  // namespace

ZS_TEST(torchErrorsAreInputErrorsOnOneLine) {
  auto [rc, err] = runCapturingStderr("test-c10-error");
  ZS_CONTEXT(err);
  ZS_CHECK_EQ(rc, 3);
  ZS_CHECK(err.find("zscope-cli test-c10-error: error: ") == 0);
  ZS_CHECK(err.find("shapes cannot be multiplied") != std::string::npos);  // torch's own words, first line
  ZS_CHECK(err.find("Exception raised from") == std::string::npos);  // not the C++ trace
  ZS_CHECK_EQ(std::count(err.begin(), err.end(), '\n'), std::ptrdiff_t(1));
  auto [rc2, err2] = runCapturingStderr("test-plain-error");
  ZS_CHECK_EQ(rc2, 1);
  ZS_CHECK_EQ(err2, std::string("zscope-cli test-plain-error: error: something broke\n"));
}
