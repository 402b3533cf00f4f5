// Torch bridge: dtype-preserving round trips, float32 loading with shape
// checks and clear errors, and the half/bf16 helpers checked bit for bit
// against torch's own conversions (an independent reference).
#include <cstdio>
#include <cstring>
#include <random>

#include "core/base/error.h"
#include "core/io/tensor_io.h"
#include "tests/support/check.h"

using namespace zs;

namespace {
void roundTripKeepsDtypeRow(const std::string& tag, torch::ScalarType dt) {
  torch::manual_seed(1);
  torch::Tensor x = (torch::randn({3, 5}) * 40).to(dt);
  torch::Tensor empty = torch::zeros({0, 4}, torch::TensorOptions().dtype(dt));
  const std::string p = zs::test::tempDir() + "/rt_" + tag + ".safetensors";
  saveTensors(p, {{"x", x}, {"empty", empty}}, {{"format", "pt"}});
  auto f = st::File::open(p);
  torch::Tensor y = loadTensorRaw(*f, "x");
  ZS_CHECK_EQ(y.scalar_type(), dt);
  ZS_CHECK(y.sizes() == x.sizes());
  ZS_CHECK(torch::equal(x, y));
  ZS_CHECK_EQ(loadTensorRaw(*f, "empty").numel(), int64_t(0));
  ZS_CHECK(torch::equal(loadTensor(*f, "x", {3, 5}), x.to(torch::kFloat32)));
  ZS_CHECK_EQ(f->metadata().at("format"), std::string("pt"));
}
}  // namespace

ZS_TEST(roundTripKeepsDtype) {
  const std::vector<std::pair<const char*, torch::ScalarType>> rows = {
      {"float32", torch::kFloat32}, {"float64", torch::kFloat64}, {"float16", torch::kFloat16},
      {"bfloat16", torch::kBFloat16}, {"int64", torch::kInt64},   {"int32", torch::kInt32},
      {"int16", torch::kInt16},       {"int8", torch::kInt8},       {"uint8", torch::kUInt8},
      {"bool", torch::kBool}};
  for (const auto& [tag, dt] : rows) {
    ZS_CONTEXT(std::string("row ") + tag);
    roundTripKeepsDtypeRow(tag, dt);
  }
}

ZS_TEST(nonContiguousAndScalar) {
  torch::Tensor base = torch::arange(12, torch::kFloat32).reshape({3, 4});
  torch::Tensor t = base.t();  // [4, 3], not contiguous
  torch::Tensor s = torch::tensor(7.5);
  const std::string p = zs::test::tempDir() + "/noncontig.safetensors";
  saveTensors(p, {{"t", t}, {"s", s}});
  auto f = st::File::open(p);
  ZS_CHECK(torch::equal(loadTensor(*f, "t", {4, 3}), t));
  ZS_CHECK_EQ(loadTensorRaw(*f, "s").dim(), int64_t(0));
  ZS_CHECK_EQ(loadTensor(*f, "s").item<float>(), 7.5f);
}

ZS_TEST(shapeMismatchIsClear) {
  const std::string p = zs::test::tempDir() + "/shape.safetensors";
  saveTensors(p, {{"w", torch::zeros({2, 3})}});
  auto f = st::File::open(p);
  try {
    loadTensor(*f, "w", {3, 2});
    ZS_FAIL("shape mismatch accepted");
  } catch (const InputError& e) {
    const std::string m = e.what();
    ZS_CHECK_MSG(m.find(p) != std::string::npos && m.find("'w'") != std::string::npos &&
                 m.find("shape [2, 3]") != std::string::npos && m.find("expected [3, 2]") != std::string::npos,
             m);
  }
  try {
    loadTensor(*f, "missing.weight");
    ZS_FAIL("missing tensor accepted");
  } catch (const InputError& e) {
    ZS_CHECK_MSG(std::string(e.what()).find("missing.weight") != std::string::npos, e.what());
  }
}

ZS_TEST(refusesBadInput) {
  const std::string p = zs::test::tempDir() + "/bad.safetensors";
  ZS_CHECK_THROWS(saveTensors(p, {{"c", torch::zeros({2}, torch::kComplexFloat)}}), InputError);
  ZS_CHECK_THROWS(saveTensors(p, {{"u", torch::Tensor()}}), InputError);
  ZS_CHECK_THROWS(saveTensors(p, {{"a", torch::zeros({1})}, {"a", torch::ones({1})}}), InputError);
  ZS_CHECK(!std::filesystem::exists(p));
}

ZS_TEST(halfAndBf16MatchTorch) {
  // Random bit patterns cover every exponent, subnormals, ties and inf/NaN.
  std::mt19937 rng(42);
  std::vector<float> v(200000);
  for (float& x : v) {
    uint32_t bits = rng();
    std::memcpy(&x, &bits, 4);
  }
  // Values near the half range, where rounding to subnormal/inf matters.
  for (size_t i = 0; i < 50000; ++i) v[i] = std::ldexp(std::uniform_real_distribution<float>(-2, 2)(rng), int(rng() % 44) - 28);
  torch::Tensor src = torch::from_blob(v.data(), {int64_t(v.size())}, torch::kFloat32);
  torch::Tensor h = src.to(torch::kFloat16).contiguous(), b = src.to(torch::kBFloat16).contiguous();
  const auto* hp = reinterpret_cast<const uint16_t*>(h.data_ptr());
  const auto* bp = reinterpret_cast<const uint16_t*>(b.data_ptr());
  torch::Tensor hBack = h.to(torch::kFloat32), bBack = b.to(torch::kFloat32);
  const float* hb = hBack.data_ptr<float>();
  const float* bb = bBack.data_ptr<float>();
  for (size_t i = 0; i < v.size(); ++i) {
    if (std::isnan(v[i])) {
      ZS_CHECK(std::isnan(st::halfToFloat(st::floatToHalf(v[i]))));
      ZS_CHECK(std::isnan(st::bf16ToFloat(st::floatToBf16(v[i]))));
      continue;
    }
    if (st::floatToHalf(v[i]) != hp[i] || st::floatToBf16(v[i]) != bp[i])
{
      char msg[160];
      std::snprintf(msg, sizeof msg, "value %.9g: half %x vs torch %x, bf16 %x vs torch %x", double(v[i]),
                    unsigned(st::floatToHalf(v[i])), unsigned(hp[i]), unsigned(st::floatToBf16(v[i])), unsigned(bp[i]));
      ZS_FAIL(msg);
    }
    ZS_CHECK_EQ(st::halfToFloat(hp[i]), hb[i]);  // exact: the conversion is bit for bit
    ZS_CHECK_EQ(st::bf16ToFloat(bp[i]), bb[i]);
  }
}

ZS_TEST(tinyGpt2AsFloat) {
  ZS_REQUIRE_SHARED(shared);
  auto f = st::File::open(shared + "/testdata/tiny-gpt2/model.safetensors");
  torch::Tensor w = loadTensor(*f, "transformer.wte.weight", {377, 64});
  ZS_CHECK_EQ(w.scalar_type(), torch::kFloat32);
  // Sum from Python's struct module on the same file.
  ZS_CHECK(std::abs(w.sum(torch::kFloat64).item<double>() - -31.84870362431866) < 1e-6);
  ZS_CHECK_THROWS(loadTensor(*f, "transformer.wte.weight", {64, 377}), InputError);
}
