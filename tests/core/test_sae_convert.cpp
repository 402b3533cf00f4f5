// convert-sae: the paper's torch.save state dicts. Python torch is not available
// here, so fixtures are written by LibTorch's own torch::pickle_save (the zip
// format torch.save uses since 1.6, same tensor pickling), and re-zipped with the
// dict turned into an OrderedDict exactly as Python pickles state_dict().
#include <torch/torch.h>

#include <cstdio>
#include <fstream>

#include <nlohmann/json.hpp>

#include "app/cli/command.h"
#include "core/base/error.h"
#include "core/sae/sae.h"
#include "core/sae/sae_convert.h"
#include "core/io/pt_reader.h"
#include "cli_inprocess.h"
#include "tests/support/check.h"

using namespace zs;

namespace {

uint32_t crc32(const std::string& s) {
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char ch : s) {
    c ^= ch;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return ~c;
}

// Minimal zip reader/writer for stored entries (test side, independent of the loader).
std::vector<std::pair<std::string, std::string>> unzip(const std::string& z) {
  // Walks the central directory (local headers may defer sizes to data descriptors).
  auto u16 = [&](size_t o) { return uint32_t(uint8_t(z[o])) | uint32_t(uint8_t(z[o + 1])) << 8; };
  auto u32 = [&](size_t o) { return u16(o) | u16(o + 2) << 16; };
  size_t eocd = z.rfind(std::string("PK\x05\x06", 4));
  uint32_t count = u16(eocd + 10), p = u32(eocd + 16);
  std::vector<std::pair<std::string, std::string>> out;
  for (uint32_t i = 0; i < count; ++i) {
    uint32_t size = u32(p + 20), nlen = u16(p + 28), xlen = u16(p + 30), clen = u16(p + 32), lho = u32(p + 42);
    std::string name = z.substr(p + 46, nlen);
    size_t data = lho + 30 + u16(lho + 26) + u16(lho + 28);
    out.emplace_back(name, z.substr(data, size));
    p += 46 + nlen + xlen + clen;
  }
  return out;
}

std::string zip(const std::vector<std::pair<std::string, std::string>>& entries) {
  std::string out, cd;
  auto put16 = [](std::string& s, uint32_t v) { s += char(v & 255); s += char((v >> 8) & 255); };
  auto put32 = [&](std::string& s, uint32_t v) { put16(s, v & 0xFFFF); put16(s, v >> 16); };
  for (const auto& [name, data] : entries) {
    uint32_t off = static_cast<uint32_t>(out.size()), crc = crc32(data), n = static_cast<uint32_t>(data.size());
    put32(out, 0x04034b50); put16(out, 20); put16(out, 0); put16(out, 0); put16(out, 0); put16(out, 0);
    put32(out, crc); put32(out, n); put32(out, n); put16(out, static_cast<uint32_t>(name.size())); put16(out, 0);
    out += name + data;
    put32(cd, 0x02014b50); put16(cd, 20); put16(cd, 20); put16(cd, 0); put16(cd, 0); put16(cd, 0); put16(cd, 0);
    put32(cd, crc); put32(cd, n); put32(cd, n); put16(cd, static_cast<uint32_t>(name.size())); put16(cd, 0);
    put16(cd, 0); put16(cd, 0); put16(cd, 0); put32(cd, 0); put32(cd, off);
    cd += name;
  }
  uint32_t cdOff = static_cast<uint32_t>(out.size());
  out += cd;
  put32(out, 0x06054b50); put16(out, 0); put16(out, 0);
  put16(out, static_cast<uint32_t>(entries.size())); put16(out, static_cast<uint32_t>(entries.size()));
  put32(out, static_cast<uint32_t>(cd.size())); put32(out, cdOff); put16(out, 0);
  return out;
}

// data.pkl as Python's torch.save writes a state_dict() (protocol 2): an
// OrderedDict built by REDUCE, each tensor a _rebuild_tensor_v2 REDUCE over a
// BINPERSID ('storage', torch.FloatStorage, key, 'cpu', numel), with memo puts.
struct PyPickle {
  std::string b = "\x80\x02";
  int memo = 0;
  void put() { b += 'q'; b += char(memo++); }
  void str(const std::string& s) {
    b += 'X';
    uint32_t n = static_cast<uint32_t>(s.size());
    for (int k = 0; k < 4; ++k) b += char((n >> (8 * k)) & 255);
    b += s;
    put();
  }
  void integer(int64_t v) {
    if (v < 256) { b += 'K'; b += char(v); }
    else { b += 'J'; for (int k = 0; k < 4; ++k) b += char((v >> (8 * k)) & 255); }
  }
  void tuple(const std::vector<int64_t>& xs) {
    b += '(';
    for (auto x : xs) integer(x);
    b += 't';
    put();
  }
};
std::string pythonStateDictZip(const std::vector<std::pair<std::string, torch::Tensor>>& tensors) {
  PyPickle p;
  p.b += "ccollections\nOrderedDict\nq"; p.b += char(p.memo++);
  p.b += ")Rq"; p.b += char(p.memo++);
  p.b += '(';
  std::vector<std::pair<std::string, std::string>> entries;
  int key = 0;
  for (const auto& [name, t0] : tensors) {
    auto t = t0.contiguous();
    p.str(name);
    p.b += "ctorch._utils\n_rebuild_tensor_v2\nq"; p.b += char(p.memo++);
    p.b += "((";
    p.str("storage");
    p.b += "ctorch\nFloatStorage\nq"; p.b += char(p.memo++);
    p.str(std::to_string(key));
    p.str("cpu");
    p.integer(t.numel());
    p.b += "tq"; p.b += char(p.memo++);
    p.b += 'Q';
    p.integer(0);
    p.tuple(t.sizes().vec());
    p.tuple(t.strides().vec());
    p.b += "\x89" "ccollections\nOrderedDict\nq"; p.b += char(p.memo++);
    p.b += ")Rq"; p.b += char(p.memo++);
    p.b += "tq"; p.b += char(p.memo++);
    p.b += "Rq"; p.b += char(p.memo++);
    entries.emplace_back("archive/data/" + std::to_string(key),
                         std::string(static_cast<const char*>(t.data_ptr()), t.numel() * sizeof(float)));
    ++key;
  }
  p.b += "u}q"; p.b += char(p.memo++);  // OrderedDict's __dict__ state: {'_metadata': ...} (kept empty here)
  p.b += "b.";
  entries.insert(entries.begin(), {"archive/data.pkl", p.b});
  entries.emplace_back("archive/version", "3\n");
  return zip(entries);
}

void writeBytes(const std::string& path, const std::string& s) { std::ofstream(path, std::ios::binary) << s; }

struct Fixture {
  torch::Tensor W_enc, W_dec, b_enc, b_dec;
  std::string bytes;  // torch::pickle_save output
};

Fixture makeFixture(int64_t dIn, int64_t dSae, bool extraKey = false) {
  Fixture f;
  torch::manual_seed(3);
  f.W_enc = torch::randn({dIn, dSae});
  f.W_dec = torch::randn({dSae, dIn});
  f.W_dec = f.W_dec / f.W_dec.norm(2, {1}, true);
  f.b_enc = torch::randn({dSae});
  f.b_dec = torch::randn({dIn});
  c10::Dict<std::string, at::Tensor> d;
  d.insert("W_enc", f.W_enc);
  d.insert("W_dec", f.W_dec);
  d.insert("b_enc", f.b_enc);
  d.insert("b_dec", f.b_dec);
  if (extraKey) d.insert("threshold", torch::zeros({dSae}));
  auto v = torch::pickle_save(c10::IValue(d));
  f.bytes.assign(v.begin(), v.end());
  return f;
}

// Replace the pickle's data.pkl through `edit`, keeping every other entry.
std::string editPickle(const std::string& zipBytes, const std::function<std::string(std::string)>& edit) {
  auto entries = unzip(zipBytes);
  for (auto& [name, data] : entries)
    if (name.size() > 9 && name.substr(name.size() - 9) == "/data.pkl") data = edit(data);
  return zip(entries);
}

void writeCfg(const std::string& path, int64_t dIn, int64_t dSae, const std::string& act = "blocks.3.attn.hook_z") {
  nlohmann::json j = {{"act_size", dIn}, {"dict_size", dSae}, {"act_name", act}, {"l1_coeff", 2.0},
                      {"seq_len", 128}, {"model_name", "gpt2-small"}, {"layer", 3}, {"site", "z"}};
  std::ofstream(path) << j.dump();
}

}  // namespace

