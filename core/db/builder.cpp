// The feature-database build: load inputs, resume or start, stream the corpus
// in batches with periodic checkpoints, then finish the dashboards.
#include <algorithm>
#include <chrono>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/data/corpus.h"
#include "core/db/builder_internal.h"
#include "core/session/session.h"
#include "core/db/db.h"
#include "core/base/error.h"
#include "core/base/paths.h"
#include "core/base/runtime.h"
#include "core/text/tokenizer.h"

namespace zs::db {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

void validate(const BuildOptions& o) {
  if (o.out.empty()) throw UsageError("missing --out FILE");
  if (o.tokens < 1) throw UsageError("--tokens must be at least 1");
  if (o.context != 0 && o.context < 2) throw UsageError("--context must be at least 2 (BOS + one token), or 0 for the model's");
  if (o.topK < 1) throw UsageError("--top-k must be at least 1");
  if (o.samplesPerBucket < 0) throw UsageError("samples per bucket must be >= 0");
  if (o.batch < 1) throw UsageError("--batch must be at least 1");
  if (o.shardCount < 1 || o.shardIndex < 0 || o.shardIndex >= o.shardCount)
    throw UsageError("--shard must be i/n with 0 <= i < n (got " + std::to_string(o.shardIndex) + "/" +
                     std::to_string(o.shardCount) + ")");
}

// What must match for a saved state to be resumed (the batch size too: float
// sums are per batch, so a different batch would change the last bits). A
// shard's part adds "shard": "i/n"; the merged database has the signature of
// the single-process build, so running that build on it says "already built".
nlohmann::json signature(const BuildInputs& in, const BuildOptions& o) {
  std::vector<std::string> saes;
  // The weights' fingerprint too (issue 19): a build never resumes, or reports
  // "already built", after the SAE behind it changed.
  for (const auto* s : in.saes)
    saes.push_back(s->cfg.hook_name + " d_sae=" + std::to_string(s->cfg.d_sae) + " weights=" + s->fingerprint());
  nlohmann::json j = {{"model", in.modelName}, {"saes", saes},       {"corpus", o.corpus},  {"format", o.corpusFormat},
                      {"tokens", o.tokens},    {"context", o.context}, {"top_k", o.topK},  {"samples", o.samplesPerBucket},
                      {"batch", o.batch},      {"seed", o.seed}};
  if (o.shardCount > 1) j["shard"] = std::to_string(o.shardIndex) + "/" + std::to_string(o.shardCount);
  return j;
}

// The options a part records, so that merge-db can load the same model and SAEs.
nlohmann::json optionsJson(const BuildOptions& o) {
  std::error_code ec;
  return {{"model_dir", o.modelDir}, {"saes", o.saeDirs},   {"corpus", o.corpus},   {"format", o.corpusFormat},
          {"tokens", o.tokens},      {"context", o.context}, {"top_k", o.topK},     {"samples", o.samplesPerBucket},
          {"batch", o.batch},        {"seed", o.seed},       {"device", o.device},  {"shard_index", o.shardIndex},
          {"shard_count", o.shardCount}, {"cwd", std::filesystem::current_path(ec).string()}};
}

BuildState freshState(const BuildInputs& in) {
  BuildState st;
  const torch::Device dev = in.model->device();
  for (const auto* s : in.saes) {
    LayerState ls;
    ls.layer = static_cast<int>(s->layer());
    ls.sae = s;
    ls.dSae = s->cfg.d_sae;
    auto opt = torch::TensorOptions().device(dev);
    ls.fire = torch::zeros({ls.dSae}, opt.dtype(torch::kInt64));
    ls.sum.assign(static_cast<size_t>(ls.dSae), 0);
    ls.max = torch::zeros({ls.dSae}, opt.dtype(torch::kFloat));
    ls.hist = torch::zeros({ls.dSae, kHistSlots}, opt.dtype(torch::kInt64));
    ls.top.assign(static_cast<size_t>(ls.dSae), {});
    ls.quant.assign(static_cast<size_t>(ls.dSae * kQuantBuckets), {});
    st.layers.push_back(std::move(ls));
  }
  return st;
}

// The metadata of a fresh build (or merge) and its empty state.
void startOutput(Db& db, const BuildInputs& in, const BuildOptions& o, const std::string& sig, const BuildState& st) {
  db.exec("DELETE FROM build_accumulators; DELETE FROM build_candidates; DELETE FROM build_windows;");
  metaSet(db, "build_status", "building");
  metaSet(db, "build_signature", sig);
  metaSet(db, "build_options", optionsJson(o).dump());
  metaSet(db, "shard", o.shardCount > 1 ? std::to_string(o.shardIndex) + "/" + std::to_string(o.shardCount) : "");
  metaSet(db, "model_name", in.modelName);
  metaSet(db, "model_dir", o.modelDir);
  metaSet(db, "saes", nlohmann::json(o.saeDirs).dump());
  nlohmann::json fps = nlohmann::json::object();
  for (const auto* sae : in.saes) fps[std::to_string(sae->layer())] = sae->fingerprint();
  metaSet(db, "sae_fingerprints", fps.dump());
  metaSet(db, "corpus", o.corpus);
  metaSet(db, "context", std::to_string(o.context));
  metaSet(db, "top_k", std::to_string(o.topK));
  metaSet(db, "hist_edges", nlohmann::json(histEdges()).dump());
  metaSet(db, "quantile_edges", nlohmann::json(quantileEdges()).dump());
  saveState(db, st);
}

// Finishing is one transaction: the dashboards appear all at once or not at all.
void finishOutput(Db& db, const BuildState& st, const BuildInputs& in, const BuildOptions& o, const Progress& progress) {
  db.transaction([&] {
    saveState(db, st);  // a crash while finishing resumes here, not from the start
  });
  db.transaction([&] {
    finishBuild(db, st, in, o, progress);
    db.exec("DELETE FROM build_accumulators; DELETE FROM build_candidates; DELETE FROM build_windows;");
    metaSet(db, "build_status", "done");
  });
}

BuildOptions resolved(const BuildInputs& in, const BuildOptions& opts) {
  BuildOptions o = opts;
  // 0: the model's context, at most 128 tokens.
  if (o.context == 0) o.context = std::min<int64_t>(128, in.model->spec().nCtx);
  validate(o);
  if (in.saes.empty()) throw UsageError("give at least one --sae DIR");
  if (o.context > in.model->spec().nCtx)
    throw UsageError("--context " + std::to_string(o.context) + " exceeds the model's n_positions (" +
                     std::to_string(in.model->spec().nCtx) + ")");
  return o;
}

std::string shardText(int i, int n) { return std::to_string(i) + "/" + std::to_string(n); }

}  // namespace

