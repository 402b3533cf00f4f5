// safetensors reader/writer: round trips per dtype, exact half/bf16 values,
// the tiny-gpt2 checkpoint, and a table of hand-made corrupt files that must
// each be refused with an InputError naming the file and the problem.
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include <sys/stat.h>

#include "core/base/error.h"
#include "core/io/safetensors.h"
#include "tests/support/check.h"

namespace fs = std::filesystem;
using namespace zs::st;

namespace {

std::string writeBytes(const std::string& name, const std::string& bytes) {
  const std::string p = zs::test::tempDir() + "/" + name;
  std::ofstream(p, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return p;
}

// 8-byte little-endian length (`len`, or the header's size) + header + `dataBytes` bytes.
std::string stFile(const std::string& header, int dataBytes, uint64_t len = UINT64_MAX) {
  if (len == UINT64_MAX) len = static_cast<uint64_t>(header.size());
  std::string b;
  for (int i = 0; i < 8; ++i) b += static_cast<char>((len >> (8 * i)) & 0xFF);
  return b + header + std::string(static_cast<size_t>(dataBytes), '\x01');
}

std::string entry(const char* name, const char* dtype, const char* shape, const char* offsets) {
  return std::string("\"") + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":" +
         offsets + "}";
}

template <class T>
void roundTrip(DType dt, const std::vector<T>& v, const std::vector<int64_t>& shape) {
  const std::string p = zs::test::tempDir() + "/rt_" + dtypeName(dt) + ".safetensors";
  write(p, {{"x", dt, shape, v.data()}, {"empty", dt, {0, 3}, nullptr}});
  auto f = File::open(p);
  ZS_CHECK_EQ(f->tensors().size(), size_t(2));
  const TensorInfo& t = f->get("x");
  ZS_CHECK_EQ(t.dtype, dt);
  ZS_CHECK(t.shape == shape);
  ZS_CHECK_EQ(t.end - t.begin, uint64_t(v.size() * sizeof(T)));
  ZS_CHECK(std::memcmp(f->data(t), v.data(), v.size() * sizeof(T)) == 0);
  ZS_CHECK_EQ(f->get("empty").numel(), int64_t(0));
  ZS_CHECK(f->toFloat(f->get("empty")).empty());
}

}  // namespace

ZS_TEST(dtypeTable) {
  for (const char* s : {"F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL"}) {
    DType t;
    ZS_CHECK(parseDType(s, &t));
    ZS_CHECK_EQ(std::string(dtypeName(t)), std::string(s));
  }
  DType t;
  ZS_CHECK(!parseDType("F8_E4M3", &t));
  ZS_CHECK_EQ(dtypeSize(DType::BF16), size_t(2));
  ZS_CHECK_EQ(dtypeSize(DType::I64), size_t(8));
}

ZS_TEST(roundTripEachDtype) {
  roundTrip<float>(DType::F32, {1.5f, -2.25f, 3e-38f, 65504.f, 0.f, -0.f}, {2, 3});
  roundTrip<double>(DType::F64, {1.0 / 3, -1e300}, {2});
  roundTrip<uint16_t>(DType::F16, {0x3C00, 0xC000, 0x7BFF, 0x0001}, {4});
  roundTrip<uint16_t>(DType::BF16, {0x3F80, 0x4049, 0xFF80}, {3, 1});
  roundTrip<int64_t>(DType::I64, {std::numeric_limits<int64_t>::min(), -1, 0, 50256}, {4});
  roundTrip<int32_t>(DType::I32, {-7, 1 << 30}, {1, 2});
  roundTrip<int16_t>(DType::I16, {-32768, 32767}, {2});
  roundTrip<int8_t>(DType::I8, {-128, 127}, {2});
  roundTrip<uint8_t>(DType::U8, {0, 255, 17}, {3});
  roundTrip<uint8_t>(DType::BOOL, {0, 1}, {2});
}

ZS_TEST(toFloatConverts) {
  const std::string p = zs::test::tempDir() + "/conv.safetensors";
  const uint16_t h[] = {0x3C00, 0x3555, 0x8001};  // 1, 0.333251953125, -2^-24
  const uint16_t b[] = {0x4049, 0xBF80};          // 3.140625, -1
  const int64_t i[] = {-3, 1 << 24};
  const uint8_t u[] = {200, 0};
  write(p, {{"h", DType::F16, {3}, h}, {"b", DType::BF16, {2}, b}, {"i", DType::I64, {2}, i},
            {"u", DType::BOOL, {2}, u}});
  auto f = File::open(p);
  ZS_CHECK(f->toFloat(f->get("h")) == std::vector<float>({1.f, 0.333251953125f, -5.9604644775390625e-8f}));
  ZS_CHECK(f->toFloat(f->get("b")) == std::vector<float>({3.140625f, -1.f}));
  ZS_CHECK(f->toFloat(f->get("i")) == std::vector<float>({-3.f, 16777216.f}));
  ZS_CHECK(f->toFloat(f->get("u")) == std::vector<float>({1.f, 0.f}));
  // File order is the write order (sorted by data offset).
  ZS_CHECK_EQ(f->tensors()[0].name, std::string("h"));
  ZS_CHECK_EQ(f->tensors()[3].name, std::string("u"));
}

ZS_TEST(halfExactValues) {
  ZS_CHECK_EQ(halfToFloat(0x3C00), 1.0f);
  ZS_CHECK_EQ(halfToFloat(0xC000), -2.0f);
  ZS_CHECK_EQ(halfToFloat(0x7BFF), 65504.0f);
  ZS_CHECK_EQ(halfToFloat(0x0400), std::ldexp(1.0f, -14));
  ZS_CHECK_EQ(halfToFloat(0x0001), std::ldexp(1.0f, -24));
  ZS_CHECK(std::isinf(halfToFloat(0x7C00)) && halfToFloat(0xFC00) < 0);
  ZS_CHECK(std::isnan(halfToFloat(0x7E00)));
  ZS_CHECK_EQ(floatToHalf(1.0f / 3), uint16_t(0x3555));
  ZS_CHECK_EQ(floatToHalf(65519.0f), uint16_t(0x7BFF));
  ZS_CHECK_EQ(floatToHalf(65520.0f), uint16_t(0x7C00));  // tie rounds up to even = inf
  ZS_CHECK_EQ(floatToHalf(1.0f + std::ldexp(1.0f, -11)), uint16_t(0x3C00));      // tie -> even
  ZS_CHECK_EQ(floatToHalf(1.0f + 3 * std::ldexp(1.0f, -11)), uint16_t(0x3C02));  // tie -> even
  ZS_CHECK_EQ(floatToHalf(std::ldexp(1.0f, -25)), uint16_t(0x0000));             // tie -> even (0)
  ZS_CHECK_EQ(floatToHalf(3 * std::ldexp(1.0f, -25)), uint16_t(0x0002));         // tie -> even (2)
  ZS_CHECK_EQ(floatToHalf(std::ldexp(1.0f, -25) * 1.001f), uint16_t(0x0001));
  ZS_CHECK_EQ(floatToHalf(std::ldexp(1023.5f, -24)), uint16_t(0x0400));  // subnormal carries into normal
  ZS_CHECK_EQ(floatToHalf(-0.0f), uint16_t(0x8000));
  ZS_CHECK(std::isnan(halfToFloat(floatToHalf(std::nanf("")))));
  // Every finite half survives half -> float -> half.
  for (uint32_t x = 0; x < 0x10000; ++x) {
    if ((x & 0x7C00) == 0x7C00 && (x & 0x3FF)) continue;  // NaN payloads
    ZS_CHECK_EQ(floatToHalf(halfToFloat(uint16_t(x))), uint16_t(x));
  }
}

ZS_TEST(bf16ExactValues) {
  ZS_CHECK_EQ(bf16ToFloat(0x3F80), 1.0f);
  ZS_CHECK_EQ(bf16ToFloat(0x4049), 3.140625f);
  ZS_CHECK_EQ(floatToBf16(3.14159265f), uint16_t(0x4049));
  ZS_CHECK_EQ(floatToBf16(1.0f + std::ldexp(1.0f, -8)), uint16_t(0x3F80));      // tie -> even
  ZS_CHECK_EQ(floatToBf16(1.0f + 3 * std::ldexp(1.0f, -8)), uint16_t(0x3F82));  // tie -> even
  ZS_CHECK_EQ(floatToBf16(std::numeric_limits<float>::max()), uint16_t(0x7F80));  // rounds to inf
  ZS_CHECK(std::isnan(bf16ToFloat(floatToBf16(std::nanf("")))));
  for (uint32_t x = 0; x < 0x10000; ++x) {
    if ((x & 0x7F80) == 0x7F80 && (x & 0x7F)) continue;
    ZS_CHECK_EQ(floatToBf16(bf16ToFloat(uint16_t(x))), uint16_t(x));
  }
}

ZS_TEST(metadataRoundTrip) {
  const std::string p = zs::test::tempDir() + "/meta.safetensors";
  const std::map<std::string, std::string> meta{{"format", "pt"}, {"note", "ünïcode \"quoted\"\n"}, {"", ""}};
  const float x = 2.f;
  write(p, {{"x", DType::F32, {}, &x}}, meta);  // scalar: shape []
  auto f = File::open(p);
  ZS_CHECK(f->metadata() == meta);
  ZS_CHECK_EQ(f->get("x").numel(), int64_t(1));
  ZS_CHECK_EQ(f->toFloat(f->get("x"))[0], 2.f);
  // Header padded with spaces to a multiple of 8, as the reference writer does.
  std::ifstream in(p, std::ios::binary);
  uint8_t len[8];
  in.read(reinterpret_cast<char*>(len), 8);
  ZS_CHECK_EQ(len[0] % 8, 0);
}

ZS_TEST(writerIsAtomicAndClean) {
  const std::string dir = zs::test::tempDir() + "/atomic";
  fs::create_directories(dir);
  const float a[] = {1, 2}, b[] = {3};
  write(dir + "/w.safetensors", {{"a", DType::F32, {2}, a}});
  write(dir + "/w.safetensors", {{"b", DType::F32, {1}, b}});  // replaces the first
  ZS_CHECK_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1L);
  auto f = File::open(dir + "/w.safetensors");
  ZS_CHECK(!f->find("a") && f->find("b"));
  // Invalid input: nothing written, nothing left behind.
  ZS_CHECK_THROWS(write(dir + "/dup.safetensors", {{"a", DType::F32, {1}, b},
                                                                             {"a", DType::F32, {1}, b}}), zs::InputError);
  ZS_CHECK_THROWS(write(dir + "/neg.safetensors", {{"a", DType::F32, {-1}, b}}), zs::InputError);
  ZS_CHECK_THROWS(write(dir + "/utf.safetensors", {{"\xff", DType::F32, {1}, b}}), zs::InputError);
  ZS_CHECK_THROWS(write(dir + "/meta.safetensors", {}, {{"k", "\xc3"}}), zs::InputError);
  ZS_CHECK_THROWS(write(dir + "/null.safetensors", {{"a", DType::F32, {1}, nullptr}}), zs::InputError);
  ZS_CHECK_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1L);
  try {
    write(dir + "/missing/x.safetensors", {{"a", DType::F32, {1}, b}});
    ZS_FAIL("writing into a missing folder should throw");
  } catch (const zs::InputError& e) {
    ZS_CHECK_MSG(std::string(e.what()).find("missing") != std::string::npos, e.what());
  }
  ZS_CHECK(!fs::exists(dir + "/missing"));
}

