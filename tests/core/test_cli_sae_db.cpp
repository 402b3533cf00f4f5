// train-sae, eval-sae and build-db end to end through the CLI (in-process), on
// the shared tiny-gpt2: what a researcher runs, with the files each writes
// read back, and clear exit codes on bad input.
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/db/db.h"
#include "core/db/features.h"
#include "core/sae/sae.h"
#include "tests/core/cli_inprocess.h"
#include "tests/support/check.h"

using namespace zs;
namespace fs = std::filesystem;

namespace {

struct Paths {
  std::string model, corpus, out;
};

const Paths& paths(const std::string& shared) {
  static Paths p;
  if (!p.model.empty()) return p;
  p.model = shared + "/testdata/tiny-gpt2";
  const std::string dir = test::tempDir();
  p.corpus = dir + "/corpus.jsonl";
  std::ofstream out(p.corpus);
  const char* lines[] = {"The cat sat on the mat and looked at the dog.",
                         "When Mary and John went to the store, John gave a drink to Mary.",
                         "Numbers like 1, 2, 3 and 42 appear in text, and so do names like Alice.",
                         "The quick brown fox jumps over the lazy dog again and again."};
  for (int i = 0; i < 80; ++i) out << nlohmann::json({{"text", std::string(lines[i % 4]) + " " + std::to_string(i)}}).dump() << "\n";
  p.out = dir + "/run";
  return p;
}

}  // namespace

