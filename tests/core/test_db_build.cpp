// The feature-database builder on a small random model and SAEs, checked
// against a brute-force computation over the same windows: true top-k examples,
// stats, histogram totals, per-token activations, DFA, logit effects, head
// attribution, dead features; and resume-after-cancel equals an uninterrupted build.
#include <atomic>
#include <cmath>
#include <cstdio>
#include <fstream>

#include "app/cli/command.h"
#include "core/db/builder_internal.h"
#include "core/db/db.h"
#include "core/db/features.h"
#include "core/db/labels.h"
#include "core/model/gpt2.h"
#include "core/sae/sae.h"
#include "core/base/error.h"
#include "cli_inprocess.h"
#include "tests/support/check.h"

using namespace zs;
using namespace zs::db;
using torch::indexing::Slice;

namespace {

constexpr int64_t kCtx = 16, kWindows = 40, kVocab = 64, kBos = 63, kDSae = 48, kTopK = 5;

struct Fixture {
  std::unique_ptr<Gpt2> model;
  std::vector<std::unique_ptr<Sae>> saes;
  BuildInputs in;
  std::string corpus;
  std::vector<std::vector<int64_t>> windows;
};

Fixture& fixture() {
  static Fixture fx = [] {
    torch::set_num_threads(1);  // every test starts here
    Fixture f;
    Gpt2Config cfg;
    cfg.n_layer = 2;
    cfg.n_head = 4;
    cfg.n_embd = 32;
    cfg.n_positions = 32;
    cfg.vocab_size = kVocab;
    cfg.bos_token_id = kBos;
    f.model = Gpt2::init(cfg, 1);
    for (int l = 0; l < 2; ++l) {
      SaeConfig sc;
      sc.d_in = 32;
      sc.d_sae = kDSae;
      sc.hook_name = "blocks." + std::to_string(l) + ".attn.hook_z";
      sc.hook_layer = l;
      auto sae = Sae::init(sc, 10 + l);
      torch::NoGradGuard ng;
      sae->W_enc.mul_(3.0);                        // spread activations over several decades
      sae->b_enc.fill_(-0.02);                     // sparser firing
      sae->b_enc.index_put_({Slice(0, 3)}, -1e4);  // features 0-2: dead
      f.saes.push_back(std::move(sae));
    }
    f.in.model = f.model.get();
    for (auto& s : f.saes) f.in.saes.push_back(s.get());
    f.in.modelName = "random-test-model";
    f.in.bosId = kBos;
    // Pre-tokenized corpus: uint16 ids that never equal BOS.
    f.corpus = test::tempDir() + "/corpus.bin";
    std::vector<uint16_t> ids;
    uint64_t s = 12345;
    for (int64_t i = 0; i < kWindows * (kCtx - 1); ++i) {
      s = s * 6364136223846793005ull + 1442695040888963407ull;
      // Random ids: no two windows share a context, so there are no near-ties
      // that batch-size rounding could reorder.
      ids.push_back(static_cast<uint16_t>((s >> 33) % (kVocab - 1)));
    }
    std::ofstream(f.corpus, std::ios::binary).write(reinterpret_cast<const char*>(ids.data()), ids.size() * 2);
    for (int64_t w = 0; w < kWindows; ++w) {
      std::vector<int64_t> win{kBos};
      for (int64_t t = 0; t < kCtx - 1; ++t) win.push_back(ids[w * (kCtx - 1) + t]);
      f.windows.push_back(win);
    }
    return f;
  }();
  return fx;
}

BuildOptions options(const std::string& name) {
  BuildOptions o;
  o.corpus = fixture().corpus;
  o.out = test::tempDir() + "/" + name;
  for (const char* suf : {"", "-wal", "-shm"}) std::remove((o.out + suf).c_str());
  o.tokens = kWindows * (kCtx - 1);
  o.context = kCtx;
  o.topK = kTopK;
  o.samplesPerBucket = 2;
  o.batch = 4;
  o.seed = 5;
  return o;
}

// Brute force: every window in one batch, activations [W, T, dSae] of a layer.
torch::Tensor bruteActs(int layer) {
  auto& fx = fixture();
  torch::InferenceMode g;
  std::vector<int64_t> flat;
  for (const auto& w : fx.windows) flat.insert(flat.end(), w.begin(), w.end());
  auto ids = torch::tensor(flat).view({kWindows, kCtx});
  ForwardOptions fo;
  fo.capture = Capture({"blocks." + std::to_string(layer) + ".attn.hook_z"});
  auto r = fx.model->forward(ids, fo);
  return fx.saes[layer]->encode(r.cache.at(fo.capture.patterns()[0]).reshape({kWindows, kCtx, -1}));
}

// Every dashboard table of two databases, row by row and byte for byte (doubles
// bit-exact: the sums are exact fixed-point numbers, so no tolerance is needed).
void checkSameTables(Db& da, Db& db, const std::string& what) {
  for (const char* q : {"SELECT * FROM features ORDER BY layer, feature",
                        "SELECT * FROM histograms ORDER BY layer, feature",
                        "SELECT * FROM examples ORDER BY layer, feature, kind, bucket, rank",
                        "SELECT * FROM token_strings ORDER BY id"}) {
    Stmt sa(da, q), sb(db, q);
    int rows = 0;
    for (;;) {
      bool ha = sa.step(), hb = sb.step();
      ZS_CHECK_MSG(ha == hb, zs::test::cat(what, ": ", q, ": row counts differ after ", rows));
      if (!ha || !hb) break;
      ++rows;
      for (int c = 0; c < 13; ++c) {
        if (sa.isNull(c) && sb.isNull(c)) continue;
        ZS_CHECK_MSG(sa.blob(c) == sb.blob(c), zs::test::cat(what, ": ", q, ": row ", rows, " column ", c, " differs"));
      }
    }
    ZS_CHECK(rows > 0);
  }
  for (const char* k : {"tokens_done", "windows_done", "build_signature", "build_status"})
    ZS_CHECK_MSG(metaGet(da, k) == metaGet(db, k), zs::test::cat(what, ": meta ", k, " differs"));
}

}  // namespace

