// Torch bridge: dtype-preserving round trips, float32 loading with shape
// checks and clear errors, and the half/bf16 helpers checked bit for bit
// against torch's own conversions (an independent reference).
#include <cstring>
#include <random>

#include "core/base/error.h"
#include "core/io/tensor_io.h"
#include "testutil.h"

using namespace zs;

class TestTensorIo : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void roundTripKeepsDtype_data() {
    QTest::addColumn<int>("dtype");
    QTest::newRow("float32") << int(torch::kFloat32);
    QTest::newRow("float64") << int(torch::kFloat64);
    QTest::newRow("float16") << int(torch::kFloat16);
    QTest::newRow("bfloat16") << int(torch::kBFloat16);
    QTest::newRow("int64") << int(torch::kInt64);
    QTest::newRow("int32") << int(torch::kInt32);
    QTest::newRow("int16") << int(torch::kInt16);
    QTest::newRow("int8") << int(torch::kInt8);
    QTest::newRow("uint8") << int(torch::kUInt8);
    QTest::newRow("bool") << int(torch::kBool);
  }

  void roundTripKeepsDtype() {
    QFETCH(int, dtype);
    const auto dt = static_cast<torch::ScalarType>(dtype);
    torch::manual_seed(1);
    torch::Tensor x = (torch::randn({3, 5}) * 40).to(dt);
    torch::Tensor empty = torch::zeros({0, 4}, torch::TensorOptions().dtype(dt));
    const std::string p = zs::test::tempDir() + "/rt_" + QTest::currentDataTag() + ".safetensors";
    saveTensors(p, {{"x", x}, {"empty", empty}}, {{"format", "pt"}});
    auto f = st::File::open(p);
    torch::Tensor y = loadTensorRaw(*f, "x");
    QCOMPARE(y.scalar_type(), dt);
    QVERIFY(y.sizes() == x.sizes());
    QVERIFY(torch::equal(x, y));
    QCOMPARE(loadTensorRaw(*f, "empty").numel(), int64_t(0));
    QVERIFY(torch::equal(loadTensor(*f, "x", {3, 5}), x.to(torch::kFloat32)));
    QCOMPARE(f->metadata().at("format"), std::string("pt"));
  }

  void nonContiguousAndScalar() {
    torch::Tensor base = torch::arange(12, torch::kFloat32).reshape({3, 4});
    torch::Tensor t = base.t();  // [4, 3], not contiguous
    torch::Tensor s = torch::tensor(7.5);
    const std::string p = zs::test::tempDir() + "/noncontig.safetensors";
    saveTensors(p, {{"t", t}, {"s", s}});
    auto f = st::File::open(p);
    QVERIFY(torch::equal(loadTensor(*f, "t", {4, 3}), t));
    QCOMPARE(loadTensorRaw(*f, "s").dim(), int64_t(0));
    QCOMPARE(loadTensor(*f, "s").item<float>(), 7.5f);
  }

  void shapeMismatchIsClear() {
    const std::string p = zs::test::tempDir() + "/shape.safetensors";
    saveTensors(p, {{"w", torch::zeros({2, 3})}});
    auto f = st::File::open(p);
    try {
      loadTensor(*f, "w", {3, 2});
      QFAIL("shape mismatch accepted");
    } catch (const InputError& e) {
      const std::string m = e.what();
      QVERIFY2(m.find(p) != std::string::npos && m.find("'w'") != std::string::npos &&
                   m.find("shape [2, 3]") != std::string::npos && m.find("expected [3, 2]") != std::string::npos,
               m.c_str());
    }
    try {
      loadTensor(*f, "missing.weight");
      QFAIL("missing tensor accepted");
    } catch (const InputError& e) {
      QVERIFY2(std::string(e.what()).find("missing.weight") != std::string::npos, e.what());
    }
  }

  void refusesBadInput() {
    const std::string p = zs::test::tempDir() + "/bad.safetensors";
    QVERIFY_THROWS_EXCEPTION(InputError, saveTensors(p, {{"c", torch::zeros({2}, torch::kComplexFloat)}}));
    QVERIFY_THROWS_EXCEPTION(InputError, saveTensors(p, {{"u", torch::Tensor()}}));
    QVERIFY_THROWS_EXCEPTION(InputError, saveTensors(p, {{"a", torch::zeros({1})}, {"a", torch::ones({1})}}));
    QVERIFY(!std::filesystem::exists(p));
  }

  void halfAndBf16MatchTorch() {
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
        QVERIFY(std::isnan(st::halfToFloat(st::floatToHalf(v[i]))));
        QVERIFY(std::isnan(st::bf16ToFloat(st::floatToBf16(v[i]))));
        continue;
      }
      if (st::floatToHalf(v[i]) != hp[i] || st::floatToBf16(v[i]) != bp[i])
        QFAIL(qPrintable(QString("value %1: half %2 vs torch %3, bf16 %4 vs torch %5")
                             .arg(double(v[i]), 0, 'g', 9).arg(st::floatToHalf(v[i]), 0, 16).arg(hp[i], 0, 16)
                             .arg(st::floatToBf16(v[i]), 0, 16).arg(bp[i], 0, 16)));
      QCOMPARE(st::halfToFloat(hp[i]), hb[i]);
      QCOMPARE(st::bf16ToFloat(bp[i]), bb[i]);
    }
  }

  void tinyGpt2AsFloat() {
    ZS_REQUIRE_SHARED(shared);
    auto f = st::File::open(shared + "/testdata/tiny-gpt2/model.safetensors");
    torch::Tensor w = loadTensor(*f, "transformer.wte.weight", {377, 64});
    QCOMPARE(w.scalar_type(), torch::kFloat32);
    // Sum from Python's struct module on the same file.
    QVERIFY(std::abs(w.sum(torch::kFloat64).item<double>() - -31.84870362431866) < 1e-6);
    QVERIFY_THROWS_EXCEPTION(InputError, loadTensor(*f, "transformer.wte.weight", {64, 377}));
  }
};

QTEST_MAIN(TestTensorIo)
#include "test_tensor_io.moc"