ZS_TEST(tinyGpt2Checkpoint) {
  ZS_REQUIRE_SHARED(shared);
  const std::string p = shared + "/testdata/tiny-gpt2/model.safetensors";
  auto f = File::open(p);
  ZS_CHECK_EQ(f->tensors().size(), size_t(28));  // wte, wpe, ln_f x2, 2 layers x 12
  ZS_CHECK_EQ(f->metadata().at("format"), std::string("pt"));
  ZS_CHECK(f->get("transformer.wte.weight").shape == std::vector<int64_t>({377, 64}));
  ZS_CHECK(f->get("transformer.h.1.attn.c_attn.weight").shape == std::vector<int64_t>({64, 192}));
  ZS_CHECK(f->get("transformer.h.0.mlp.c_proj.weight").shape == std::vector<int64_t>({256, 64}));
  ZS_CHECK_EQ(f->tensors().front().name, std::string("transformer.wte.weight"));  // offset 0
  // Values and sum checked against Python's struct module on the same file.
  const auto w = f->toFloat(f->get("transformer.wte.weight"));
  ZS_CHECK_EQ(w.front(), 0.0002460306859575212f);
  ZS_CHECK_EQ(w.back(), 0.00439496710896492f);
  double s = 0;
  for (float v : f->toFloat(f->get("transformer.ln_f.bias"))) s += v;
  ZS_CHECK(std::abs(s - -2.028938248520717) < 1e-5);
  ZS_CHECK_THROWS(f->get("lm_head.weight"), zs::InputError);
}