std::pair<int64_t, int64_t> shardWindowRange(int64_t tokens, int64_t context, int64_t batch, int index, int count) {
  const int64_t perWindow = context - 1;
  const int64_t windows = (tokens + perWindow - 1) / perWindow;
  const int64_t batches = (windows + batch - 1) / batch;
  const int64_t b0 = batches * index / count, b1 = batches * (index + 1) / count;
  return {std::min(windows, b0 * batch), std::min(windows, b1 * batch)};
}

std::string shardPartPath(const std::string& out, int index, int count) {
  return out + ".part" + std::to_string(index) + "-of-" + std::to_string(count);
}

std::vector<std::string> shardPartPaths(const std::string& out, int count) {
  std::vector<std::string> v;
  for (int i = 0; i < count; ++i) v.push_back(shardPartPath(out, i, count));
  return v;
}

BuildOptions recordedOptions(Db& db) {
  const std::string s = metaGet(db, "build_options");
  if (s.empty()) throw InputError(db.path(), "records no build options (not written by build-db of this Zscope)");
  try {
    const auto j = nlohmann::json::parse(s);
    BuildOptions o;
    o.modelDir = j.at("model_dir").get<std::string>();
    o.saeDirs = j.at("saes").get<std::vector<std::string>>();
    // Relative paths were relative to the directory the build ran in.
    const std::filesystem::path cwd = j.value("cwd", std::string());
    auto fix = [&](std::string& p) {
      std::error_code ec;
      if (!cwd.empty() && std::filesystem::path(p).is_relative() && std::filesystem::exists(cwd / p, ec))
        p = (cwd / p).string();
    };
    fix(o.modelDir);
    for (auto& d : o.saeDirs) fix(d);
    o.corpus = j.at("corpus").get<std::string>();
    o.corpusFormat = j.at("format").get<std::string>();
    o.tokens = j.at("tokens").get<int64_t>();
    o.context = j.at("context").get<int64_t>();
    o.topK = j.at("top_k").get<int64_t>();
    o.samplesPerBucket = j.at("samples").get<int64_t>();
    o.batch = j.at("batch").get<int64_t>();
    o.seed = j.at("seed").get<uint64_t>();
    o.device = j.value("device", std::string("auto"));
    o.shardIndex = j.value("shard_index", 0);
    o.shardCount = j.value("shard_count", 1);
    return o;
  } catch (const nlohmann::json::exception& e) {
    throw InputError(db.path(), std::string("has unreadable build options: ") + e.what());
  }
}

