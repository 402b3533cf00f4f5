// Bad input never crashes zscope-cli: malformed model folders, garbage files,
// empty and huge prompts, missing files — each gets exit code 2 or 3 and one
// clear line on stderr.
#include <filesystem>
#include <fstream>
#include <random>

#include "tests/support/check.h"

namespace fs = std::filesystem;

namespace {

std::string joined(const std::vector<std::string>& args) {
  std::string s;
  for (const auto& a : args) s += (s.empty() ? "" : " ") + a;
  return s;
}

// zscope-cli with `args` (ZSCOPE_CLI: skipped when unset, failed under ZSCOPE_REQUIRE_FIXTURES=1).
zs::test::ProcessResult runCli(std::vector<std::string> args) {
  ZS_REQUIRE_CLI(cli);
  args.insert(args.begin(), cli);
  return zs::test::runProcess(args, 120);
}

void writeFile(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

bool isBlank(const std::string& s) { return s.find_first_not_of(" \t\r\n") == std::string::npos; }

}  // namespace

ZS_TEST(malformedModelFolders) {
  std::mt19937 rng(7);
  std::string garbage;
  for (int i = 0; i < 4096; ++i) garbage += static_cast<char>(rng() & 0xff);
  const std::string good = R"({"n_layer":1,"n_head":2,"n_embd":8,"n_positions":16,"vocab_size":300})";
  std::string hugeHeader(8, '\0');
  hugeHeader[7] = 0x7f;  // header length ~ 9e18
  const std::string wrong = std::string("\x22\0\0\0\0\0\0\0", 8) +
                            R"({"wte.weight":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})" + std::string(4, '\0');
  struct Row {
    const char* name;
    std::string config, weights;
  };
  const std::vector<Row> rows = {
      {"empty config", "", ""},
      {"config not json", "{{{", ""},
      {"config array", "[1,2]", ""},
      {"zero heads", R"({"n_head":0})", ""},
      {"huge layer count", R"({"n_layer":100000000})", ""},
      {"float dims", R"({"n_embd":8.5,"n_head":2})", ""},
      {"garbage weights", good, garbage},
      {"empty weights", good, ""},
      {"absurd header length", good, hugeHeader},
      {"missing tensors", good, wrong},
  };
  for (size_t i = 0; i < rows.size(); ++i) {
    ZS_CONTEXT(std::string("row ") + rows[i].name);
    const std::string dir = zs::test::tempDir() + "/m" + std::to_string(i);
    fs::create_directories(dir);
    writeFile(dir + "/config.json", rows[i].config);
    writeFile(dir + "/model.safetensors", rows[i].weights);
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"run", "--model", dir, "--tokens", "1,2", "--out", dir + "/o.st"},
          std::vector<std::string>{"bench", "forward", "--model", dir, "--tokens", "4", "--iters", "1"}}) {
      auto r = runCli(args);
      ZS_CHECK_MSG(!r.crashed, joined(args) + ": crashed");
      ZS_CHECK_MSG(r.code == 3, joined(args) + " -> " + std::to_string(r.code) + " " + r.err);
      ZS_CHECK_MSG(r.err.find(dir) != std::string::npos, "message does not name the folder/file: " + r.err);
      ZS_CHECK(!fs::exists(dir + "/o.st"));
    }
  }
}

ZS_TEST(usageErrors) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"no-such-command"}, std::vector<std::string>{"run"},
        std::vector<std::string>{"run", "--model"}, std::vector<std::string>{"bench"},
        std::vector<std::string>{"run", "--model", "x", "--tokens", "1", "--out", "y", "--threads", "many"}}) {
    auto r = runCli(args);
    ZS_CHECK(!r.crashed);
    ZS_CHECK_MSG(r.code == 2, joined(args) + " -> " + std::to_string(r.code) + " " + r.err);
    ZS_CHECK(!isBlank(r.err));
  }
}

ZS_TEST(promptsOnTinyModel) {
  ZS_REQUIRE_SHARED(shared);
  const std::string dir = shared + "/testdata/tiny-gpt2";
  const std::string out = zs::test::tempDir() + "/p.st";
  // Empty prompt without BOS: nothing to run.
  auto empty = runCli({"run", "--model", dir, "--prompt", "", "--no-bos", "--out", out});
  ZS_CHECK_EQ(empty.code, 3);
  ZS_CHECK_MSG(empty.err.find("empty") != std::string::npos, empty.err);
  // Empty prompt with BOS runs one token.
  ZS_CHECK_EQ(runCli({"run", "--model", dir, "--prompt", "", "--out", out}).code, 0);
  // A huge prompt (1 MB) is refused quickly with a clear message.
  const std::string hugeFile = zs::test::tempDir() + "/huge.txt";
  writeFile(hugeFile, std::string(1 << 20, 'a'));
  auto h = runCli({"run", "--model", dir, "--prompt-file", hugeFile, "--out", out});
  ZS_CHECK_EQ(h.code, 3);
  ZS_CHECK_MSG(h.err.find("exceed") != std::string::npos, h.err);
  // Missing prompt file, unwritable output.
  ZS_CHECK_EQ(runCli({"run", "--model", dir, "--prompt-file", "/nonexistent/p.txt", "--out", out}).code, 3);
  auto unwritable = runCli({"run", "--model", dir, "--tokens", "1", "--out", "/nonexistent/dir/o.st"});
  ZS_CHECK(!unwritable.crashed);
  ZS_CHECK(unwritable.code == 1 || unwritable.code == 3);
}
