// zscope-cli attribute / top-features / bench attribute end to end on the tiny
// GPT-2 with random SAEs saved to disk: the JSON shape of issue 5, DFA and tree
// completeness in the printed numbers, and clear errors for mismatched input.
#include <QProcess>

#include <filesystem>
#include <set>

#include <nlohmann/json.hpp>

#include "test_attribution_util.h"
#include "testutil.h"

using nlohmann::json;

namespace {

struct Run {
  int code = -1;
  std::string out, err;
};

Run cli(const QStringList& args) {
  Run r;
  QProcess p;
  p.start(qEnvironmentVariable("ZSCOPE_CLI"), QStringList(args) << "--threads" << "1");
  if (!p.waitForFinished(120000)) {
    p.kill();
    p.waitForFinished();
    r.err = "timed out";
    return r;
  }
  r.code = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
  r.out = p.readAllStandardOutput().toStdString();
  r.err = p.readAllStandardError().toStdString();
  return r;
}

QString q(const std::string& s) { return QString::fromStdString(s); }

void checkNode(const json& n, int& nodes, double& worst) {
  static const std::set<std::string> kinds = {"feature", "source", "embed", "pos_embed", "attn_feature",
                                              "attn_error", "attn_head", "mlp", "bias", "rest"};
  QVERIFY(kinds.count(n.at("kind").get<std::string>()));
  QVERIFY(n.at("label").is_string() && n.at("value").is_number() && n.at("children").is_array());
  if (n["kind"] == "source") QVERIFY(n.contains("pos") && n.contains("head") && n.contains("layer"));
  if (n["kind"] == "attn_feature") QVERIFY(n.contains("feature") && n.contains("layer") && n.contains("pos"));
  if (n["children"].empty()) return;
  double sum = 0, abs = 0;
  for (const auto& c : n["children"]) {
    sum += c["value"].get<double>();
    abs += std::fabs(c["value"].get<double>());
  }
  const double v = n["value"].get<double>();
  worst = std::max(worst, std::fabs(sum - v) / std::max({std::fabs(v), abs, 1e-6}));
  ++nodes;
  for (const auto& c : n["children"]) checkNode(c, nodes, worst);
}

}  // namespace

class TestAttributionCli : public QObject {
  Q_OBJECT
  std::string tiny_, dir_;
  QString sae0_, sae1_;

 private Q_SLOTS:
  void initTestCase() {
    if (qEnvironmentVariableIsEmpty("ZSCOPE_CLI")) QSKIP("ZSCOPE_CLI not set (run through ctest)");
    ZS_REQUIRE_SHARED(shared);
    tiny_ = shared + "/testdata/tiny-gpt2";
    dir_ = zs::test::tempDir();
    zs::test::randomSae(0, 64, 128, true, 21)->saveDir(dir_ + "/sae0");
    zs::test::randomSae(1, 64, 128, false, 22)->saveDir(dir_ + "/sae1");
    zs::test::randomSae(0, 32, 16, true, 23)->saveDir(dir_ + "/narrow");
    zs::test::randomSae(5, 64, 16, true, 24)->saveDir(dir_ + "/layer5");
    sae0_ = q(dir_ + "/sae0");
    sae1_ = q(dir_ + "/sae1");
  }