ZS_TEST(readsLibTorchPickle) {
  auto f = makeFixture(12, 40);
  std::string path = test::tempDir() + "/plain.pt";
  writeBytes(path, f.bytes);
  auto sd = loadTorchStateDict(path);
  ZS_CHECK_EQ(sd.size(), size_t(4));
  ZS_CHECK(torch::equal(sd["W_enc"], f.W_enc));
  ZS_CHECK(torch::equal(sd["W_dec"], f.W_dec));
  ZS_CHECK(torch::equal(sd["b_enc"], f.b_enc));
  ZS_CHECK(torch::equal(sd["b_dec"], f.b_dec));
}

ZS_TEST(readsOrderedDictAsPythonWritesIt) {
  auto f = makeFixture(12, 40);
  std::string od = pythonStateDictZip({{"W_enc", f.W_enc}, {"W_dec", f.W_dec}, {"b_enc", f.b_enc}, {"b_dec", f.b_dec}});
  std::string path = test::tempDir() + "/gpt2-small_L3_Hcat_z.pt";
  writeBytes(path, od);
  auto sd = loadTorchStateDict(path);
  ZS_CHECK(torch::equal(sd.at("W_dec"), f.W_dec));
  // ... and through the converter with its cfg.
  writeCfg(paperCfgPathFor(path), 12, 40);
  auto sae = convertPaperSae(path, paperCfgPathFor(path));
  ZS_CHECK_EQ(sae->cfg.hook_name, std::string("blocks.3.attn.hook_z"));
  ZS_CHECK_EQ(sae->cfg.hook_layer, 3);
  ZS_CHECK_EQ(sae->cfg.d_in, 12);
  ZS_CHECK_EQ(sae->cfg.d_sae, 40);
  ZS_CHECK_EQ(sae->cfg.context_size, 128);
  ZS_CHECK(sae->cfg.apply_b_dec_to_input);
  ZS_CHECK(torch::equal(sae->W_enc, f.W_enc));
  // Same encoding as the paper's code: relu((x - b_dec) W_enc + b_enc).
  auto x = torch::randn({5, 12});
  ZS_CHECK(torch::allclose(sae->encode(x), torch::relu((x - f.b_dec).matmul(f.W_enc) + f.b_enc), 1e-5, 1e-5));
}

