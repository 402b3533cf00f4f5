// train-sae, eval-sae and build-db end to end through the CLI (in-process), on
// the shared tiny-gpt2: what a researcher runs, with the files each writes
// read back, and clear exit codes on bad input.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/db/db.h"
#include "core/db/features.h"
#include "core/io/safetensors.h"
#include "core/sae/activation_files.h"
#include "core/train/harvest.h"
#include "core/train/sae_run.h"
#include "core/db/labels.h"
#include "core/base/error.h"
#include "core/sae/sae.h"
#include "tests/core/cli_inprocess.h"
#include "tests/core/db_compare.h"
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
  {
    // --blind leaves out the family suggestion (labeling blind to it), and nothing else, from a feature's
    // dashboard and from the one `session next` gives.
    std::string withFamily;
    {
      auto d = db::Db::open(db);
      db::Stmt q(*d, "SELECT feature FROM features WHERE layer=1 AND family IS NOT NULL AND family != '' LIMIT 1");
      ZS_CHECK(q.step());
      withFamily = std::to_string(q.i64(0));
    }
    std::string plain, blind;
    ZS_CHECK_EQ(test::runCli({"feature", "--db", db, "--layer", "1", "--feature", withFamily, "--json"}, &plain), 0);
    ZS_CHECK_EQ(test::runCli({"feature", "--db", db, "--layer", "1", "--feature", withFamily, "--json", "--blind"}, &blind), 0);
    nlohmann::json jp = nlohmann::json::parse(plain), jb = nlohmann::json::parse(blind);
    ZS_CHECK(jp["family_suggestion"].is_string());
    ZS_CHECK(jb["family_suggestion"].is_null() && jb["family_numbers"].is_null());
    jp.erase("family_suggestion");
    jp.erase("family_numbers");
    jb.erase("family_suggestion");
    jb.erase("family_numbers");
    ZS_CHECK(jp == jb);
    ZS_CHECK_EQ(test::runCli({"session", "start", "--db", db, "--layer", "1", "--features", withFamily}), 0);
    ZS_CHECK_EQ(test::runCli({"session", "next", "--db", db, "--json", "--dashboard", "--blind"}, &blind), 0);
    ZS_CHECK(nlohmann::json::parse(blind)["dashboard"]["family_suggestion"].is_null());
  }
  checkHeadFeatures(db);
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
    const std::string differs = test::differingDbTable(db, merged);
    ZS_CHECK_MSG(differs.empty(), differs + ": the merged database differs from the single build");
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

// ---- Harvest once, train many (issue 16) ----

namespace {

// The CLI in-process with stderr captured too (the one-line error messages).
int runCliErr(std::vector<std::string> args, std::string* err) {
  std::ostringstream captured;
  std::streambuf* old = std::cerr.rdbuf(captured.rdbuf());
  const int rc = test::runCli(std::move(args));
  std::cerr.rdbuf(old);
  *err = captured.str();
  return rc;
}

double maxAbsDiff(const Sae& a, const Sae& b) {
  double m = 0;
  for (auto [x, y] : {std::pair{&a.W_enc, &b.W_enc}, {&a.W_dec, &b.W_dec}, {&a.b_enc, &b.b_enc}, {&a.b_dec, &b.b_dec}})
    m = std::max(m, (*x - *y).abs().max().item<double>());
  return m;
}

const std::vector<std::string>& trainArgs() {
  static const std::vector<std::string> v = {"--d-sae", "64", "--tokens", "4096", "--batch", "256", "--buffer-tokens",
                                             "2048", "--ce-every", "0", "--threads", "1"};
  return v;
}

}  // namespace