  void attributeJson() {
    const QString ids = "376,10,200,35,10,200,7,99,35,150";
    Run tf = cli({"top-features", "--model", q(tiny_), "--sae", sae0_, "--sae", sae1_, "--tokens", ids, "--pos", "9",
                  "--json"});
    QVERIFY2(tf.code == 0, tf.err.c_str());
    json t = json::parse(tf.out);
    QCOMPARE(t["positions"].size(), size_t(1));
    int feature = -1;
    for (const auto& f : t["positions"][0]["features"]) {
      QCOMPARE(f["head_attribution"].size(), size_t(4));
      if (f["layer"] == 1 && feature < 0) feature = f["feature"];
    }
    QVERIFY(feature >= 0);

    Run r = cli({"attribute", "--model", q(tiny_), "--sae", sae0_, "--sae", sae1_, "--tokens", ids, "--layer", "1",
                 "--feature", QString::number(feature), "--pos", "9", "--depth", "3", "--top", "4", "--json"});
    QVERIFY2(r.code == 0, r.err.c_str());
    json j = json::parse(r.out);
    std::set<std::string> keys;
    for (auto it = j.begin(); it != j.end(); ++it) keys.insert(it.key());
    QVERIFY(keys == std::set<std::string>({"layer", "feature", "pos", "pre_activation", "activation",
                                           "head_attribution", "dfa", "rdfa"}));
    QCOMPARE(j["layer"].get<int>(), 1);
    QCOMPARE(j["pos"].get<int>(), 9);
    double hsum = 0;
    for (const auto& h : j["head_attribution"]) hsum += h.get<double>();
    QVERIFY(std::fabs(hsum - 1) < 1e-5);
    QCOMPARE(j["dfa"]["sources"].size(), size_t(10 * 4));
    double dsum = j["dfa"]["bias"].get<double>();
    for (const auto& s : j["dfa"]["sources"]) {
      QVERIFY(s["pos"].get<int>() <= 9 && s["head"].get<int>() < 4);
      dsum += s["value"].get<double>();
    }
    QVERIFY(std::fabs(dsum - j["pre_activation"].get<double>()) < 1e-5);
    QVERIFY(j["activation"].get<double>() > 0);
    const json& root = j["rdfa"];
    QCOMPARE(root["kind"].get<std::string>(), std::string("feature"));
    QVERIFY(std::fabs(root["value"].get<double>() - j["pre_activation"].get<double>()) < 1e-9);
    int nodes = 0;
    double worst = 0;
    checkNode(root, nodes, worst);
    QVERIFY2(worst < 1e-4, qPrintable(QString::number(worst)));
    QVERIFY(nodes >= 4);

    Run text = cli({"attribute", "--model", q(tiny_), "--sae", sae1_, "--tokens", ids, "--layer", "1", "--feature",
                    QString::number(feature), "--pos", "-1"});
    QVERIFY2(text.code == 0, text.err.c_str());
    QVERIFY(text.out.find("RDFA tree") != std::string::npos);
    QVERIFY(text.out.find("family suggestion") != std::string::npos);
  }

  void promptWithBos() {
    Run r = cli({"top-features", "--model", q(tiny_), "--sae", sae1_, "--prompt", "hello world", "--json"});
    QVERIFY2(r.code == 0, r.err.c_str());
    json j = json::parse(r.out);
    QVERIFY(j["positions"].size() >= 2);
    QCOMPARE(j["positions"][0]["token"].get<int>(), 376);  // BOS from config bos_token_id
    Run nb = cli({"top-features", "--model", q(tiny_), "--sae", sae1_, "--prompt", "hello world", "--no-bos", "--json"});
    QVERIFY2(nb.code == 0, nb.err.c_str());
    QCOMPARE(json::parse(nb.out)["positions"].size() + 1, j["positions"].size());
  }

