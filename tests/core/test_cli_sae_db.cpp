// train-sae, eval-sae and build-db end to end through the CLI (in-process), on
// the shared tiny-gpt2: what a researcher runs, with the files each writes
// read back, and clear exit codes on bad input.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/db/db.h"
#include "core/db/features.h"
#include "core/db/labels.h"
#include "core/base/error.h"
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

// head-features --json against the database rows read directly: every live
// feature whose stored head_attribution[head] >= min-share, by share, with the
// person's label and family (else the builder's suggestion).
void checkHeadFeatures(const std::string& dbFile) {
  {
    auto d = db::Db::open(dbFile);
    db::Label l;
    l.layer = 1;
    l.feature = 5;
    l.text = "a labelled feature";
    l.family = "induction";
    db::setLabel(*d, l);
  }
  struct Row {
    int64_t feature;
    std::vector<float> attr;
    bool dead;
    std::string family;
  };
  std::vector<Row> rows;
  {
    db::OpenOptions oo;
    oo.create = false;
    auto d = db::Db::open(dbFile, oo);
    db::Stmt s(*d, "SELECT feature, head_attribution, dead, family FROM features WHERE layer=1");
    while (s.step()) rows.push_back({s.i64(0), s.blobAs<float>(1), s.i64(2) != 0, s.text(3)});
  }
  ZS_CHECK_EQ(rows.size(), size_t(64));
  for (int head : {0, 3}) {
    for (double minShare : {0.0, 0.3}) {
      std::vector<std::pair<float, int64_t>> want;
      for (const Row& r : rows)
        if (!r.dead && r.attr.size() == 4 && r.attr[head] >= minShare) want.push_back({r.attr[head], r.feature});
      std::stable_sort(want.begin(), want.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
      if (want.size() > 7) want.resize(7);
      std::string out;
      char ms[32];
      std::snprintf(ms, sizeof ms, "%g", minShare);
      ZS_CHECK_EQ(test::runCli({"head-features", "--db", dbFile, "--layer", "1", "--head", std::to_string(head), "--top",
                                "7", "--min-share", ms, "--json"},
                               &out),
                  0);
      const nlohmann::json j = nlohmann::json::parse(out);
      ZS_CHECK_EQ(j.at("features").size(), want.size());
      for (size_t i = 0; i < want.size() && i < j.at("features").size(); ++i) {
        const auto& f = j["features"][i];
        ZS_CHECK_EQ(f.at("feature").get<int64_t>(), want[i].second);
        ZS_CHECK_NEAR(f.at("share").get<double>(), double(want[i].first), 1e-7);
        ZS_CHECK(f.at("share").get<double>() >= minShare);
        ZS_CHECK_EQ(f.at("head").get<int>(), head);
        const Row& r = *std::find_if(rows.begin(), rows.end(), [&](const Row& x) { return x.feature == want[i].second; });
        if (r.feature == 5) {
          ZS_CHECK_EQ(f.at("label").get<std::string>(), std::string("a labelled feature"));
          ZS_CHECK_EQ(f.at("family").get<std::string>(), std::string("induction"));
          ZS_CHECK_EQ(f.at("family_source").get<std::string>(), std::string("label"));
        } else if (!r.family.empty()) {
          ZS_CHECK_EQ(f.at("family").get<std::string>(), r.family);
          ZS_CHECK_EQ(f.at("family_source").get<std::string>(), std::string("suggestion"));
        } else {
          ZS_CHECK(f.at("family").is_null());
        }
      }
    }
  }
  // Text output; bad input: a layer or head the database lacks (3), a missing option (2).
  ZS_CHECK_EQ(test::runCli({"head-features", "--db", dbFile, "--layer", "1", "--head", "2", "--top", "3"}), 0);
  ZS_CHECK_EQ(test::runCli({"head-features", "--db", dbFile, "--layer", "0", "--head", "0"}), 3);
  ZS_CHECK_EQ(test::runCli({"head-features", "--db", dbFile, "--layer", "1", "--head", "4"}), 3);
  ZS_CHECK_EQ(test::runCli({"head-features", "--db", dbFile, "--layer", "1"}), 2);
  ZS_CHECK_EQ(test::runCli({"head-features", "--db", dbFile, "--layer", "1", "--head", "0", "--min-share", "2"}), 2);
  // A database without head attribution (an older build) gets a clear refusal, not an empty list.
  const std::string old = test::tempDir() + "/old-heads.zscope.db";
  fs::copy_file(dbFile, old, fs::copy_options::overwrite_existing);
  {
    auto d = db::Db::open(old);
    d->exec("UPDATE features SET head_attribution = x''");
  }
  try {
    db::OpenOptions oo;
    oo.create = false;
    auto d = db::Db::open(old, oo);
    db::headFeatures(*d, 1, 0, 10, 0.0);
    ZS_CHECK(false);
  } catch (const InputError& e) {
    ZS_CHECK(std::string(e.what()).find("no head attribution") != std::string::npos);
  }
  ZS_CHECK_EQ(test::runCli({"head-features", "--db", old, "--layer", "1", "--head", "0"}), 3);
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
  checkHeadFeatures(db);
  // Running the same build again: already built, nothing changes.
  ZS_CHECK_EQ(test::runCli({"build-db", "--model", p.model, "--sae", saeDir, "--corpus", p.corpus, "--out", db,
                            "--tokens", "1500", "--context", "32", "--top-k", "4", "--samples", "1", "--threads", "1"}),
              0);
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