// Training from harvested activations gives the same SAEs as training from the
// model: the files hold the rows the model gives (same windows, same forward
// batches, float32) and the reader serves them in the model source's chunks,
// so the shuffled buffer and every step see the same numbers. Checked to
// 1e-5 on every weight (measured: bit-identical).
ZS_TEST(harvestOnceTrainManyGivesTheSameSae) {
  ZS_REQUIRE_SHARED(shared);
  const Paths& p = paths(shared);
  const std::string dir = test::tempDir() + "/harvest";
  fs::remove_all(dir);
  std::vector<std::string> direct = {"train-sae", "--model", p.model, "--layer", "0,1", "--corpus", p.corpus,
                                     "--context", "32", "--out", dir + "/direct"};
  direct.insert(direct.end(), trainArgs().begin(), trainArgs().end());
  ZS_CHECK_EQ(test::runCli(direct), 0);
  std::string out;
  ZS_CHECK_EQ(test::runCli({"harvest", "--model", p.model, "--layers", "0,1", "--corpus", p.corpus, "--out",
                            dir + "/acts", "--tokens", "9000", "--context", "32", "--shard-size", "2000", "--json",
                            "--threads", "1"},
                           &out),
              0);
  const auto hj = nlohmann::json::parse(out);
  ZS_CHECK_EQ(hj.at("shards").get<int64_t>(), int64_t(5));  // 2000 tokens -> 2 forward batches of 32 windows
  const ActivationIndex idx = readActivationIndex(dir + "/acts");
  ZS_CHECK_EQ(idx.dIn, int64_t(64));
  ZS_CHECK_EQ(idx.tokens, int64_t(291 * 31));  // ceil(9000 / 31) windows
  ZS_CHECK(idx.complete && idx.modelName == "tiny-gpt2");
  {
    auto f = st::File::open(dir + "/acts/" + idx.shards[0].file);
    ZS_CHECK_EQ(f->metadata().at("model_fingerprint"), idx.modelFingerprint);
    ZS_CHECK(f->find("blocks.1.attn.hook_z") != nullptr);
  }
  // --model, --corpus and --context default to the harvest's.
  std::vector<std::string> fromFiles = {"train-sae", "--activations", dir + "/acts", "--layer", "0,1", "--out",
                                        dir + "/files"};
  fromFiles.insert(fromFiles.end(), trainArgs().begin(), trainArgs().end());
  ZS_CHECK_EQ(test::runCli(fromFiles), 0);
  // The condition for equality: the harvest holds every row the direct run read (its "done" line says how many).
  auto lastLine = [](const std::string& path) {
    std::ifstream in(path);
    std::string line, last;
    while (std::getline(in, line)) last = line;
    return nlohmann::json::parse(last);
  };
  const auto doneDirect = lastLine(dir + "/direct/metrics.jsonl");
  ZS_CHECK(doneDirect.at("activation_rows_read").get<int64_t>() <= idx.tokens);
  ZS_CHECK_EQ(lastLine(dir + "/files/metrics.jsonl").at("activation_rows_read"), doneDirect.at("activation_rows_read"));
  for (int L : {0, 1}) {
    const std::string h = "/blocks." + std::to_string(L) + ".attn.hook_z";
    auto a = Sae::loadDir(dir + "/direct" + h), b = Sae::loadDir(dir + "/files" + h);
    const double d = maxAbsDiff(*a, *b);
    ZS_CHECK_MSG(d <= 1e-5, "layer " + std::to_string(L) + ": max |diff| " + std::to_string(d));
  }
  // The tolerance is not vacuous: another seed gives another SAE.
  std::vector<std::string> otherSeed = {"train-sae", "--activations", dir + "/acts", "--layer", "1", "--out",
                                        dir + "/files-seed1", "--seed", "1"};
  otherSeed.insert(otherSeed.end(), trainArgs().begin(), trainArgs().end());
  ZS_CHECK_EQ(test::runCli(otherSeed), 0);
  {
    auto a = Sae::loadDir(dir + "/direct/blocks.1.attn.hook_z"), b = Sae::loadDir(dir + "/files-seed1/blocks.1.attn.hook_z");
    ZS_CHECK(maxAbsDiff(*a, *b) > 1e-3);
  }
  // A sweep member trains one layer of the same files.
  std::vector<std::string> oneLayer = {"train-sae", "--activations", dir + "/acts", "--layer", "1", "--out",
                                       dir + "/files-l1", "--architecture", "topk", "--k", "8"};
  oneLayer.insert(oneLayer.end(), trainArgs().begin(), trainArgs().end());
  ZS_CHECK_EQ(test::runCli(oneLayer), 0);
  ZS_CHECK(fs::exists(dir + "/files-l1/blocks.1.attn.hook_z/cfg.json"));
}

// Ranks read disjoint shards (shard i -> rank i % world) that together are the
// whole harvest; chunks cross shard boundaries; a resumed reader continues at
// the same row.
ZS_TEST(activationReaderSplitsShardsBetweenRanks) {
  ZS_REQUIRE_SHARED(shared);
  const std::string dir = test::tempDir() + "/harvest/acts";
  if (!fs::exists(dir + "/index.json")) return;  // written by the test above
  const ActivationIndex idx = readActivationIndex(dir);
  torch::Tensor all;
  {
    ActivationFileSource whole(idx, {1}, 1000, 0, 1, false);
    std::vector<torch::Tensor> parts, chunk;
    while (whole.next(chunk, torch::kCPU)) parts.push_back(chunk[0]);
    all = torch::cat(parts);
    ZS_CHECK_EQ(all.size(0), idx.tokens);
  }
  int64_t rows = 0;
  for (int rank = 0; rank < 2; ++rank) {
    ActivationFileSource src(idx, {1}, 992, rank, 2, false);
    std::vector<torch::Tensor> chunk;
    int64_t off = 0;
    while (src.next(chunk, torch::kCPU)) {
      // Row r of this rank is row r of its shards, in shard order.
      rows += chunk[0].size(0);
      off += chunk[0].size(0);
    }
    ZS_CHECK_EQ(off, src.rowsPerPass());
  }
  ZS_CHECK_EQ(rows, idx.tokens);
  // Rank 1's first rows are shard 1's.
  ActivationFileSource r1(idx, {1}, 10, 1, 2, false);
  std::vector<torch::Tensor> c;
  ZS_CHECK(r1.next(c, torch::kCPU));
  ZS_CHECK(torch::equal(c[0], all.slice(0, idx.shards[1].firstWindow * 31, idx.shards[1].firstWindow * 31 + 10)));
  // skipRows then next == the rows after them; looping wraps to the first shard.
  ActivationFileSource a(idx, {1}, 500, 0, 1, true);
  a.skipRows(idx.tokens - 100);
  ZS_CHECK(a.next(c, torch::kCPU));
  ZS_CHECK(torch::equal(c[0], torch::cat({all.slice(0, idx.tokens - 100), all.slice(0, 0, 400)})));
  ZS_CHECK_EQ(a.passes(), int64_t(1));
}