ZS_TEST(trainEvaluateAndBuildADatabase) {
  ZS_REQUIRE_SHARED(shared);
  const Paths& p = paths(shared);
  ZS_CHECK_EQ(test::runCli({"train-sae", "--model", p.model, "--layer", "1", "--corpus", p.corpus, "--out", p.out,
                            "--d-sae", "64", "--tokens", "8192", "--batch", "256", "--context", "32",
                            "--buffer-tokens", "2048", "--threads", "1"}),
              0);
  const std::string saeDir = p.out + "/blocks.1.attn.hook_z";
  ZS_CHECK(fs::exists(saeDir + "/cfg.json"));
  ZS_CHECK(fs::exists(p.out + "/metrics.jsonl") || fs::exists(saeDir + "/metrics.jsonl"));
  auto sae = Sae::loadDir(saeDir);
  ZS_CHECK_EQ(sae->cfg.d_sae, int64_t(64));
  ZS_CHECK_EQ(sae->cfg.d_in, int64_t(64));
  ZS_CHECK_EQ(sae->layer(), int64_t(1));

  std::string out;
  ZS_CHECK_EQ(test::runCli({"eval-sae", "--model", p.model, "--sae", saeDir, "--corpus", p.corpus, "--tokens", "1000",
                            "--context", "32", "--json", "--threads", "1"},
                           &out),
              0);
  const nlohmann::json e = nlohmann::json::parse(out);
  ZS_CHECK(e.at("l0").is_number());
  ZS_CHECK(e.at("l0").get<double>() >= 0 && e.at("l0").get<double>() <= 64);
  ZS_CHECK(e.at("ce_loss_recovered").is_number());
  ZS_CHECK(e.at("tokens").get<int64_t>() > 0);

  const std::string db = test::tempDir() + "/cli.zscope.db";
  ZS_CHECK_EQ(test::runCli({"build-db", "--model", p.model, "--sae", saeDir, "--corpus", p.corpus, "--out", db,
                            "--tokens", "1500", "--context", "32", "--top-k", "4", "--samples", "1", "--threads", "1"}),
              0);
  {
    db::OpenOptions oo;
    oo.create = false;
    auto d = db::Db::open(db, oo);
    const db::DbInfo info = db::dbInfo(*d);
    ZS_CHECK_EQ(info.status, std::string("done"));
    ZS_CHECK_EQ(info.layers, std::vector<int>{1});
    ZS_CHECK_EQ(info.featuresPerLayer, std::vector<int64_t>{64});
    ZS_CHECK_EQ(info.saeFingerprints.at(1), sae->fingerprint());
  }
  ZS_CHECK_EQ(test::runCli({"feature", "--db", db, "--layer", "1", "--feature", "0", "--json"}, &out), 0);
  ZS_CHECK(nlohmann::json::parse(out).is_object());
  // Running the same build again: already built, nothing changes.
  ZS_CHECK_EQ(test::runCli({"build-db", "--model", p.model, "--sae", saeDir, "--corpus", p.corpus, "--out", db,
                            "--tokens", "1500", "--context", "32", "--top-k", "4", "--samples", "1", "--threads", "1"}),
              0);

  // The same build in two shards (--batch 16: 49 windows in 4 batches, 2 per
  // shard) merged with merge-db equals the single-process database, row for row.
  const std::string merged = test::tempDir() + "/cli-merged.zscope.db";
  const std::vector<std::string> common = {"--model", p.model, "--sae", saeDir, "--corpus", p.corpus, "--tokens",
                                           "1500", "--context", "32", "--top-k", "4", "--samples", "1", "--threads", "1"};
  for (const char* shard : {"1/2", "0/2"}) {
    std::vector<std::string> args = {"build-db", "--out", merged, "--shard", shard};
    args.insert(args.end(), common.begin(), common.end());
    ZS_CHECK_EQ(test::runCli(args), 0);
  }
  ZS_CHECK(fs::exists(merged + ".part0-of-2") && fs::exists(merged + ".part1-of-2"));
  ZS_CHECK_EQ(test::runCli({"merge-db", "--out", merged, merged + ".part0-of-2"}), 3);  // part 1 missing
  ZS_CHECK_EQ(test::runCli({"merge-db", "--out", merged, merged + ".part0-of-2", merged + ".part1-of-2",
                            "--remove-parts", "--threads", "1"}),
              0);
  ZS_CHECK(!fs::exists(merged + ".part0-of-2"));
  {
    auto a = db::Db::open(db), b = db::Db::open(merged);
    for (const char* q : {"SELECT * FROM features ORDER BY layer, feature",
                          "SELECT * FROM histograms ORDER BY layer, feature",
                          "SELECT * FROM examples ORDER BY layer, feature, kind, bucket, rank"}) {
      db::Stmt sa(*a, q), sb(*b, q);
      int rows = 0;
      bool same = true;
      for (;;) {
        const bool ha = sa.step(), hb = sb.step();
        same = same && ha == hb;
        if (!ha || !hb) break;
        ++rows;
        for (int c = 0; c < 13; ++c) same = same && (sa.isNull(c) == sb.isNull(c)) && sa.blob(c) == sb.blob(c);
      }
      ZS_CHECK_MSG(same && rows > 0, std::string(q) + ": the merged database differs from the single build");
    }
  }
  // The same command on the merged file: already built.
  std::vector<std::string> again = {"build-db", "--out", merged};
  again.insert(again.end(), common.begin(), common.end());
  ZS_CHECK_EQ(test::runCli(again, &out), 0);
  ZS_CHECK(out.find("already built") != std::string::npos);
  std::vector<std::string> badShard = {"build-db", "--out", merged, "--shard", "2/2"};
  badShard.insert(badShard.end(), common.begin(), common.end());
  ZS_CHECK_EQ(test::runCli(badShard), 2);
}

ZS_TEST(badInputGetsItsExitCode) {
  ZS_REQUIRE_SHARED(shared);
  const Paths& p = paths(shared);
  // Usage errors: 2.
  ZS_CHECK_EQ(test::runCli({"train-sae", "--model", p.model, "--layer", "5", "--corpus", p.corpus, "--out",
                            test::tempDir() + "/nope"}),
              2);
  ZS_CHECK_EQ(test::runCli({"eval-sae", "--model", p.model, "--corpus", p.corpus}), 2);
  // Unreadable input: 3.
  ZS_CHECK_EQ(test::runCli({"eval-sae", "--model", p.model, "--sae", test::tempDir() + "/missing-sae", "--corpus",
                            p.corpus}),
              3);
  ZS_CHECK_EQ(test::runCli({"build-db", "--model", p.model, "--sae", p.out + "/blocks.1.attn.hook_z",
                            "--corpus", test::tempDir() + "/missing.jsonl", "--out", test::tempDir() + "/x.db"}),
              3);
  ZS_CHECK_EQ(test::runCli({"induction", "--model", test::tempDir() + "/missing-model"}), 3);
}