ZS_TEST(refusesForeignGlobals) {
  auto f = makeFixture(4, 8);
  std::string evil = editPickle(f.bytes, [](std::string pkl) {
    std::string from = "torch._utils\n_rebuild_tensor_v2\n";
    size_t at = pkl.find(from);
    if (at == std::string::npos) throw std::runtime_error("fixture: no _rebuild_tensor_v2");
    return pkl.replace(at, from.size(), "posix\nsystem\n");
  });
  std::string path = test::tempDir() + "/evil.pt";
  writeBytes(path, evil);
  try {
    loadTorchStateDict(path);
    ZS_FAIL("accepted a foreign global");
  } catch (const InputError& e) {
    ZS_CHECK_MSG(std::string(e.what()).find("posix.system") != std::string::npos, e.what());
  }
}

ZS_TEST(strictChecks) {
  const std::string dir = test::tempDir();
  auto f = makeFixture(12, 40);
  writeBytes(dir + "/a.pt", f.bytes);
  writeCfg(dir + "/a_cfg.json", 12, 41);  // wrong dict_size
  ZS_CHECK_THROWS(convertPaperSae(dir + "/a.pt", dir + "/a_cfg.json"), InputError);
  writeCfg(dir + "/a_cfg.json", 12, 40, "blocks.3.hook_resid_pre");
  ZS_CHECK_THROWS(convertPaperSae(dir + "/a.pt", dir + "/a_cfg.json"), InputError);
  auto g = makeFixture(12, 40, /*extraKey=*/true);
  writeBytes(dir + "/b.pt", g.bytes);
  writeCfg(dir + "/b_cfg.json", 12, 40);
  ZS_CHECK_THROWS(convertPaperSae(dir + "/b.pt", dir + "/b_cfg.json"), InputError);
  // Truncated and non-zip files.
  writeBytes(dir + "/c.pt", f.bytes.substr(0, f.bytes.size() / 2));
  ZS_CHECK_THROWS(loadTorchStateDict(dir + "/c.pt"), InputError);
  writeBytes(dir + "/d.pt", std::string("\x80\x02}q\x00.", 6) + std::string(40, 'x'));
  ZS_CHECK_THROWS(loadTorchStateDict(dir + "/d.pt"), InputError);
}

ZS_TEST(commandNeedsAllowPickle) {
  const std::string dir = test::tempDir();
  auto f = makeFixture(12, 40);
  writeBytes(dir + "/cli.pt", f.bytes);
  writeCfg(dir + "/cli_cfg.json", 12, 40);
  ZS_CHECK_EQ(zs::test::runCli({"convert-sae", "--pt", dir + "/cli.pt", "--out", dir + "/cli-out", "--quiet"}, nullptr, false), 2);
  ZS_CHECK_EQ(zs::test::runCli({"convert-sae", "--pt", dir + "/cli.pt", "--out", dir + "/cli-out", "--allow-pickle", "--quiet"}, nullptr, false), 0);
  auto sae = Sae::loadDir(dir + "/cli-out");
  ZS_CHECK(torch::equal(sae->W_dec, f.W_dec));
  ZS_CHECK_EQ(sae->cfg.hook_name, std::string("blocks.3.attn.hook_z"));
  writeCfg(dir + "/cli_cfg.json", 12, 39);
  ZS_CHECK_EQ(zs::test::runCli({"convert-sae", "--pt", dir + "/cli.pt", "--out", dir + "/cli-out2", "--allow-pickle", "--quiet"}, nullptr, false), 3);
}