// Each row: a corrupt file and a part of the message it must be refused with.
// The file is named by its row number and the expected text is looked for after
// the file name, so that a row cannot pass because its name holds that text.
ZS_TEST(corruptFiles) {
  struct Row {
    const char* name;
    std::string bytes;
    const char* expect;
  };
  const std::string a4 = entry("a", "F32", "[1]", "[0,4]");
  const std::vector<Row> rows = {
    {"empty file", std::string(), "too small"},
    {"shorter than 8 bytes", std::string("\x02\0\0\0", 4), "too small"},
    {"header length > 100 MB", stFile("{}", 0, 200'000'000), "100 MB"},
    {"header length = 2^64-2", stFile("{}", 0, UINT64_MAX - 1), "100 MB"},
    {"header length > file", stFile("{}", 0, 1000), "past the end"},
    {"header not JSON", stFile("{not json", 0), "not valid JSON"},
    {"header empty", stFile("", 0), "not valid JSON"},
    {"header not UTF-8", stFile("{\"\xff\xfe\":1}", 0), "UTF-8"},
    {"deeply nested header", stFile("{\"a\":" + std::string(100000, '[') + std::string(100000, ']') + "}", 0), "nested too deeply"},
    {"header is an array", stFile("[1,2]", 0), "not a JSON object"},
    {"entry not an object", stFile("{\"a\":5}", 0), "not an object"},
    {"missing dtype", stFile("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4), "dtype"},
    {"unknown dtype", stFile("{" + entry("a", "F8", "[1]", "[0,1]") + "}", 1), "unknown dtype 'F8'"},
    {"negative shape", stFile("{" + entry("a", "F32", "[-1]", "[0,4]") + "}", 4), "non-negative integer"},
    {"non-integer shape", stFile("{" + entry("a", "F32", "[1.5]", "[0,4]") + "}", 4), "non-negative integer"},
    {"string shape", stFile("{" + entry("a", "F32", "[\"1\"]", "[0,4]") + "}", 4), "non-negative integer"},
    {"shape overflows", stFile("{" + entry("a", "F32", "[4294967296,4294967296,4]", "[0,4]") + "}", 4), "overflows"},
    {"shape/size mismatch", stFile("{" + entry("a", "F32", "[2]", "[0,4]") + "}", 4), "shape/size mismatch"},
    {"offsets wrong arity", stFile("{" + entry("a", "F32", "[1]", "[4]") + "}", 4), "data_offsets"},
    {"negative offset", stFile("{" + entry("a", "F32", "[1]", "[-4,0]") + "}", 4), "data_offsets"},
    {"begin > end", stFile("{" + entry("a", "F32", "[0]", "[4,0]") + "}", 4), "begin 4 > end 0"},
    {"offsets out of range", stFile("{" + entry("a", "F32", "[2]", "[0,8]") + "}", 4), "out of range"},
    {"truncated data", stFile("{" + a4 + "," + entry("b", "F32", "[3]", "[4,16]") + "}", 10), "truncated"},
    {"overlapping offsets", stFile("{" + entry("a", "F32", "[2]", "[0,8]") + "," + entry("b", "F32", "[2]", "[4,12]") + "}", 12), "overlap"},
    {"gap between tensors", stFile("{" + a4 + "," + entry("b", "F32", "[1]", "[8,12]") + "}", 12), "gap"},
    {"first tensor not at 0", stFile("{" + entry("a", "F32", "[1]", "[4,8]") + "}", 8), "gap"},
    {"trailing bytes", stFile("{" + a4 + "}", 8), "trailing bytes"},
    {"duplicate names", stFile("{" + a4 + "," + a4 + "}", 4), "duplicate key 'a'"},
    {"duplicate field", stFile("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4), "duplicate key 'dtype'"},
    {"metadata not strings", stFile("{\"__metadata__\":{\"k\":1}}", 0), "__metadata__"},
    {"metadata not object", stFile("{\"__metadata__\":[]}", 0), "__metadata__"},
  };
  for (size_t i = 0; i < rows.size(); ++i) {
    ZS_CONTEXT(std::string("row ") + rows[i].name);
    const std::string p = writeBytes("bad_" + std::to_string(i) + ".safetensors", rows[i].bytes);
    try {
      File::open(p);
      ZS_FAIL("a corrupt file was accepted");
    } catch (const zs::InputError& e) {
      const std::string msg = e.what();
      ZS_CHECK_MSG(msg.rfind(p + ": ", 0) == 0, msg);  // names the file first
      ZS_CHECK_MSG(msg.find(rows[i].expect, p.size()) != std::string::npos, msg);
    }
  }
}

ZS_TEST(acceptsEdgeCases) {
  // Only empty tensors and no data at all; metadata null; extra whitespace.
  const std::string p = writeBytes("edge.safetensors",
      stFile("{\"__metadata__\":null, " + entry("z", "BF16", "[0]", "[0,0]") + "," + entry("y", "U8", "[5,0]", "[0,0]") + "}   ", 0));
  auto f = File::open(p);
  ZS_CHECK_EQ(f->tensors().size(), size_t(2));
  ZS_CHECK_EQ(f->tensors()[0].name, std::string("z"));  // ties keep header order
  ZS_CHECK(f->metadata().empty());
}

ZS_TEST(unreadablePaths) {
  ZS_CHECK_THROWS(File::open(zs::test::tempDir() + "/does-not-exist.safetensors"), zs::InputError);
  ZS_CHECK_THROWS(File::open(zs::test::tempDir()), zs::InputError);  // a folder
  const std::string fifo = zs::test::tempDir() + "/fifo.safetensors";
  ZS_CHECK(::mkfifo(fifo.c_str(), 0600) == 0);
  ZS_CHECK_THROWS(File::open(fifo), zs::InputError);  // refused, not blocked
}