BuildResult buildWith(const BuildInputs& in, const BuildOptions& opts, const Progress& progress) {
  const BuildOptions o = resolved(in, opts);
  const bool shard = o.shardCount > 1;
  const auto t0 = Clock::now();
  BuildResult res;
  res.out = o.out;
  for (const auto* s : in.saes) res.layers.push_back(static_cast<int>(s->layer()));
  const auto [wBegin, wEnd] = shardWindowRange(o.tokens, o.context, o.batch, o.shardIndex, o.shardCount);
  // The corpus is opened before the database so that a bad path leaves no file behind.
  WindowOptions wo;
  wo.context = o.context;
  wo.bosId = in.bosId;
  wo.pack = true;  // equal windows: whole batches, and the BOS-per-window rule of harvesting
  wo.vocabSize = in.model->spec().vocab;
  auto windows = TokenWindows::open(o.corpus, in.tokenizer, wo, o.corpusFormat);
  OpenOptions oo;
  oo.durable = false;  // the build is resumable; labels opened elsewhere stay durable
  auto db = Db::open(o.out, oo);
  const std::string sig = signature(in, o).dump();
  const std::string status = metaGet(*db, "build_status");
  const std::string doneStatus = shard ? "shard-done" : "done";
  if (!status.empty() && metaGet(*db, "build_signature") != sig && !o.force)
    throw InputError(o.out, "was built (or started) with different options; use --force to rebuild it "
                            "(labels are kept) or choose another --out");
  if (status == doneStatus && !o.force) {
    res.completed = res.alreadyBuilt = true;
    res.tokens = std::stoll(metaGet(*db, "tokens_done", "0"));
    return res;
  }
  BuildState st = freshState(in);
  if (status == "building" && !o.force) {
    loadState(*db, st);
    res.resumed = true;
  } else {
    db->transaction([&] { startOutput(*db, in, o, sig, st); });
  }

  bool exhausted = false;
  const int64_t skipTo = wBegin + st.windowsDone;
  if (skipTo > 0 && windows->skip(skipTo) != skipTo) {
    if (st.windowsDone > 0) throw InputError(o.corpus, "is shorter than when this build was started");
    exhausted = true;  // a shard past the end of a short corpus: an empty part
  }

  const auto tPass = Clock::now();
  auto lastSave = Clock::now();
  const int64_t startTokens = st.tokensDone;
  const double plannedTokens = static_cast<double>((wEnd - wBegin) * (o.context - 1));
  std::vector<std::vector<int64_t>> batch;
  std::vector<int64_t> w;
  while (wBegin + st.windowsDone < wEnd && !exhausted) {
    if (progress.cancelled()) {
      db->transaction([&] { saveState(*db, st); });
      res.tokens = st.tokensDone;
      res.windows = st.windowsDone;
      res.seconds = since(t0);
      return res;  // completed = false
    }
    batch.clear();
    const int64_t first = wBegin + st.windowsDone;
    while (static_cast<int64_t>(batch.size()) < o.batch && first + static_cast<int64_t>(batch.size()) < wEnd) {
      if (!windows->next(w)) {
        exhausted = true;
        break;
      }
      batch.push_back(w);
    }
    if (batch.empty()) break;
    accumulateBatch(st, in, o, batch, first);
    progress(static_cast<double>(st.tokensDone), shard ? plannedTokens : static_cast<double>(o.tokens), "tokens");
    if (since(lastSave) >= o.checkpointSeconds) {
      db->transaction([&] { saveState(*db, st); });
      lastSave = Clock::now();
    }
  }
  res.passSeconds = since(tPass);
  if (shard) {
    // A part: the pass's state, merged (and finished) by mergeFeatureDbShards.
    db->transaction([&] {
      saveState(*db, st);
      metaSet(*db, "build_status", doneStatus);
    });
  } else {
    if (st.tokensDone == 0) throw InputError(o.corpus, "the corpus holds no tokens");
    finishOutput(*db, st, in, o, progress);
  }
  res.completed = true;
  res.tokens = st.tokensDone;
  res.windows = st.windowsDone;
  res.seconds = since(t0);
  res.tokensPerSecond = res.passSeconds > 0 ? (st.tokensDone - startTokens) / res.passSeconds : 0;
  return res;
}