ZS_TEST(topKAndStatsMatchBruteForce) {
  auto o = options("brute.zscope.db");
  auto res = buildWith(fixture().in, o, {});
  ZS_CHECK(res.completed);
  ZS_CHECK_EQ(res.tokens, kWindows * (kCtx - 1));
  auto db = Db::open(o.out);
  ZS_CHECK_EQ(db->integrityCheck(), std::string("ok"));
  for (int layer = 0; layer < 2; ++layer) {
    torch::Tensor f = bruteActs(layer).slice(1, 1);  // BOS excluded
    torch::Tensor wm = f.amax(1);                     // [W, dSae]
    int live = 0;
    for (int64_t j = 0; j < kDSae; ++j) {
      auto d = readDashboard(*db, layer, j);
      const auto& s = d.stats;
      const int64_t fire = (f.select(2, j) > 0).sum().item<int64_t>();
      ZS_CHECK_EQ(s.fireCount, fire);
      ZS_CHECK_EQ(s.tokens, kWindows * (kCtx - 1));
      ZS_CHECK_EQ(s.dead, fire == 0);
      if (j < 3) ZS_CHECK(s.dead);
      live += !s.dead;
      ZS_CHECK(std::abs(s.maxActivation - f.select(2, j).max().item<float>()) <= 1e-5 * (1 + s.maxActivation));
      if (fire > 0) {
        const double mean = f.select(2, j).sum().item<double>() / fire;
        ZS_CHECK(std::abs(s.meanActivation - mean) <= 1e-5 * (1 + mean));
      }
      // Histogram: counts sum to the tokens seen; the zero bin is the non-firing tokens.
      int64_t total = 0;
      for (auto c : d.histCounts) total += c;
      ZS_CHECK_EQ(total, s.tokens);
      ZS_CHECK_EQ(d.histCounts[0], s.tokens - fire);
      ZS_CHECK_EQ(d.histCounts.size(), size_t(kHistSlots + 1));
      // True top-k by window max, ties to the earlier window.
      std::vector<std::pair<float, int64_t>> ref;
      for (int64_t w = 0; w < kWindows; ++w)
        if (wm[w][j].item<float>() > 0) ref.emplace_back(wm[w][j].item<float>(), w);
      std::sort(ref.begin(), ref.end(), [](auto a, auto b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
      const auto all = ref;
      if (ref.size() > size_t(kTopK)) ref.resize(kTopK);
      auto tied = [&](size_t r) {
        for (size_t q = 0; q < all.size(); ++q)
          if (q != r && std::abs(all[q].first - all[r].first) <= 1e-5f * (1 + all[r].first)) return true;
        return false;
      };
      ZS_CHECK_EQ(d.top.size(), ref.size());
      for (size_t r = 0; r < ref.size(); ++r) {
        const auto& e = d.top[r];
        // Same values in the same order; the window must really reach that value
        // (windows may swap only where two values tie to float precision, e.g.
        // two windows whose max sits on the same first token).
        ZS_CHECK(std::abs(e.activation - ref[r].first) <= 1e-5f * (1 + ref[r].first));
        ZS_CHECK(std::abs(e.activation - wm[e.window][j].item<float>()) <= 1e-5f * (1 + ref[r].first));
        if (!tied(r)) ZS_CHECK_EQ(e.window, ref[r].second);
        for (size_t q = 0; q < r; ++q) ZS_CHECK(d.top[q].window != e.window);
        if (r > 0) ZS_CHECK(d.top[r - 1].activation >= e.activation);
        // Per-token activations of the example (BOS shown as 0) and its max position.
        ZS_CHECK_EQ(e.activations.size(), size_t(kCtx));
        ZS_CHECK_FUZZY(e.activations[0], 0.0f);
        for (int64_t t = 1; t < kCtx; ++t)
          ZS_CHECK(std::abs(e.activations[t] - f[e.window][t - 1][j].item<float>()) <= 1e-5f);
        ZS_CHECK_FUZZY(e.activations[e.maxPos], *std::max_element(e.activations.begin(), e.activations.end()));
        ZS_CHECK_EQ(std::vector<int64_t>(e.tokenIds.begin(), e.tokenIds.end()), fixture().windows[e.window]);
      }
      // Quantile examples: at most 2 per bucket, each in its bucket's range, from firing windows.
      auto qe = quantileEdges();
      std::map<int, int> perBucket;
      for (const auto& e : d.quantiles) {
        ZS_CHECK(++perBucket[e.bucket] <= 2);
        ZS_CHECK(e.activation > 0);
        ZS_CHECK(std::abs(e.activation - wm[e.window][j].item<float>()) <= 1e-5f);
        if (e.bucket >= 1) ZS_CHECK(e.activation >= qe[e.bucket - 1] * (1 - 1e-6));
        if (e.bucket <= int(qe.size()) - 1) ZS_CHECK(e.activation < qe[e.bucket] * (1 + 1e-6));
      }
      if (s.dead) ZS_CHECK(d.top.empty() && d.quantiles.empty());
    }
    ZS_CHECK(live > 10);
  }
}

ZS_TEST(dfaLogitsAndHeadsMatchIndependentComputation) {
  auto o = options("dfa.zscope.db");
  ZS_CHECK(buildWith(fixture().in, o, {}).completed);
  auto db = Db::open(o.out);
  auto& fx = fixture();
  torch::InferenceMode g;
  const int layer = 1, H = 4, dh = 8;
  int checked = 0;
  for (int64_t j = 3; j < kDSae && checked < 6; ++j) {
    auto d = readDashboard(*db, layer, j);
    if (d.top.empty()) continue;
    ++checked;
    const auto& e = d.top[0];
    // DFA from captured pattern and v of this one window, term by term.
    ForwardOptions fo;
    fo.capture = Capture({"blocks.1.attn.hook_pattern", "blocks.1.attn.hook_v"});
    auto r = fx.model->forward(torch::tensor(fx.windows[e.window]).view({1, kCtx}), fo);
    auto A = r.cache.at("blocks.1.attn.hook_pattern")[0];  // [H, T, T]
    auto v = r.cache.at("blocks.1.attn.hook_v")[0];        // [T, H, dh]
    auto Wenc = fx.saes[layer]->W_enc;
    float best = -1e30f;
    int bs = -1, bh = -1;
    for (int s = 0; s <= e.maxPos; ++s)
      for (int h = 0; h < H; ++h) {
        float term = A[h][e.maxPos][s].item<float>() *
                     torch::dot(v[s][h], Wenc.index({Slice(h * dh, (h + 1) * dh), j})).item<float>();
        if (term > best) best = term, bs = s, bh = h;
      }
    ZS_CHECK_EQ(e.dfaSource, bs);
    ZS_CHECK_EQ(e.dfaHead, bh);
    ZS_CHECK(std::abs(e.dfaValue - best) <= 1e-5f * (1 + std::abs(best)));
    // Head attribution: decoder block norms, normalised.
    auto Wd = fx.saes[layer]->W_dec[j];
    float tot = 0;
    std::vector<float> norms;
    for (int h = 0; h < H; ++h) norms.push_back(Wd.slice(0, h * dh, (h + 1) * dh).norm().item<float>()), tot += norms.back();
    for (int h = 0; h < H; ++h) ZS_CHECK(std::abs(d.stats.headAttribution[h] - norms[h] / tot) < 1e-5f);
    // Logit effect: sum over heads of W_dec block . W_O[h], times ln_f weight, then . W_U.
    auto WO = fx.model->W_O(layer);  // [H, dh, d]
    torch::Tensor out = torch::zeros({32});
    for (int h = 0; h < H; ++h) out += torch::matmul(Wd.slice(0, h * dh, (h + 1) * dh), WO[h]);
    auto logit = torch::matmul(out * fx.model->weights().lnf_w, fx.model->W_U());
    auto top = std::get<1>(logit.topk(10)), bot = std::get<1>((-logit).topk(10));
    for (int i = 0; i < 10; ++i) {
      ZS_CHECK_EQ(d.stats.logitsTop[i].tokenId, top[i].item<int64_t>());
      ZS_CHECK_EQ(d.stats.logitsBottom[i].tokenId, bot[i].item<int64_t>());
      ZS_CHECK(std::abs(d.stats.logitsTop[i].value - logit[top[i]].item<float>()) < 1e-4f);
    }
    ZS_CHECK(!d.stats.family.empty());
    ZS_CHECK(d.stats.familyNumbers.contains("induction_share"));
  }
  ZS_CHECK(checked == 6);
  // The CLI dashboard JSON: the documented keys, label null until labeled.
  auto j = dashboardJson(readDashboard(*db, 1, 5));
  for (const char* k : {"max_activation", "density", "top_examples", "histogram", "logits", "head_attribution", "label"})
    ZS_CHECK_MSG(j.contains(k), k);
  ZS_CHECK(j["label"].is_null());
  Label l;
  l.layer = 1;
  l.feature = 5;
  l.text = "test";
  setLabel(*db, l);
  ZS_CHECK_EQ(dashboardJson(readDashboard(*db, 1, 5))["label"]["text"].get<std::string>(), std::string("test"));
  // The commands run in-process on the built database.
  std::string out;
  ZS_CHECK_EQ(zs::test::runCli({"feature", "--db", o.out, "--layer", "1", "--feature", "5", "--json"}, &out), 0);
  ZS_CHECK(out.find("\"label\"") != std::string::npos);

  // Recomputing the suggestions from the stored numbers and examples gives the builder's own (the same rule
  // on the same data), keeps the consistency it stored, and leaves labels alone.
  std::vector<std::string> before;
  for (const auto& st : readLayerStats(*db, 1)) before.push_back(st.family);
  ZS_CHECK_EQ(updateFamilySuggestions(*db), int64_t(0));
  const auto after = readLayerStats(*db, 1);
  for (size_t i = 0; i < after.size(); ++i) {
    ZS_CHECK_EQ(after[i].family, before[i]);
    if (!after[i].familyNumbers.is_null()) ZS_CHECK(after[i].familyNumbers.contains("consistency"));
  }
  ZS_CHECK_EQ(getLabel(*db, 1, 5)->text, std::string("test"));
  ZS_CHECK_EQ(zs::test::runCli({"suggest-families", "--db", o.out, "--json"}, &out), 0);
  ZS_CHECK(out.find("\"changed\": 0") != std::string::npos);
}

ZS_TEST(resumeEqualsUninterrupted) {
  auto a = options("full.zscope.db");
  ZS_CHECK(buildWith(fixture().in, a, {}).completed);
  auto b = options("resumed.zscope.db");
  b.checkpointSeconds = 0;  // also exercise periodic checkpoints
  for (int stopAt : {3, 4}) {  // cancelled twice: after batch 3, then after batch 7 (of 10)
    std::atomic<bool> cancel{false};
    int batches = 0;
    Progress p;
    p.cancel = &cancel;
    p.report = [&](double, double, const std::string& m) {
      if (m == "tokens" && ++batches >= stopAt) cancel = true;
    };
    auto r = buildWith(fixture().in, b, p);
    ZS_CHECK(!r.completed);
    auto db = Db::open(b.out);
    ZS_CHECK_EQ(metaGet(*db, "build_status"), std::string("building"));
  }
  auto r = buildWith(fixture().in, b, {});
  ZS_CHECK(r.completed && r.resumed);
  auto da = Db::open(a.out), db = Db::open(b.out);
  checkSameTables(*da, *db, "resumed");
  Stmt left(*db, "SELECT (SELECT count(*) FROM build_candidates) + (SELECT count(*) FROM build_windows)");
  ZS_CHECK(left.step());
  ZS_CHECK_EQ(left.i64(0), int64_t(0));  // checkpoint state cleared when done
}

ZS_TEST(rebuildRules) {
  auto o = options("rules.zscope.db");
  ZS_CHECK(buildWith(fixture().in, o, {}).completed);
  auto again = buildWith(fixture().in, o, {});
  ZS_CHECK(again.alreadyBuilt);
  auto other = o;
  other.topK = 3;
  ZS_CHECK_THROWS(buildWith(fixture().in, other, {}), zs::InputError);
  other.force = true;
  Label l;
  l.layer = 0;
  l.feature = 7;
  l.text = "kept";
  { auto db = Db::open(o.out); setLabel(*db, l); }
  ZS_CHECK(buildWith(fixture().in, other, {}).completed);
  auto db = Db::open(o.out);
  ZS_CHECK(readDashboard(*db, 1, 10).top.size() <= 3);
  ZS_CHECK_EQ(getLabel(*db, 0, 7)->text, std::string("kept"));  // labels survive a rebuild
}

namespace {

// Builds the shards of `o` (each a fresh part) and merges them into `out`.
BuildResult buildShardsAndMerge(BuildOptions o, int n, const std::string& out) {
  std::vector<std::string> parts;
  for (int i = n - 1; i >= 0; --i) {  // any order
    BuildOptions s = o;
    s.shardIndex = i;
    s.shardCount = n;
    s.out = shardPartPath(out, i, n);
    for (const char* suf : {"", "-wal", "-shm"}) std::remove((s.out + suf).c_str());
    auto r = buildWith(fixture().in, s, {});
    ZS_CHECK(r.completed);
    parts.push_back(s.out);
  }
  for (const char* suf : {"", "-wal", "-shm"}) std::remove((out + suf).c_str());
  MergeOptions m;
  m.out = out;
  m.parts = parts;
  BuildOptions rec;
  { auto d = Db::open(parts[0]); rec = recordedOptions(*d); }
  return mergeWith(fixture().in, rec, m, {});
}

}  // namespace

ZS_TEST(shardWindowRangesCoverTheSingleBuild) {
  for (int64_t tokens : {1, 14, 15, 16, 100, 569, 600}) {
    for (int n : {1, 2, 3, 7, 40}) {
      int64_t next = 0;
      for (int i = 0; i < n; ++i) {
        auto [a, b] = shardWindowRange(tokens, 16, 4, i, n);
        ZS_CHECK_EQ(a, next);
        ZS_CHECK(b >= a);
        ZS_CHECK(a % 4 == 0);  // whole batches
        next = b;
      }
      ZS_CHECK_EQ(next, (tokens + 14) / 15);
    }
  }
}

ZS_TEST(exactFixedPointSumsDoNotDependOnOrder) {
  std::vector<float> xs;
  uint64_t s = 7;
  for (int i = 0; i < 2000; ++i) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    const double u = static_cast<double>(s >> 11) / 9007199254740992.0;
    xs.push_back(static_cast<float>(std::pow(10.0, -6 + 10 * u)));  // 1e-6 .. 1e4
  }
  __int128 fwd = 0, rev = 0, halves[2] = {0, 0};
  long double ref = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    addFixed(fwd, xs[i]);
    addFixed(rev, xs[xs.size() - 1 - i]);
    addFixed(halves[i % 2], xs[i]);
    ref += xs[i];
  }
  ZS_CHECK(fwd == rev);
  ZS_CHECK(fwd == halves[0] + halves[1]);
  ZS_CHECK_NEAR(fixedToDouble(fwd), static_cast<double>(ref), 1e-15 * static_cast<double>(ref));
}