  void errors_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<int>("code");
    const QString m = "--model";
    QTest::newRow("SAE d_in mismatch") << QStringList{"attribute", m, "", "--sae", "narrow", "--tokens", "1,2", "--layer", "0", "--feature", "0", "--pos", "0"} << 3;
    QTest::newRow("SAE layer out of range") << QStringList{"top-features", m, "", "--sae", "layer5", "--tokens", "1,2"} << 3;
    QTest::newRow("two SAEs for one layer") << QStringList{"top-features", m, "", "--sae", "sae0", "--sae", "sae0", "--tokens", "1,2"} << 3;
    QTest::newRow("prompt too long") << QStringList{"top-features", m, "", "--sae", "sae0", "--tokens", QString("1,").repeated(64) + "1"} << 3;
    QTest::newRow("missing SAE folder") << QStringList{"top-features", m, "", "--sae", "nope", "--tokens", "1,2"} << 3;
    QTest::newRow("pos out of range") << QStringList{"attribute", m, "", "--sae", "sae0", "--tokens", "1,2", "--layer", "0", "--feature", "0", "--pos", "2"} << 2;
    QTest::newRow("feature out of range") << QStringList{"attribute", m, "", "--sae", "sae0", "--tokens", "1,2", "--layer", "0", "--feature", "128", "--pos", "1"} << 2;
    QTest::newRow("layer without SAE") << QStringList{"attribute", m, "", "--sae", "sae0", "--tokens", "1,2", "--layer", "1", "--feature", "0", "--pos", "1"} << 2;
    QTest::newRow("missing --pos") << QStringList{"attribute", m, "", "--sae", "sae0", "--tokens", "1,2", "--layer", "0", "--feature", "0"} << 2;
    QTest::newRow("no SAE") << QStringList{"top-features", m, "", "--tokens", "1,2"} << 2;
  }
  void errors() {
    QFETCH(QStringList, args);
    QFETCH(int, code);
    for (int i = 0; i < args.size(); ++i) {
      if (args[i] == "--model") args[i + 1] = q(tiny_);
      if (args[i] == "--sae") args[i + 1] = q(dir_ + "/") + args[i + 1];
    }
    Run r = cli(args);
    QVERIFY2(r.code == code, qPrintable(QString("exit %1, stderr: %2").arg(r.code).arg(q(r.err))));
    QVERIFY(!r.err.empty());
  }

  void benchJson() {
    Run r = cli({"bench", "attribute", "--model", q(tiny_), "--sae", sae0_, "--sae", sae1_, "--tokens", "16",
                 "--iters", "3", "--warmup", "1", "--json"});
    QVERIFY2(r.code == 0, r.err.c_str());
    json j = json::parse(r.out);
    for (const char* k : {"analyse_ms", "attribute_ms", "total_ms"})
      QVERIFY(j[k]["p50"].get<double>() > 0 && j[k]["p90"].get<double>() >= j[k]["p50"].get<double>());
    QVERIFY(j["tree_nodes"].get<int>() > 1);
  }

  // bench prompt: the explorer's Ctrl+Enter path (Engine::analyse) on a prompt of exactly --tokens tokens.
  void benchPromptJson() {
    Run r = cli({"bench", "prompt", "--model", q(tiny_), "--sae", sae0_, "--sae", sae1_, "--tokens", "16", "--iters",
                 "3", "--warmup", "1", "--json"});
    QVERIFY2(r.code == 0, r.err.c_str());
    json j = json::parse(r.out);
    QCOMPARE(j["tokens"].get<int>(), 16);
    QCOMPARE(j["sae_layers"].get<int>(), 2);
    QCOMPARE(j["iters"].get<int>(), 3);
    QVERIFY(j["analyse_ms"]["p50"].get<double>() > 0);
    QVERIFY(j["analyse_ms"]["max"].get<double>() >= j["analyse_ms"]["p50"].get<double>());
    Run bad = cli({"bench", "prompt", "--model", q(tiny_), "--sae", sae0_, "--tokens", "0"});
    QCOMPARE(bad.code, 2);
    QVERIFY(bad.err.find("--tokens") != std::string::npos);
  }

  // With no options it measures the shipped default model with its shipped SAEs (64 tokens).
  void benchPromptDefaultModel() {
    Run r = cli({"bench", "prompt", "--iters", "2", "--warmup", "0", "--json"});
    QVERIFY2(r.code == 0, r.err.c_str());
    json j = json::parse(r.out);
    QCOMPARE(j["tokens"].get<int>(), 64);
    QCOMPARE(j["sae_layers"].get<int>(), 2);
  }
};

QTEST_MAIN(TestAttributionCli)
#include "test_attribution_cli.moc"