BuildResult mergeWith(const BuildInputs& in, const BuildOptions& recorded, const MergeOptions& m,
                      const Progress& progress) {
  const auto t0 = Clock::now();
  if (m.out.empty()) throw UsageError("missing --out FILE");
  if (m.parts.empty()) throw UsageError("give the part files of a sharded build-db");
  BuildOptions o = recorded;
  o.shardIndex = 0;
  o.shardCount = 1;
  o.out = m.out;
  o = resolved(in, o);
  BuildResult res;
  res.out = m.out;
  for (const auto* s : in.saes) res.layers.push_back(static_cast<int>(s->layer()));

  // Every part must be a finished shard of the same build; together they cover 0..n-1 once.
  int count = -1;
  std::vector<std::string> byIndex;
  std::error_code ec;
  for (const auto& p : m.parts) {
    if (!std::filesystem::is_regular_file(p, ec)) throw InputError(p, "no such part file");
    if (std::filesystem::equivalent(p, m.out, ec)) throw UsageError("--out must not be one of the parts");
  }
  BuildState merged = freshState(in);
  for (const auto& p : m.parts) {
    auto db = Db::open(p);
    const std::string status = metaGet(*db, "build_status");
    const std::string sh = metaGet(*db, "shard");
    if (sh.empty()) throw InputError(p, "is not a part of a sharded build (build-db --shard i/n writes those)");
    if (status == "building")
      throw InputError(p, "is an unfinished shard (" + metaGet(*db, "tokens_done", "0") +
                              " tokens so far); run its build-db --shard " + sh + " again to finish it");
    if (status != "shard-done") throw InputError(p, "is not a finished shard (status '" + status + "')");
    const BuildOptions po = recordedOptions(*db);
    if (count < 0) {
      count = po.shardCount;
      byIndex.assign(static_cast<size_t>(count), "");
    } else if (po.shardCount != count) {
      throw InputError(p, "is shard " + shardText(po.shardIndex, po.shardCount) + " but " + m.parts[0] +
                              " belongs to a build in " + std::to_string(count) + " shards");
    }
    if (po.shardIndex < 0 || po.shardIndex >= count) throw InputError(p, "has a bad shard index");
    if (!byIndex[static_cast<size_t>(po.shardIndex)].empty())
      throw InputError(p, "is shard " + shardText(po.shardIndex, count) + " again (also " +
                              byIndex[static_cast<size_t>(po.shardIndex)] + ")");
    byIndex[static_cast<size_t>(po.shardIndex)] = p;
    BuildOptions want = o;
    want.shardIndex = po.shardIndex;
    want.shardCount = count;
    if (metaGet(*db, "build_signature") != signature(in, want).dump())
      throw InputError(p, "was built with other options, model, SAEs or corpus than " + m.parts[0]);
    BuildState part = freshState(in);
    loadState(*db, part);
    mergeState(merged, std::move(part), o);
  }
  for (int i = 0; i < count; ++i)
    if (byIndex[static_cast<size_t>(i)].empty())
      throw InputError(shardPartPath(m.out, i, count),
                       "shard " + shardText(i, count) + " is missing from the parts given to merge-db");
  if (merged.tokensDone == 0) throw InputError(o.corpus, "the corpus holds no tokens");

  OpenOptions oo;
  oo.durable = false;
  auto db = Db::open(m.out, oo);
  const std::string sig = signature(in, o).dump();
  const std::string status = metaGet(*db, "build_status");
  if (!status.empty() && metaGet(*db, "build_signature") != sig && !m.force)
    throw InputError(m.out, "was built (or started) with different options; use --force to replace its "
                            "dashboards (labels are kept) or choose another --out");
  if (status == "done" && !m.force) {
    res.completed = res.alreadyBuilt = true;
    res.tokens = std::stoll(metaGet(*db, "tokens_done", "0"));
    return res;
  }
  db->transaction([&] { startOutput(*db, in, o, sig, freshState(in)); });
  finishOutput(*db, merged, in, o, progress);
  db.reset();
  if (m.removeParts)
    for (const auto& p : m.parts)
      for (const char* suf : {"", "-wal", "-shm"}) std::filesystem::remove(p + suf, ec);
  res.completed = true;
  res.tokens = merged.tokensDone;
  res.windows = merged.windowsDone;
  res.seconds = since(t0);
  return res;
}