// Issue 16: a database built in 2 or 3 shards and merged equals the
// single-process build row by row, byte for byte: counts, histograms, means
// (exact fixed-point sums), maxima, top-k and quantile examples with their DFA,
// logits, families, token strings. The corpus ends in a partial batch.
ZS_TEST(shardedBuildMergesToTheSingleProcessDatabase) {
  auto base = options("single.zscope.db");
  base.tokens = 38 * (kCtx - 1) - 3;  // 38 windows: 9 batches of 4 and one of 2
  ZS_CHECK(buildWith(fixture().in, base, {}).completed);
  auto single = Db::open(base.out);
  ZS_CHECK_EQ(metaGet(*single, "windows_done"), std::string("38"));
  for (int n : {2, 3}) {
    const std::string out = test::tempDir() + "/merged" + std::to_string(n) + ".zscope.db";
    auto r = buildShardsAndMerge(base, n, out);
    ZS_CHECK(r.completed);
    ZS_CHECK_EQ(r.tokens, int64_t(38 * (kCtx - 1)));
    auto merged = Db::open(out);
    checkSameTables(*single, *merged, "merged " + std::to_string(n));
    // The merged file is the single build: the same build on it says "already built".
    auto again = base;
    again.out = out;
    ZS_CHECK(buildWith(fixture().in, again, {}).alreadyBuilt);
  }
  // More shards than batches: the empty parts merge too.
  const std::string out = test::tempDir() + "/merged12.zscope.db";
  ZS_CHECK(buildShardsAndMerge(base, 12, out).completed);
  auto merged = Db::open(out);
  checkSameTables(*single, *merged, "merged 12");
}