// An interrupted harvest resumes after its last shard and ends with the same
// files as an uninterrupted one; train-sae refuses the unfinished folder.
ZS_TEST(harvestResumesAfterAnInterruption) {
  ZS_REQUIRE_SHARED(shared);
  const Paths& p = paths(shared);
  const std::string dir = test::tempDir() + "/harvest-resume";
  fs::remove_all(dir);
  HarvestParams hp;
  hp.modelDir = p.model;
  hp.corpus = p.corpus;
  hp.layers = {1};
  hp.tokens = 5000;
  hp.context = 32;
  hp.shardTokens = 1000;
  hp.outDir = dir + "/whole";
  ZS_CHECK(harvestActivations(hp).completed);
  hp.outDir = dir + "/cut";
  std::atomic<bool> cancel{false};
  int reports = 0;
  Progress pr;
  pr.cancel = &cancel;
  pr.report = [&](double, double, const std::string&) {
    if (++reports >= 3) cancel = true;
  };
  auto r = harvestActivations(hp, pr);
  ZS_CHECK(!r.completed);
  std::string err;
  ZS_CHECK_EQ(runCliErr({"train-sae", "--activations", hp.outDir, "--layer", "1", "--out", dir + "/t", "--threads", "1"}, &err), 3);
  ZS_CHECK(err.find("interrupted harvest") != std::string::npos);
  auto r2 = harvestActivations(hp);
  ZS_CHECK(r2.completed && r2.resumed);
  ZS_CHECK(harvestActivations(hp).alreadyDone);
  const ActivationIndex a = readActivationIndex(dir + "/whole"), b = readActivationIndex(dir + "/cut");
  ZS_CHECK_EQ(a.shards.size(), b.shards.size());
  for (const auto& s : a.shards) {
    auto fa = st::File::open(dir + "/whole/" + s.file), fb = st::File::open(dir + "/cut/" + s.file);
    const auto& ta = fa->get("blocks.1.attn.hook_z");
    const auto& tb = fb->get("blocks.1.attn.hook_z");
    ZS_CHECK(ta.shape == tb.shape && std::memcmp(fa->data(ta), fb->data(tb), ta.end - ta.begin) == 0);
  }
}

