// Issue 19, hostile input: files, JSON, databases and options (no model needed
// beyond the shipped one). Every case that could block (a FIFO as input) runs
// under alarm(): a regression fails by SIGALRM instead of hanging the suite.
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "app/cli/command.h"
#include "core/base/error.h"
#include "core/base/input_file.h"
#include "core/base/json_util.h"
#include "core/base/output_file.h"
#include "core/base/util.h"
#include "core/db/db.h"
#include "tests/core/cli_inprocess.h"
#include "tests/support/check.h"

namespace fs = std::filesystem;
using zs::test::runCli;

namespace {

struct Alarm {  // a hang becomes a failure
  explicit Alarm(unsigned s) { ::alarm(s); }
  ~Alarm() { ::alarm(0); }
};

std::string tmp(const std::string& name) { return (fs::path(zs::test::tempDir()) / name).string(); }

void writeText(const std::string& p, const std::string& s) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f << s;
}

std::string readText(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string dataDir() {
  const char* e = std::getenv("ZSCOPE_DATA_DIR");
  return e ? e : "";
}
std::string shippedDb() { return dataDir() + "/features/zscope-2l.zscope.db"; }
std::string model() { return dataDir() + "/models/zscope-2l"; }

#define REQUIRE_DATA()                                                                   \
  do {                                                                                   \
    if (dataDir().empty() || !fs::exists(shippedDb())) ZS_SKIP("shipped data/ absent"); \
  } while (0)

// A writable copy of the shipped feature database.
std::string dbCopy(const std::string& name) {
  const std::string p = tmp(name);
  fs::copy_file(shippedDb(), p, fs::copy_options::overwrite_existing);
  return p;
}

void sql(const std::string& path, const std::string& s) {
  sqlite3* db = nullptr;
  ZS_CHECK(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  char* err = nullptr;
  const int rc = sqlite3_exec(db, s.c_str(), nullptr, nullptr, &err);
  const std::string msg = err ? err : "";
  sqlite3_free(err);
  sqlite3_close(db);
  ZS_CHECK_MSG(rc == SQLITE_OK, msg);
}

std::string sqlOne(const std::string& path, const std::string& s) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_stmt* st = nullptr;
  std::string out;
  if (sqlite3_prepare_v2(db, s.c_str(), -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
    const unsigned char* t = sqlite3_column_text(st, 0);
    out = t ? reinterpret_cast<const char*>(t) : "";
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

// runCli with stderr captured too.
int runCliErr(std::vector<std::string> args, std::string* err, std::string* out = nullptr) {
  std::ostringstream captured;
  std::streambuf* old = std::cerr.rdbuf(captured.rdbuf());
  const int rc = runCli(std::move(args), out);
  std::cerr.rdbuf(old);
  if (err) *err = captured.str();
  return rc;
}

std::string deep(int n) { return std::string(n, '[') + std::string(n, ']'); }

std::string mkfifoAt(const std::string& name) {
  const std::string p = tmp(name);
  ::unlink(p.c_str());
  if (::mkfifo(p.c_str(), 0600) != 0) ZS_SKIP("mkfifo not available");
  return p;
}

}  // namespace

// ---- 1a, 5: JSON nesting, NUL bytes, trailing garbage ---------------------------

ZS_TEST(jsonNestingIsCappedEverywhere) {
  ZS_CHECK_THROWS(zs::parseJson(deep(100000), "x.json", "test"), zs::InputError);
  ZS_CHECK_THROWS(zs::parseJsonObject("{\"a\":" + deep(100000) + "}", "x.json", "cfg.json"), zs::InputError);
  ZS_CHECK(zs::parseJson(deep(200), "x.json", "test").is_array());  // moderate nesting still reads
  // Brackets inside strings do not count.
  ZS_CHECK(zs::parseJson("{\"a\":\"" + std::string(100000, '[') + "\"}", "x.json", "t").is_object());
}

ZS_TEST(jsonNulAndTrailingGarbageRefused) {
  ZS_CHECK_THROWS(zs::parseJson(std::string("{\"a\":1}\0{\"b\":2}", 15), "x.json", "t"), zs::InputError);
  ZS_CHECK_THROWS(zs::parseJson("{\"a\":1} trailing", "x.json", "t"), zs::InputError);
  ZS_CHECK_THROWS(zs::parseJson("{\"a\":1}{}", "x.json", "t"), zs::InputError);
}

ZS_TEST(deepLabelsJsonlExitsThree) {
  REQUIRE_DATA();
  const std::string db = dbCopy("deep-labels.db");
  const std::string in = tmp("deep.jsonl");
  writeText(in, "{\"layer\":0,\"index\":1,\"description\":\"x\",\"extra\":" + deep(100000) + "}\n");
  ZS_CHECK_EQ(runCli({"labels", "import", "--db", db, "--in", in}), 3);
}

ZS_TEST(deepFamilyNumbersInDatabaseExitsThree) {
  REQUIRE_DATA();
  const std::string db = dbCopy("deep-family.db");
  const std::string layer = sqlOne(db, "SELECT layer FROM features LIMIT 1");
  const std::string feat = sqlOne(db, "SELECT feature FROM features LIMIT 1");
  sql(db, "UPDATE features SET family_numbers='" + deep(100000) + "' WHERE layer=" + layer + " AND feature=" + feat);
  ZS_CHECK_EQ(runCli({"feature", "--db", db, "--layer", layer, "--feature", feat, "--json"}), 3);
}

// A head-attribution blob of the wrong size (3 bytes, or NaN shares) leaves that
// feature out of head-features; the others are still listed.
ZS_TEST(malformedHeadAttributionLeavesTheFeatureOut) {
  REQUIRE_DATA();
  const std::string db = dbCopy("bad-heads.db");
  const std::string layer = sqlOne(db, "SELECT layer FROM features WHERE dead=0 LIMIT 1");
  const std::string feat = sqlOne(db, "SELECT feature FROM features WHERE dead=0 AND layer=" + layer + " LIMIT 1");
  const std::string feat2 = sqlOne(db, "SELECT feature FROM features WHERE dead=0 AND layer=" + layer + " LIMIT 1 OFFSET 1");
  sql(db, "UPDATE features SET head_attribution=x'000000' WHERE layer=" + layer + " AND feature=" + feat);
  sql(db, "UPDATE features SET head_attribution=x'0000c07f0000c07f0000c07f0000c07f0000c07f0000c07f0000c07f0000c07f'"
          " WHERE layer=" + layer + " AND feature=" + feat2);
  std::string out;
  ZS_CHECK_EQ(runCli({"head-features", "--db", db, "--layer", layer, "--head", "0", "--top", "0", "--json"}, &out), 0);
  const nlohmann::json j = nlohmann::json::parse(out);
  ZS_CHECK(!j.at("features").empty());
  for (const auto& f : j.at("features")) {
    ZS_CHECK(f.at("feature").get<int64_t>() != std::stoll(feat) && f.at("feature").get<int64_t>() != std::stoll(feat2));
    ZS_CHECK(std::isfinite(f.at("share").get<double>()));
  }
}

ZS_TEST(malformedJsonInDatabaseColumnExitsThree) {
  REQUIRE_DATA();
  const std::string db = dbCopy("bad-column.db");
  const std::string layer = sqlOne(db, "SELECT layer FROM features LIMIT 1");
  const std::string feat = sqlOne(db, "SELECT feature FROM features LIMIT 1");
  sql(db, "UPDATE features SET logits_top='[[1,\"a\",' WHERE layer=" + layer + " AND feature=" + feat);
  std::string err;
  ZS_CHECK_EQ(runCliErr({"feature", "--db", db, "--layer", layer, "--feature", feat, "--json"}, &err), 3);
  ZS_CHECK_EQ(std::count(err.begin(), err.end(), '\n'), 1);
}

// ---- 1c: PRAGMA user_version = -1 -------------------------------------------------

ZS_TEST(negativeSchemaVersionRefused) {
  REQUIRE_DATA();
  const std::string db = dbCopy("negative-version.db");
  sql(db, "PRAGMA user_version=-1");
  ZS_CHECK_THROWS(zs::db::Db::open(db), zs::InputError);
  ZS_CHECK_EQ(runCli({"label", "--db", db, "--layer", "0", "--feature", "1", "--label", "x"}), 3);
}

// ---- 1d: dfa_source outside the example ----------------------------------------------

ZS_TEST(featureTextWithBadDfaSource) {
  REQUIRE_DATA();
  const std::string db = dbCopy("bad-dfa.db");
  const std::string layer = sqlOne(db, "SELECT layer FROM examples WHERE kind='top' LIMIT 1");
  const std::string feat = sqlOne(db, "SELECT feature FROM examples WHERE kind='top' LIMIT 1");
  ZS_CHECK(!layer.empty());
  sql(db, "UPDATE examples SET dfa_source=1000000, dfa_head=0, dfa_value=1 WHERE layer=" + layer +
              " AND feature=" + feat);
  // The text output (printf) indexed tokens[dfa_source] unchecked: now it skips that note.
  ZS_CHECK_EQ(runCli({"feature", "--db", db, "--layer", layer, "--feature", feat}), 0);
}

// ---- 2b: --out and non-regular targets ------------------------------------------------

ZS_TEST(outputRefusesFifoAndFollowsSymlinks) {
  Alarm guard(60);
  const std::string fifo = mkfifoAt("out.fifo");
  ZS_CHECK_THROWS(zs::writeFileAtomic(fifo, "data"), zs::InputError);
  struct stat st {};
  ZS_CHECK(::lstat(fifo.c_str(), &st) == 0 && S_ISFIFO(st.st_mode));  // still the FIFO
  ZS_CHECK_THROWS(zs::writeFileAtomic(zs::test::tempDir(), "data"), zs::InputError);  // a folder

  const std::string target = tmp("target.txt"), link = tmp("link.txt");
  writeText(target, "old");
  ::unlink(link.c_str());
  ZS_CHECK(::symlink(target.c_str(), link.c_str()) == 0);
  zs::writeFileAtomic(link, "new");
  ZS_CHECK(fs::is_symlink(link));
  ZS_CHECK_EQ(readText(target), std::string("new"));

  const std::string loop = tmp("loop.txt");
  ::unlink(loop.c_str());
  ZS_CHECK(::symlink(loop.c_str(), loop.c_str()) == 0);
  ZS_CHECK_THROWS(zs::writeFileAtomic(loop, "x"), zs::InputError);
  // Nothing left behind: no temporary files in the folder.
  for (const auto& e : fs::directory_iterator(zs::test::tempDir()))
    ZS_CHECK_MSG(e.path().filename().string().find(".tmp-") == std::string::npos, e.path().string());
}

ZS_TEST(runOutToFifoExitsThree) {
  REQUIRE_DATA();
  Alarm guard(120);
  const std::string fifo = mkfifoAt("run.fifo");
  ZS_CHECK_EQ(runCli({"run", "--model", model(), "--tokens", "1,2,3", "--out", fifo}), 3);
  struct stat st {};
  ZS_CHECK(::lstat(fifo.c_str(), &st) == 0 && S_ISFIFO(st.st_mode));
}

ZS_TEST(labelsExportUniqueTempAndCleanFailure) {
  REQUIRE_DATA();
  Alarm guard(60);
  const std::string db = dbCopy("export.db");
  const std::string dir = tmp("export-out");
  fs::create_directories(dir);
  ZS_CHECK_EQ(runCli({"labels", "export", "--db", db, "--out", dir + "/labels.jsonl"}), 0);
  // Failure: the target is a FIFO; nothing may be left behind.
  const std::string fifo = dir + "/labels.csv";
  ZS_CHECK(::mkfifo(fifo.c_str(), 0600) == 0);
  ZS_CHECK_EQ(runCli({"labels", "export", "--db", db, "--out", fifo}), 3);
  ZS_CHECK_EQ(runCli({"labels", "export", "--db", db, "--out", dir + "/missing/labels.csv"}), 3);
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    ++files;
    ZS_CHECK_MSG(e.path().filename().string().find("tmp") == std::string::npos, e.path().string());
  }
  ZS_CHECK_EQ(files, 2);  // labels.jsonl and the FIFO
}

// ---- 2c: read commands never create or alter a database -----------------------------

ZS_TEST(labelRefusesEmptyAndForeignDatabases) {
  REQUIRE_DATA();
  const std::string empty = tmp("empty.db");
  writeText(empty, "");
  ZS_CHECK_EQ(runCli({"label", "--db", empty, "--layer", "0", "--feature", "1", "--label", "x"}), 3);
  ZS_CHECK_EQ(runCli({"feature", "--db", empty, "--layer", "0", "--feature", "1"}), 3);
  ZS_CHECK_EQ(runCli({"head-features", "--db", empty, "--layer", "0", "--head", "1"}), 3);
  ZS_CHECK_EQ(fs::file_size(empty), 0u);

  const std::string foreign = tmp("foreign.db");
  fs::remove(foreign);
  sql(foreign, "CREATE TABLE photos(id INTEGER PRIMARY KEY, name TEXT); INSERT INTO photos(name) VALUES('a')");
  const auto before = fs::file_size(foreign);
  ZS_CHECK_EQ(runCli({"label", "--db", foreign, "--layer", "0", "--feature", "1", "--label", "x"}), 3);
  ZS_CHECK_EQ(runCli({"feature", "--db", foreign, "--layer", "0", "--feature", "1"}), 3);
  ZS_CHECK_EQ(runCli({"session", "list", "--db", foreign}), 3);
  ZS_CHECK_EQ(runCli({"head-features", "--db", foreign, "--layer", "0", "--head", "0"}), 3);
  ZS_CHECK_EQ(sqlOne(foreign, "SELECT count(*) FROM sqlite_master WHERE name='meta'"), std::string("0"));
  ZS_CHECK_EQ(sqlOne(foreign, "PRAGMA journal_mode"), std::string("delete"));
  ZS_CHECK_EQ(fs::file_size(foreign), before);
}

ZS_TEST(readOnlyDatabaseIsViewable) {
  REQUIRE_DATA();
  const std::string dir = tmp("ro");
  fs::create_directories(dir);
  const std::string db = dir + "/f.zscope.db";
  fs::copy_file(shippedDb(), db, fs::copy_options::overwrite_existing);
  const std::string layer = sqlOne(db, "SELECT layer FROM features LIMIT 1");
  const std::string feat = sqlOne(db, "SELECT feature FROM features LIMIT 1");
  ::chmod(db.c_str(), 0444);
  ::chmod(dir.c_str(), 0555);
  zs::db::OpenOptions o;
  o.create = false;
  o.readOnly = true;
  ZS_CHECK(zs::db::Db::open(db, o) != nullptr);
  ZS_CHECK_EQ(runCli({"feature", "--db", db, "--layer", layer, "--feature", feat, "--json"}, nullptr), 0);
  std::string exported;
  ZS_CHECK_EQ(runCli({"labels", "export", "--db", db}, &exported), 0);
  ::chmod(dir.c_str(), 0755);
  ::chmod(db.c_str(), 0644);
}

// ---- 4: FIFOs, devices, caps ------------------------------------------------------------

ZS_TEST(fifoAndDevicesAsInputsRefusedAtOnce) {
  REQUIRE_DATA();
  Alarm guard(120);
  const std::string fifo = mkfifoAt("in.fifo");
  ZS_CHECK_THROWS(zs::readInputFile(fifo, zs::InputKind::Config), zs::InputError);
  ZS_CHECK_THROWS(zs::readWholeFile(fifo), zs::InputError);
  ZS_CHECK_THROWS(zs::readInputFile("/dev/zero", zs::InputKind::Prompt), zs::InputError);
  ZS_CHECK_EQ(runCli({"tokenize", "--model", model(), "--text-file", fifo}), 3);
  ZS_CHECK_EQ(runCli({"top-features", "--model", model(), "--sae", dataDir() + "/saes/zscope-2l", "--prompt-file",
                      "/dev/zero"}),
              3);
  ZS_CHECK_EQ(runCli({"labels", "import", "--db", dbCopy("fifo.db"), "--in", fifo}), 3);
  ZS_CHECK_EQ(runCli({"labels", "import", "--db", dbCopy("zero.db"), "--in", "/dev/zero"}), 3);
  ZS_CHECK_EQ(runCli({"feature", "--db", fifo, "--layer", "0", "--feature", "0"}), 3);
  ZS_CHECK_EQ(runCli({"eval-sae", "--model", model(), "--sae", dataDir() + "/saes/zscope-2l/blocks.0.attn.hook_z",
                      "--corpus", fifo, "--corpus-format", "text"}),
              3);
  // A model folder whose config.json is a FIFO.
  const std::string mdir = tmp("fifo-model");
  fs::create_directories(mdir);
  ZS_CHECK(::mkfifo((mdir + "/config.json").c_str(), 0600) == 0);
  ZS_CHECK_EQ(runCli({"tokenize", "--model", mdir, "--text", "hi"}), 3);
  ZS_CHECK_EQ(runCli({"run", "--model", mdir, "--tokens", "1", "--out", tmp("x.safetensors")}), 3);
}

ZS_TEST(sizeCapsPerKind) {
  const std::string big = tmp("big-prompt.txt");
  {
    std::ofstream f(big, std::ios::binary);
  }
  fs::resize_file(big, (16u << 20) + 1);  // sparse: costs no disk
  ZS_CHECK_THROWS(zs::readInputFile(big, zs::InputKind::Prompt), zs::InputError);
  ZS_CHECK_THROWS(zs::readInputFile(big, zs::InputKind::Config), zs::InputError);
  ZS_CHECK_EQ(zs::checkInputFile(big, zs::InputKind::Labels), (16u << 20) + 1);
}

ZS_TEST(directoryWhereFileExpected) {
  REQUIRE_DATA();
  ZS_CHECK_THROWS(zs::readInputFile(zs::test::tempDir(), zs::InputKind::Prompt), zs::InputError);
  ZS_CHECK_EQ(runCli({"tokenize", "--model", model(), "--text-file", zs::test::tempDir()}), 3);
  ZS_CHECK_EQ(runCli({"labels", "import", "--db", dbCopy("dir.db"), "--in", zs::test::tempDir()}), 3);
  ZS_CHECK_EQ(runCli({"feature", "--db", zs::test::tempDir(), "--layer", "0", "--feature", "0"}), 3);
}

ZS_TEST(threadsCapped) {
  REQUIRE_DATA();
  ZS_CHECK_EQ(runCli({"tokenize", "--model", model(), "--text", "hi", "--threads", "100000"}), 0);
  ZS_CHECK_EQ(runCli({"tokenize", "--model", model(), "--text", "hi", "--threads", "-3"}), 2);
  ZS_CHECK_EQ(runCli({"tokenize", "--model", model(), "--text", "hi", "--threads", "99999999999"}), 2);
}

ZS_TEST(attributeTreeTooLargeRefusedBeforeBuilding) {
  REQUIRE_DATA();
  Alarm guard(300);
  std::string ids = "1";
  for (int i = 2; i <= 120; ++i) ids += "," + std::to_string(i);
  std::string err;
  ZS_CHECK_EQ(runCliErr({"attribute", "--model", model(), "--sae", dataDir() + "/saes/zscope-2l", "--tokens", ids,
                         "--layer", "1", "--feature", "0", "--pos", "-1", "--depth", "4", "--top", "0"},
                        &err),
              2);
  ZS_CHECK_MSG(err.find("MiB") != std::string::npos, err);
}

// ---- 5: options ----------------------------------------------------------------------

ZS_TEST(unknownOptionsRefused) {
  REQUIRE_DATA();
  std::string err;
  ZS_CHECK_EQ(runCliErr({"build-db", "--model", model(), "--sae", "x", "--corpus", "y", "--out", tmp("o.db"),
                         "--toknes", "100"},
                        &err),
              2);
  ZS_CHECK_MSG(err.find("--toknes") != std::string::npos, err);
  ZS_CHECK(!fs::exists(tmp("o.db")));
  const std::string db = dbCopy("famly.db");
  ZS_CHECK_EQ(runCliErr({"label", "--db", db, "--layer", "0", "--feature", "1", "--label", "x", "--famly", "induction"},
                        &err),
              2);
  ZS_CHECK_MSG(err.find("--famly") != std::string::npos, err);
  ZS_CHECK_EQ(runCli({"tokenize", "--model", model(), "--text", "a", "--text", "b"}), 2);  // given twice
}

ZS_TEST(conflictingLabelOptionsRefused) {
  REQUIRE_DATA();
  const std::string db = dbCopy("conflict.db");
  ZS_CHECK_EQ(runCli({"label", "--db", db, "--layer", "0", "--feature", "1", "--label", "x", "--undo"}), 2);
  ZS_CHECK_EQ(runCli({"label", "--db", db, "--layer", "0", "--feature", "1", "--clear", "--history"}), 2);
  ZS_CHECK_EQ(runCli({"label", "--db", db, "--layer", "0", "--feature", "1", "--undo", "--family", "induction"}), 2);
  ZS_CHECK_EQ(runCli({"label", "--db", db, "--layer", "0", "--feature", "1", "--label", "x", "--confidence", "nan"}), 2);
}

ZS_TEST(sixtyFourBitOptionsNotTruncated) {
  REQUIRE_DATA();
  const std::string db = dbCopy("layer64.db");
  ZS_CHECK_EQ(runCli({"label", "--db", db, "--layer", "4294967297", "--feature", "1", "--label", "x"}), 2);
  ZS_CHECK_EQ(sqlOne(db, "SELECT count(*) FROM labels WHERE text='x'"), std::string("0"));
  ZS_CHECK_EQ(runCli({"feature", "--db", db, "--layer", "0", "--feature", "99999999999999999999"}), 2);
}

ZS_TEST(labelsAndSessionsForMissingFeaturesRefused) {
  REQUIRE_DATA();
  const std::string db = dbCopy("missing.db");
  ZS_CHECK_EQ(runCli({"label", "--db", db, "--layer", "7", "--feature", "1", "--label", "x"}), 3);
  ZS_CHECK_EQ(runCli({"label", "--db", db, "--layer", "0", "--feature", "100000000", "--label", "x"}), 3);
  ZS_CHECK_EQ(runCli({"session", "start", "--db", db, "--layer", "0", "--features", "1,100000000"}), 3);
  ZS_CHECK_EQ(runCli({"session", "start", "--db", db, "--layer", "9", "--features", "1"}), 3);
  ZS_CHECK_EQ(sqlOne(db, "SELECT count(*) FROM labels"), sqlOne(shippedDb(), "SELECT count(*) FROM labels"));
  const std::string in = tmp("missing.jsonl");
  writeText(in, "{\"layer\":0,\"index\":100000000,\"description\":\"x\"}\n");
  ZS_CHECK_EQ(runCli({"labels", "import", "--db", db, "--in", in}), 3);
}

ZS_TEST(tokenListTrailingComma) {
  ZS_CHECK_THROWS(zs::parseIdList("1,2,"), zs::UsageError);
  ZS_CHECK_THROWS(zs::parseIdList("1,,2"), zs::UsageError);
  ZS_CHECK_THROWS(zs::parseIdList("1,99999999999999999999"), zs::UsageError);
  ZS_CHECK_EQ(zs::parseIdList("1, 2,3").size(), 3u);
}

ZS_TEST(hooksMatchingNothingRefused) {
  REQUIRE_DATA();
  ZS_CHECK_EQ(runCli({"run", "--model", model(), "--tokens", "1,2", "--hooks", "blocks.*.hook_nothing", "--out",
                      tmp("h.safetensors")}),
              2);
  ZS_CHECK(!fs::exists(tmp("h.safetensors")));
  ZS_CHECK_EQ(runCli({"run", "--model", model(), "--tokens", "1,2", "--hooks", "blocks.0.attn.hook_z", "--out",
                      tmp("h.safetensors")}),
              0);
}

// ---- 6: exit codes and messages --------------------------------------------------------

ZS_TEST(filesystemErrorsExitThreeOnOneLine) {
  REQUIRE_DATA();
  const std::string loop = tmp("loop-prompt");
  ::unlink(loop.c_str());
  ZS_CHECK(::symlink(loop.c_str(), loop.c_str()) == 0);
  std::string err;
  ZS_CHECK_EQ(runCliErr({"tokenize", "--model", model(), "--text-file", loop}, &err), 3);
  ZS_CHECK_MSG(err.find("symbolic links") != std::string::npos, err);
  ZS_CHECK_EQ(std::count(err.begin(), err.end(), '\n'), 1);
  ZS_CHECK_EQ(runCliErr({"tokenize", "--model", loop, "--text", "x"}, &err), 3);
}

ZS_TEST(controlBytesNotEchoed) {
  REQUIRE_DATA();
  const std::string in = tmp("ctl.jsonl");
  writeText(in, "{\"layer\":0,\"index\":1,\"description\":\"\x1b[2J\x07\"} \x1b]0;pwned\x07\n");
  std::string err;
  ZS_CHECK_EQ(runCliErr({"labels", "import", "--db", dbCopy("ctl.db"), "--in", in}, &err), 3);
  for (char c : err) ZS_CHECK_MSG(c == '\n' || static_cast<unsigned char>(c) >= 0x20, err);
  ZS_CHECK_EQ(zs::cli::oneLine("a\x1b[2J\nb"), std::string("a\\x1b[2J\\x0ab"));
  // A file name with control bytes is shown escaped too.
  ZS_CHECK_EQ(runCliErr({"tokenize", "--model", model(), "--text-file", tmp("no\x1b[31mfile")}, &err), 3);
  for (char c : err) ZS_CHECK_MSG(c == '\n' || static_cast<unsigned char>(c) >= 0x20, err);
}
