// Bad input never crashes zscope-cli: malformed model folders, garbage files,
// empty and huge prompts, missing files — each gets exit code 2 or 3 and one
// clear line on stderr.
#include <QProcess>

#include <filesystem>
#include <fstream>
#include <random>

#include "testutil.h"

namespace fs = std::filesystem;

namespace {

struct Result {
  int code = -1;
  bool crashed = true;
  QString err;
};

Result runCli(const QStringList& args) {
  Result r;
  QProcess p;
  p.start(qEnvironmentVariable("ZSCOPE_CLI"), args);
  if (!p.waitForFinished(120000)) {
    p.kill();
    p.waitForFinished();
    r.err = "timed out";
    return r;
  }
  r.code = p.exitCode();
  r.crashed = p.exitStatus() != QProcess::NormalExit;
  r.err = QString::fromUtf8(p.readAllStandardError());
  return r;
}

void writeFile(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

}  // namespace

class TestCliRobustness : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase() {
    if (qEnvironmentVariableIsEmpty("ZSCOPE_CLI")) QSKIP("ZSCOPE_CLI not set (run through ctest)");
  }

  void malformedModelFolders_data() {
    QTest::addColumn<QString>("config");
    QTest::addColumn<QByteArray>("weights");
    std::mt19937 rng(7);
    QByteArray garbage;
    for (int i = 0; i < 4096; ++i) garbage.append(static_cast<char>(rng() & 0xff));
    const QString good = R"({"n_layer":1,"n_head":2,"n_embd":8,"n_positions":16,"vocab_size":300})";
    QTest::newRow("empty config") << "" << QByteArray();
    QTest::newRow("config not json") << "{{{" << QByteArray();
    QTest::newRow("config array") << "[1,2]" << QByteArray();
    QTest::newRow("zero heads") << R"({"n_head":0})" << QByteArray();
    QTest::newRow("huge layer count") << R"({"n_layer":100000000})" << QByteArray();
    QTest::newRow("float dims") << R"({"n_embd":8.5,"n_head":2})" << QByteArray();
    QTest::newRow("garbage weights") << good << garbage;
    QTest::newRow("empty weights") << good << QByteArray("");
    QByteArray hugeHeader(8, '\0');
    hugeHeader[7] = 0x7f;  // header length ~ 9e18
    QTest::newRow("absurd header length") << good << hugeHeader;
    QByteArray wrong = QByteArray::fromStdString(std::string("\x22\0\0\0\0\0\0\0", 8)) +
                       R"({"wte.weight":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})" + QByteArray(4, '\0');
    QTest::newRow("missing tensors") << good << wrong;
  }

  void malformedModelFolders() {
    QFETCH(QString, config);
    QFETCH(QByteArray, weights);
    std::string dir = zs::test::tempDir() + "/m" + std::to_string(std::rand());
    fs::create_directories(dir);
    writeFile(dir + "/config.json", config.toStdString());
    writeFile(dir + "/model.safetensors", weights.toStdString());
    const QString d = QString::fromStdString(dir);
    for (const QStringList& args : {QStringList{"run", "--model", d, "--tokens", "1,2", "--out", d + "/o.st"},
                                    QStringList{"bench", "forward", "--model", d, "--tokens", "4", "--iters", "1"}}) {
      Result r = runCli(args);
      QVERIFY2(!r.crashed, qPrintable(args.join(' ') + ": crashed"));
      QVERIFY2(r.code == 3, qPrintable(args.join(' ') + " -> " + QString::number(r.code) + " " + r.err));
      QVERIFY2(r.err.contains(d), qPrintable("message does not name the folder/file: " + r.err));
      QVERIFY(!fs::exists(dir + "/o.st"));
    }
  }

  void usageErrors() {
    for (const QStringList& args : {QStringList{"no-such-command"}, QStringList{"run"}, QStringList{"run", "--model"},
                                    QStringList{"bench"}, QStringList{"run", "--model", "x", "--tokens", "1", "--out",
                                                                      "y", "--threads", "many"}}) {
      Result r = runCli(args);
      QVERIFY(!r.crashed);
      QVERIFY2(r.code == 2, qPrintable(args.join(' ') + " -> " + QString::number(r.code) + " " + r.err));
      QVERIFY(!r.err.trimmed().isEmpty());
    }
  }

  void promptsOnTinyModel() {
    ZS_REQUIRE_SHARED(shared);
    const QString dir = QString::fromStdString(shared + "/testdata/tiny-gpt2");
    const QString out = QString::fromStdString(zs::test::tempDir() + "/p.st");
    // Empty prompt without BOS: nothing to run.
    Result empty = runCli({"run", "--model", dir, "--prompt", "", "--no-bos", "--out", out});
    QCOMPARE(empty.code, 3);
    QVERIFY(empty.err.contains("empty"));
    // Empty prompt with BOS runs one token.
    QCOMPARE(runCli({"run", "--model", dir, "--prompt", "", "--out", out}).code, 0);
    // A huge prompt (1 MB) is refused quickly with a clear message.
    QString huge(1 << 20, QChar('a'));
    std::string hugeFile = zs::test::tempDir() + "/huge.txt";
    writeFile(hugeFile, huge.toStdString());
    Result h = runCli({"run", "--model", dir, "--prompt-file", QString::fromStdString(hugeFile), "--out", out});
    QCOMPARE(h.code, 3);
    QVERIFY(h.err.contains("exceed"));
    // Missing prompt file, unwritable output.
    QCOMPARE(runCli({"run", "--model", dir, "--prompt-file", "/nonexistent/p.txt", "--out", out}).code, 3);
    Result unwritable = runCli({"run", "--model", dir, "--tokens", "1", "--out", "/nonexistent/dir/o.st"});
    QVERIFY(!unwritable.crashed);
    QVERIFY(unwritable.code == 1 || unwritable.code == 3);
  }
};

QTEST_MAIN(TestCliRobustness)
#include "test_cli_robustness.moc"