// Broken or mismatched activation folders: exit 3 with one line naming the problem.
ZS_TEST(badActivationFoldersExitThree) {
  ZS_REQUIRE_SHARED(shared);
  const Paths& p = paths(shared);
  const std::string src = test::tempDir() + "/harvest/acts";
  if (!fs::exists(src + "/index.json")) return;  // written by harvestOnceTrainManyGivesTheSameSae
  const std::string base = test::tempDir() + "/bad-acts";
  auto fresh = [&](const std::string& name) {
    const std::string d = base + "/" + name;
    fs::remove_all(d);
    fs::create_directories(d);
    fs::copy(src, d, fs::copy_options::recursive);
    return d;
  };
  auto train = [&](const std::string& d, const std::string& words, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"train-sae", "--activations", d, "--layer", "1", "--out", base + "/out-" + words,
                                     "--d-sae", "32", "--tokens", "512", "--batch", "128", "--threads", "1"};
    args.insert(args.end(), extra.begin(), extra.end());
    std::string err;
    const int rc = runCliErr(args, &err);
    ZS_CHECK_MSG(rc == 3, words + ": exit " + std::to_string(rc) + ": " + err);
    ZS_CHECK_MSG(err.find(words) != std::string::npos, "expected '" + words + "' in: " + err);
    ZS_CHECK_MSG(std::count(err.begin(), err.end(), '\n') == 1, "not one line: " + err);
  };
  auto editIndex = [&](const std::string& d, const std::function<void(nlohmann::json&)>& f) {
    std::ifstream in(d + "/index.json");
    nlohmann::json j = nlohmann::json::parse(in);
    f(j);
    std::ofstream(d + "/index.json") << j.dump();
  };
  {  // missing index
    const std::string d = fresh("no-index");
    fs::remove(d + "/index.json");
    train(d, "index.json: missing");
  }
  {  // truncated shard
    const std::string d = fresh("truncated");
    fs::resize_file(d + "/shard-00002.safetensors", fs::file_size(d + "/shard-00002.safetensors") - 100);
    train(d, "shard-00002.safetensors");
  }
  {  // d_in that does not fit the model (and so the SAE)
    const std::string d = fresh("d-in");
    editIndex(d, [](nlohmann::json& j) { j["d_in"] = 32; });
    train(d, "d_in 32");
  }
  {  // shard of the wrong shape
    const std::string d = fresh("shape");
    fs::copy_file(d + "/shard-00004.safetensors", d + "/shard-00001.safetensors", fs::copy_options::overwrite_existing);
    train(d, "has shape");
  }
  {  // a layer the harvest does not hold
    const std::string d = fresh("layer");
    editIndex(d, [](nlohmann::json& j) { j["layers"] = {0}; });
    train(d, "not layer 1");
  }
  {  // another model's activations
    const std::string d = fresh("model");
    editIndex(d, [](nlohmann::json& j) { j["model_fingerprint"] = "fnv1a64:0000000000000000"; });
    train(d, "another model", {"--model", p.model});
  }
  {  // an index naming a file outside the folder
    const std::string d = fresh("outside");
    editIndex(d, [](nlohmann::json& j) { j["shards"][0]["file"] = "../acts/shard-00000.safetensors"; });
    train(d, "outside the folder");
  }
  {  // a listed shard that is gone
    const std::string d = fresh("gone");
    fs::remove(d + "/shard-00003.safetensors");
    train(d, "shard-00003.safetensors: missing");
  }
  // harvest's own bad input: a layer the model lacks (2), a corpus that is not there (3).
  ZS_CHECK_EQ(test::runCli({"harvest", "--model", p.model, "--layers", "7", "--corpus", p.corpus, "--out", base + "/h"}), 2);
  ZS_CHECK_EQ(test::runCli({"harvest", "--model", p.model, "--layers", "1", "--corpus", base + "/missing.jsonl", "--out",
                            base + "/h"}),
              3);
  ZS_CHECK(!fs::exists(base + "/h"));  // nothing written
  {  // context that differs from the harvest's
    const std::string d = fresh("context");
    train(d, "--context 32, not 16", {"--context", "16"});
  }
}

// A run from files records the same corpus position as a run from the model at
// the same step (so either resumes), and an interrupted run from files resumes.
ZS_TEST(trainingFromFilesResumes) {
  ZS_REQUIRE_SHARED(shared);
  const Paths& p = paths(shared);
  const std::string dir = test::tempDir() + "/harvest";
  if (!fs::exists(dir + "/acts/index.json")) return;  // written by harvestOnceTrainManyGivesTheSameSae
  auto params = [&](const std::string& out, bool files) {
    TrainSaeParams t;
    t.modelDir = p.model;
    t.corpus = p.corpus;
    if (files) t.activationsDir = dir + "/acts";
    t.outDir = out;
    t.layers = {1};
    t.dSae = 32;
    t.tokens = 4096;
    t.batch = 256;
    t.bufferTokens = 2048;
    t.context = 32;
    t.ceEvery = 0;
    fs::remove_all(out);
    return t;
  };
  auto cutAt = [](int steps, std::atomic<bool>& cancel, int& n) {
    Progress pr;
    pr.cancel = &cancel;
    pr.report = [&cancel, &n, steps](double, double, const std::string& m) {
      if (m == "activations" && ++n >= steps) cancel = true;
    };
    return pr;
  };
  int64_t windows[2] = {0, 0};
  for (int files = 0; files < 2; ++files) {
    const std::string out = dir + (files ? "/resume-files" : "/resume-model");
    std::atomic<bool> cancel{false};
    int n = 0;
    auto r = trainSaes(params(out, files == 1), cutAt(6, cancel, n));
    ZS_CHECK(r.cancelled && r.steps == 6);
    std::ifstream in(out + "/checkpoint/state.json");
    windows[files] = nlohmann::json::parse(in).at("windows").get<int64_t>();
  }
  ZS_CHECK(windows[0] > 16);
  ZS_CHECK_EQ(windows[0], windows[1]);
  TrainSaeParams again = params(dir + "/scratch", true);
  again.outDir = dir + "/resume-files";  // the interrupted run's folder, kept
  auto r = trainSaes(again, {});
  ZS_CHECK(r.resumed && !r.cancelled && r.steps == 16);
}