// Each shard resumes on its own after an interruption; the merge is unchanged.
ZS_TEST(aShardResumesAfterAnInterruption) {
  auto base = options("single-r.zscope.db");
  ZS_CHECK(buildWith(fixture().in, base, {}).completed);
  const std::string out = test::tempDir() + "/merged-r.zscope.db";
  std::vector<std::string> parts = shardPartPaths(out, 2);
  for (int i = 0; i < 2; ++i) {
    BuildOptions s = base;
    s.shardIndex = i;
    s.shardCount = 2;
    s.out = parts[static_cast<size_t>(i)];
    for (const char* suf : {"", "-wal", "-shm"}) std::remove((s.out + suf).c_str());
    std::atomic<bool> cancel{false};
    int batches = 0;
    Progress p;
    p.cancel = &cancel;
    p.report = [&](double, double, const std::string& msg) {
      if (msg == "tokens" && ++batches >= 2) cancel = true;
    };
    auto r = buildWith(fixture().in, s, p);
    ZS_CHECK(!r.completed);
    {
      auto d = Db::open(s.out);
      ZS_CHECK_EQ(metaGet(*d, "build_status"), std::string("building"));
    }
    if (i == 1) {
      // An unfinished part is refused by the merge, with a message saying what to do.
      MergeOptions m;
      m.out = out;
      m.parts = parts;
      BuildOptions rec;
      { auto d = Db::open(parts[0]); rec = recordedOptions(*d); }
      try {
        mergeWith(fixture().in, rec, m, {});
        ZS_CHECK_MSG(false, "an unfinished part was merged");
      } catch (const zs::InputError& e) {
        ZS_CHECK(std::string(e.what()).find("unfinished shard") != std::string::npos);
      }
    }
    auto r2 = buildWith(fixture().in, s, {});
    ZS_CHECK(r2.completed && r2.resumed);
    ZS_CHECK(buildWith(fixture().in, s, {}).alreadyBuilt);
  }
  MergeOptions m;
  m.out = out;
  m.parts = parts;
  m.removeParts = true;
  BuildOptions rec;
  { auto d = Db::open(parts[0]); rec = recordedOptions(*d); }
  ZS_CHECK(mergeWith(fixture().in, rec, m, {}).completed);
  ZS_CHECK(!std::ifstream(parts[0]).good());  // removed after the merge
  auto a = Db::open(base.out), b = Db::open(out);
  checkSameTables(*a, *b, "resumed shards");
}