namespace {

struct Loaded {
  std::unique_ptr<Session> session;
  BuildInputs in;
};

Loaded load(const BuildOptions& o) {
  validate(o);
  if (o.saeDirs.empty()) throw UsageError("give at least one --sae DIR");
  Loaded L;
  SessionOptions so;
  so.device = o.device;
  L.session = Session::open(o.modelDir, so);
  const Session& s = *L.session;
  L.session->loadSaes(o.saeDirs);
  L.in.model = &s.model();
  L.in.saes = s.saePtrs();
  L.in.tokenizer = s.tokenizer();
  const std::string& dir = s.modelDir();
  L.in.modelName = std::filesystem::path(dir).lexically_normal().filename().string();
  if (L.in.modelName.empty()) L.in.modelName = std::filesystem::path(dir).parent_path().filename().string();
  L.in.bosId = s.bosId();
  if (L.in.bosId < 0) throw InputError(dir, "no BOS token: config.json lacks bos_token_id and there is no tokenizer");
  return L;
}

}  // namespace

BuildResult buildFeatureDb(const BuildOptions& o, const Progress& progress) {
  Loaded L = load(o);
  return buildWith(L.in, o, progress);
}

BuildResult buildFeatureDbShard(const BuildOptions& opts, int rank, int world, const Progress& progress) {
  BuildOptions o = opts;
  o.shardIndex = rank;
  o.shardCount = world;
  if (world > 1) o.out = shardPartPath(opts.out, rank, world);
  return buildFeatureDb(o, progress);
}

BuildResult mergeFeatureDbShards(const MergeOptions& m, const Progress& progress) {
  if (m.parts.empty()) throw UsageError("give the part files of a sharded build-db");
  std::error_code ec;
  if (!std::filesystem::is_regular_file(m.parts[0], ec)) throw InputError(m.parts[0], "no such part file");
  BuildOptions o;
  {
    auto db = Db::open(m.parts[0]);
    o = recordedOptions(*db);
  }
  o.device = m.device;
  o.out = m.out;
  Loaded L = load(o);
  return mergeWith(L.in, o, m, progress);
}

double measureForwardEncodeFloor(const BuildOptions& opts, const Progress& progress) {
  BuildOptions o = opts;
  Loaded L = load(o);
  o.context = opts.context == 0 ? std::min<int64_t>(128, L.in.model->spec().nCtx) : opts.context;
  WindowOptions wo;
  wo.context = o.context;
  wo.bosId = L.in.bosId;
  auto windows = TokenWindows::open(o.corpus, L.in.tokenizer, wo, o.corpusFormat);
  std::vector<std::string> names;
  for (const auto* s : L.in.saes) names.push_back("blocks." + std::to_string(s->layer()) + ".attn.hook_z");
  ForwardOptions fo;
  fo.capture = Capture(names);
  fo.stopAfterZOfLayer = L.in.saes.back()->layer();
  torch::InferenceMode guard;
  int64_t tokens = 0;
  std::vector<int64_t> flat, w;
  const auto t0 = Clock::now();
  while (tokens < o.tokens && !progress.cancelled()) {
    flat.clear();
    int64_t B = 0;
    while (B < o.batch && tokens < o.tokens && windows->next(w)) {
      flat.insert(flat.end(), w.begin(), w.end());
      tokens += static_cast<int64_t>(w.size()) - 1;
      ++B;
    }
    if (B == 0) break;
    torch::Tensor ids = torch::from_blob(flat.data(), {B, o.context}, torch::kInt64).clone();
    auto r = L.in.model->forward(ids, fo);
    for (const auto* s : L.in.saes) {
      torch::Tensor f = s->encode(r.cache.at("blocks." + std::to_string(s->layer()) + ".attn.hook_z").reshape({B, o.context, -1}));
      (void)f.sum().item<float>();  // forces the work on asynchronous devices
    }
    progress(static_cast<double>(tokens), static_cast<double>(o.tokens), "tokens (floor)");
  }
  const double s = since(t0);
  return s > 0 ? tokens / s : 0;
}

}  // namespace zs::db
