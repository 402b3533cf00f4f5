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
}

// What must match for a saved state to be resumed (the batch size too: float
// sums are per batch, so a different batch would change the last bits).
nlohmann::json signature(const BuildInputs& in, const BuildOptions& o) {
  std::vector<std::string> saes;
  for (const auto* s : in.saes) saes.push_back(s->cfg.hook_name + " d_sae=" + std::to_string(s->cfg.d_sae));
  return {{"model", in.modelName}, {"saes", saes},       {"corpus", o.corpus},  {"format", o.corpusFormat},
          {"tokens", o.tokens},    {"context", o.context}, {"top_k", o.topK},  {"samples", o.samplesPerBucket},
          {"batch", o.batch},      {"seed", o.seed}};
}

BuildState freshState(const BuildInputs& in, const BuildOptions& o) {
  BuildState st;
  const torch::Device dev = in.model->device();
  for (const auto* s : in.saes) {
    LayerState ls;
    ls.layer = static_cast<int>(s->layer());
    ls.sae = s;
    ls.dSae = s->cfg.d_sae;
    auto opt = torch::TensorOptions().device(dev);
    ls.fire = torch::zeros({ls.dSae}, opt.dtype(torch::kInt64));
    ls.sum = torch::zeros({ls.dSae}, opt.dtype(torch::kDouble));
    ls.max = torch::zeros({ls.dSae}, opt.dtype(torch::kFloat));
    ls.hist = torch::zeros({ls.dSae, kHistSlots}, opt.dtype(torch::kInt64));
    ls.top.assign(static_cast<size_t>(ls.dSae), {});
    ls.quant.assign(static_cast<size_t>(ls.dSae * kQuantBuckets), {});
    st.layers.push_back(std::move(ls));
  }
  (void)o;
  return st;
}

}  // namespace

BuildResult buildWith(const BuildInputs& in, const BuildOptions& opts, const Progress& progress) {
  BuildOptions o = opts;
  // 0: the model's context, at most 128 tokens.
  if (o.context == 0) o.context = std::min<int64_t>(128, in.model->spec().nCtx);
  validate(o);
  if (in.saes.empty()) throw UsageError("give at least one --sae DIR");
  const auto t0 = Clock::now();
  BuildResult res;
  for (const auto* s : in.saes) res.layers.push_back(static_cast<int>(s->layer()));
  if (o.context > in.model->spec().nCtx)
    throw UsageError("--context " + std::to_string(o.context) + " exceeds the model's n_positions (" +
                     std::to_string(in.model->spec().nCtx) + ")");
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
  if (!status.empty() && metaGet(*db, "build_signature") != sig && !o.force)
    throw InputError(o.out, "was built (or started) with different options; use --force to rebuild it "
                            "(labels are kept) or choose another --out");
  if (status == "done" && !o.force) {
    res.completed = res.alreadyBuilt = true;
    res.tokens = std::stoll(metaGet(*db, "tokens_done", "0"));
    return res;
  }
  BuildState st = freshState(in, o);
  if (status == "building" && !o.force) {
    loadState(*db, st);
    res.resumed = true;
  } else {
    db->transaction([&] {
      db->exec("DELETE FROM build_accumulators; DELETE FROM build_candidates; DELETE FROM build_windows;");
      metaSet(*db, "build_status", "building");
      metaSet(*db, "build_signature", sig);
      metaSet(*db, "model_name", in.modelName);
      metaSet(*db, "model_dir", o.modelDir);
      metaSet(*db, "saes", nlohmann::json(o.saeDirs).dump());
      nlohmann::json fps = nlohmann::json::object();
      for (const auto* sae : in.saes) fps[std::to_string(sae->layer())] = sae->fingerprint();
      metaSet(*db, "sae_fingerprints", fps.dump());
      metaSet(*db, "corpus", o.corpus);
      metaSet(*db, "context", std::to_string(o.context));
      metaSet(*db, "top_k", std::to_string(o.topK));
      metaSet(*db, "hist_edges", nlohmann::json(histEdges()).dump());
      metaSet(*db, "quantile_edges", nlohmann::json(quantileEdges()).dump());
      saveState(*db, st);
    });
  }

  if (st.windowsDone > 0 && windows->skip(st.windowsDone) != st.windowsDone)
    throw InputError(o.corpus, "is shorter than when this build was started");

  const auto tPass = Clock::now();
  auto lastSave = Clock::now();
  const int64_t startTokens = st.tokensDone;
  std::vector<std::vector<int64_t>> batch;
  std::vector<int64_t> w;
  bool exhausted = false;
  while (st.tokensDone < o.tokens && !exhausted) {
    if (progress.cancelled()) {
      db->transaction([&] { saveState(*db, st); });
      res.tokens = st.tokensDone;
      res.windows = st.windowsDone;
      res.seconds = since(t0);
      return res;  // completed = false
    }
    batch.clear();
    int64_t planned = st.tokensDone;
    while (static_cast<int64_t>(batch.size()) < o.batch && planned < o.tokens) {
      if (!windows->next(w)) {
        exhausted = true;
        break;
      }
      planned += static_cast<int64_t>(w.size()) - 1;
      batch.push_back(w);
    }
    if (batch.empty()) break;
    accumulateBatch(st, in, o, batch, st.windowsDone);
    progress(static_cast<double>(st.tokensDone), static_cast<double>(o.tokens), "tokens");
    if (since(lastSave) >= o.checkpointSeconds) {
      db->transaction([&] { saveState(*db, st); });
      lastSave = Clock::now();
    }
  }
  res.passSeconds = since(tPass);
  if (st.tokensDone == 0) throw InputError(o.corpus, "the corpus holds no tokens");
  // Finishing is one transaction: the dashboards appear all at once or not at all.
  db->transaction([&] {
    saveState(*db, st);  // a crash while finishing resumes here, not from the start
  });
  db->transaction([&] {
    finishBuild(*db, st, in, o, progress);
    db->exec("DELETE FROM build_accumulators; DELETE FROM build_candidates; DELETE FROM build_windows;");
    metaSet(*db, "build_status", "done");
  });
  res.completed = true;
  res.tokens = st.tokensDone;
  res.windows = st.windowsDone;
  res.seconds = since(t0);
  res.tokensPerSecond = res.passSeconds > 0 ? (st.tokensDone - startTokens) / res.passSeconds : 0;
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