// Parts that do not make one build are refused: missing, duplicated, from
// other options, and a shard resumed with another shard count.
ZS_TEST(mergeRefusesPartsThatDoNotFit) {
  auto base = options("refuse.zscope.db");
  const std::string out = test::tempDir() + "/refuse-merged.zscope.db";
  std::vector<std::string> parts;
  for (int i = 0; i < 3; ++i) {
    BuildOptions s = base;
    s.shardIndex = i;
    s.shardCount = 3;
    s.out = shardPartPath(out, i, 3);
    for (const char* suf : {"", "-wal", "-shm"}) std::remove((s.out + suf).c_str());
    ZS_CHECK(buildWith(fixture().in, s, {}).completed);
    parts.push_back(s.out);
  }
  BuildOptions other = base;
  other.seed = 99;
  other.shardIndex = 2;
  other.shardCount = 3;
  other.out = test::tempDir() + "/other-seed.part";
  std::remove(other.out.c_str());
  ZS_CHECK(buildWith(fixture().in, other, {}).completed);
  BuildOptions rec;
  { auto d = Db::open(parts[0]); rec = recordedOptions(*d); }
  auto refused = [&](std::vector<std::string> ps, const std::string& words) {
    MergeOptions m;
    m.out = out;
    m.parts = std::move(ps);
    try {
      mergeWith(fixture().in, rec, m, {});
      ZS_CHECK_MSG(false, "merged: " + words);
    } catch (const zs::InputError& e) {
      ZS_CHECK_MSG(std::string(e.what()).find(words) != std::string::npos, e.what());
    }
  };
  refused({parts[0], parts[1]}, "shard 2/3 is missing");
  refused({parts[0], parts[1], parts[1]}, "again");
  refused({parts[0], parts[1], other.out}, "other options");
  refused({parts[0], parts[1], test::tempDir() + "/no-such.part"}, "no such part file");
  // A part resumed with another shard count is refused by the build.
  BuildOptions wrong = base;
  wrong.shardIndex = 0;
  wrong.shardCount = 2;
  wrong.out = parts[0];
  ZS_CHECK_THROWS(buildWith(fixture().in, wrong, {}), zs::InputError);
  wrong.shardIndex = 3;
  wrong.shardCount = 3;
  ZS_CHECK_THROWS(buildWith(fixture().in, wrong, {}), zs::UsageError);
}

// An interrupted build saved by an older Zscope (8-byte double sums, no
// build_state_format) is refused with a message saying what to do; --force
// restarts it. Finished databases need nothing (same schema).
ZS_TEST(anOlderInterruptedStateIsRefusedClearly) {
  auto o = options("old-state.zscope.db");
  std::atomic<bool> cancel{false};
  Progress p;
  p.cancel = &cancel;
  p.report = [&](double, double, const std::string& m) {
    if (m == "tokens") cancel = true;
  };
  ZS_CHECK(!buildWith(fixture().in, o, p).completed);
  {
    auto db = Db::open(o.out);
    db->exec("DELETE FROM meta WHERE key='build_state_format'");
  }
  try {
    buildWith(fixture().in, o, {});
    ZS_CHECK_MSG(false, "an old state was resumed");
  } catch (const zs::InputError& e) {
    const std::string m = e.what();
    ZS_CHECK(m.find("older Zscope") != std::string::npos && m.find("--force") != std::string::npos);
  }
  o.force = true;
  ZS_CHECK(buildWith(fixture().in, o, {}).completed);
}
