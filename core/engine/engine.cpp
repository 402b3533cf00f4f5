// Engine: see engine.h. All torch work runs under torch::InferenceMode on the
// calling (worker) thread; attribution itself is core/attribution.h.
#include "core/engine/engine.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>
#include <filesystem>
#include <map>

#include "core/attribution/attribution.h"
#include "core/db/db.h"
#include "core/db/features.h"
#include "core/db/labels.h"
#include "core/base/error.h"
#include "core/model/model.h"
#include "core/session/session.h"
#include "core/base/runtime.h"
#include "core/sae/sae.h"
#include "core/text/tokenizer.h"

namespace fs = std::filesystem;

namespace zs {

struct Engine::Impl {
  std::unique_ptr<Session> session;  // model, tokenizer, SAEs (one per layer)
  ModelInfo info;
  std::map<int, SaeInfo> saeInfo;
  std::map<int, std::vector<float>> headFrac;  // layer -> [d_sae][H] decoder-norm fractions
  std::unique_ptr<db::Db> db;
  std::string dbFile;
  std::map<std::pair<int, int64_t>, db::Label> labels;  // current labels of the open database
  std::map<std::pair<int, int64_t>, std::string> suggested;  // family suggestions of the database
  std::unique_ptr<Attribution> attr;
  std::vector<int64_t> ids;     // the analysed prompt's tokens
  torch::Tensor logProbs;       // [T, vocab] log-softmax of the logits, computed on first use
  uint64_t generation = 0;
  std::string databaseNotice;  // why loading SAEs closed the database (empty: it did not)

  const Attribution& attribution() const {
    if (!attr) throw InputError("prompt", "analyse a prompt first");
    return *attr;
  }
  void dropAnalysis() {
    attr.reset();
    ids.clear();
    logProbs = torch::Tensor();
    ++generation;
  }
  std::pair<std::string, std::string> labelOf(int layer, int64_t f) const {
    auto it = labels.find({layer, f});
    if (it != labels.end()) return {it->second.text, it->second.family};
    auto s = suggested.find({layer, f});
    return {std::string(), s != suggested.end() ? s->second + "?" : std::string()};
  }
  RdfaNode convert(const AttrNode& n) const {
    RdfaNode r;
    r.id = n.id;
    r.generation = generation;
    r.kind = n.kind;
    r.label = n.label;
    r.value = n.value;
    r.layer = n.layer;
    r.pos = n.pos;
    r.head = n.head;
    r.feature = n.feature;
    r.dest = n.dest;
    r.activation = n.activation;
    r.expandable = n.expandable;
    return r;
  }
};

Engine::Engine() : d_(std::make_unique<Impl>()) {}
Engine::~Engine() = default;

namespace {
// Stage `done` of `total` of a load; throws Cancelled when the user cancelled.
void stage(const Progress& p, double done, double total, const std::string& what) {
  if (p.cancelled()) throw Cancelled();
  p(done, total, what);
}
// Why a feature database does not belong to the loaded SAEs (a layer both have
// with another d_sae or other weights); empty when it does.
std::string databaseMismatch(db::Db& db, const std::map<int, SaeInfo>& saes) {
  const db::DbInfo dbi = db::dbInfo(db);
  for (size_t i = 0; i < dbi.layers.size(); ++i) {
    const int layer = dbi.layers[i];
    auto it = saes.find(layer);
    if (it == saes.end()) continue;
    const SaeInfo& si = it->second;
    const auto fp = dbi.saeFingerprints.find(layer);
    if (dbi.featuresPerLayer[i] != si.dSae)
      return "it has " + std::to_string(dbi.featuresPerLayer[i]) + " features for layer " + std::to_string(layer) +
             ", the loaded SAE has " + std::to_string(si.dSae);
    if (fp != dbi.saeFingerprints.end() && fp->second != si.fingerprint)
      return "its layer " + std::to_string(layer) + " SAE had other weights (" + fp->second + ", loaded " +
             si.fingerprint + ")";
  }
  return {};
}

}  // namespace

ModelInfo Engine::loadModel(const std::string& dir, const std::string& device, const Progress& progress) {
  c10::InferenceMode guard;
  SessionOptions so;
  so.device = device;
  so.needTokenizer = true;
  auto session = Session::open(dir, so, progress);
  const ModelSpec& c = session->spec();
  ModelInfo info;
  info.dir = session->modelDir();
  info.name = fs::path(info.dir).lexically_normal().filename().string();
  if (info.name.empty()) info.name = fs::path(info.dir).lexically_normal().parent_path().filename().string();
  info.device = session->device();
  info.architecture = c.architecture;
  info.dtype = c.dtype;
  info.nLayer = c.nLayer;
  info.nHead = c.nHead;
  info.nKvHead = c.nKvHead;
  info.dHead = c.dHead;
  info.dModel = c.dModel;
  info.nCtx = c.nCtx;
  info.vocab = c.vocab;
  info.bosId = session->bosId();
  info.threads = runtime::threads();
  d_->dropAnalysis();
  d_->session = std::move(session);
  d_->info = info;
  d_->saeInfo.clear();
  d_->headFrac.clear();
  return info;
}

ModelInfo Engine::reloadModel(const std::string& device, const Progress& progress) {
  if (!d_->session) throw InputError("model", "no model is open");
  c10::InferenceMode guard;
  SessionOptions so;
  so.device = device;
  so.needTokenizer = true;
  auto session = Session::open(d_->info.dir, so, progress);
  std::vector<std::shared_ptr<Sae>> saes;
  for (const auto& [layer, info] : d_->saeInfo) saes.push_back(session->readSae(info.dir));
  session->setSaes(std::move(saes));
  d_->dropAnalysis();
  d_->session = std::move(session);
  d_->info.device = d_->session->device();
  d_->info.threads = runtime::threads();
  return d_->info;
}

bool Engine::hasModel() const { return d_->session != nullptr; }
const ModelInfo& Engine::model() const { return d_->info; }
std::string Engine::modelDir() const { return d_->info.dir; }
uint64_t Engine::generation() const { return d_->generation; }

// A read and checked SAE, not yet installed in the engine.
struct Engine::PreparedSae {
  std::shared_ptr<Sae> sae;
  SaeInfo info;
  std::vector<float> headFrac;
};

Engine::PreparedSae Engine::prepareSae(const std::string& dir) const {
  if (!d_->session) throw InputError(dir, "open a model before loading an SAE");
  c10::InferenceMode guard;
  PreparedSae p;
  p.sae = d_->session->readSae(dir);  // checks that it fits the model
  const Sae& sae = *p.sae;
  p.info = SaeInfo{dir, sae.cfg.hook_name, static_cast<int>(sae.layer()), sae.cfg.d_in, sae.cfg.d_sae, sae.fingerprint(),
                   sae.cfg.architecture, sae.cfg.k};
  // Head fractions of every feature at once: the feature table shows them for every active feature.
  p.headFrac = headAttributionAll(sae, static_cast<int>(d_->info.nHead));
  return p;
}

void Engine::install(std::vector<PreparedSae>&& ps) {
  std::map<int, std::shared_ptr<Sae>> byLayer;
  for (const auto& s : d_->session->saes()) byLayer[static_cast<int>(s->layer())] = s;
  for (auto& p : ps) byLayer[p.info.layer] = p.sae;
  std::vector<std::shared_ptr<Sae>> all;
  for (auto& [l, s] : byLayer) all.push_back(s);
  d_->session->setSaes(std::move(all));
  d_->dropAnalysis();
  for (auto& p : ps) {
    d_->headFrac[p.info.layer] = std::move(p.headFrac);
    d_->saeInfo[p.info.layer] = p.info;
  }
  // A feature database describes the SAEs it was built from: with other SAEs
  // its dashboards and labels would belong to other features, so it closes.
  d_->databaseNotice.clear();
  if (d_->db) {
    const std::string why = databaseMismatch(*d_->db, d_->saeInfo);
    if (!why.empty()) {
      d_->databaseNotice = "Closed the feature database " + d_->dbFile + ": it was built from other SAEs (" + why + ").";
      d_->db.reset();
      d_->dbFile.clear();
      d_->labels.clear();
      d_->suggested.clear();
    }
  }
}

SaeInfo Engine::loadSae(const std::string& dir) {
  std::vector<PreparedSae> ps;
  ps.push_back(prepareSae(dir));
  SaeInfo info = ps.back().info;
  install(std::move(ps));
  return info;
}

std::vector<SaeInfo> Engine::loadSaeTree(const std::string& dir, const Progress& progress) {
  if (!d_->session) throw InputError(dir, "open a model before loading an SAE");
  const std::vector<std::string> folders = Session::saeFolders({dir});
  std::vector<PreparedSae> ready;
  const double total = static_cast<double>(folders.size());
  for (size_t i = 0; i < folders.size(); ++i) {
    stage(progress, static_cast<double>(i), total, "Reading SAE " + fs::path(folders[i]).filename().string());
    ready.push_back(prepareSae(folders[i]));
  }
  stage(progress, total, total, "SAEs loaded");
  std::vector<SaeInfo> out;
  for (const auto& p : ready) out.push_back(p.info);
  install(std::move(ready));
  return out;
}

std::string Engine::takeDatabaseNotice() {
  std::string n;
  n.swap(d_->databaseNotice);
  return n;
}

void Engine::unloadSaes() {
  d_->dropAnalysis();
  if (d_->session) d_->session->setSaes({});
  d_->saeInfo.clear();
  d_->headFrac.clear();
}

std::vector<SaeInfo> Engine::saes() const {
  std::vector<SaeInfo> v;
  for (const auto& [l, i] : d_->saeInfo) v.push_back(i);
  return v;
}

void Engine::openDatabase(const std::string& file, const Progress& progress) {
  if (!fs::exists(file)) throw InputError(file, "no such feature database");
  stage(progress, 0, 1, "Opening the feature database");
  db::OpenOptions o;
  o.create = false;
  auto db = db::Db::open(file, o);
  stage(progress, 0, 1, "Reading labels");
  std::map<std::pair<int, int64_t>, db::Label> labels;
  for (auto& l : db::listLabels(*db)) labels[{l.layer, l.feature}] = l;
  std::map<std::pair<int, int64_t>, std::string> suggested;
  const db::DbInfo dbi = db::dbInfo(*db);
  const std::vector<int>& layers = dbi.layers;
  if (const std::string why = databaseMismatch(*db, d_->saeInfo); !why.empty())
    throw InputError(file, "this feature database was built from other SAEs than the loaded ones: " + why +
                               ". Open the database built for these SAEs, or build one with zscope-cli build-db.");
  for (size_t i = 0; i < layers.size(); ++i) {
    stage(progress, static_cast<double>(i), static_cast<double>(layers.size()),
          "Reading feature statistics of layer " + std::to_string(layers[i]));
    for (const auto& s : db::readLayerStats(*db, layers[i]))
      if (!s.family.empty()) suggested[{s.layer, s.feature}] = s.family;
  }
  stage(progress, 1, 1, "Feature database opened");
  d_->db = std::move(db);
  d_->dbFile = file;
  d_->labels = std::move(labels);
  d_->suggested = std::move(suggested);
}

bool Engine::hasDatabase() const { return d_->db != nullptr; }
std::string Engine::databaseFile() const { return d_->dbFile; }

PromptAnalysis Engine::analyse(const std::string& prompt, bool bos, const Progress& progress, bool truncate) {
  if (!d_->session) throw InputError("model", "no model is open");
  c10::InferenceMode guard;
  const Session& session = *d_->session;
  const ModelInfo& m = d_->info;
  size_t truncatedFrom = 0;
  const std::vector<int64_t> ids = session.checkIds(session.encodePrompt(prompt, bos), truncate, &truncatedFrom);
  // Labels change while the app runs (the labeling panel writes them through
  // its own connection): re-read the current ones for every prompt.
  if (d_->db) {
    d_->labels.clear();
    for (auto& l : db::listLabels(*d_->db)) d_->labels[{l.layer, l.feature}] = l;
  }
  progress(0, 2, "running the model");
  if (progress.cancelled()) throw Cancelled();
  d_->dropAnalysis();
  auto attr = std::make_unique<Attribution>(session.model(), session.saePtrs(), ids);
  d_->ids = ids;

  PromptAnalysis r;
  r.prompt = prompt;
  r.bos = bos;
  r.truncatedFrom = static_cast<int64_t>(truncatedFrom);
  r.nLayer = static_cast<int>(m.nLayer);
  r.nHead = static_cast<int>(m.nHead);
  r.nKvHead = static_cast<int>(m.nKvHead);
  const int T = static_cast<int>(ids.size()), H = r.nHead;
  std::vector<std::string> disp;
  for (int64_t id : ids) {
    TokenInfo t{id, session.requireTokenizer().tokenString(id), session.requireTokenizer().displayString(id)};
    disp.push_back(t.display);
    r.tokens.push_back(std::move(t));
  }
  attr->setTokenLabels(disp);
  attr->setBlankTokens(session.requireTokenizer().blankMask(ids));
  r.perPosition.assign(T, {});
  r.firing.assign(T, 0.f);
  r.tokenHeads.assign(T, std::vector<float>(r.nLayer * H, 0.f));
  r.saeLayers = attr->saeLayers();
  progress(1, 2, "encoding SAE features");
  for (int layer : r.saeLayers) {
    if (progress.cancelled()) throw Cancelled();
    const std::vector<float> acts = attr->activations(layer);
    const int dSae = attr->dSae(layer);
    const std::vector<float>& frac = d_->headFrac.at(layer);
    for (int p = 0; p < T; ++p) {
      const float* row = acts.data() + static_cast<size_t>(p) * dSae;
      for (int f = 0; f < dSae; ++f) {
        if (row[f] <= 0) continue;
        FeatureRow fr;
        fr.layer = layer;
        fr.feature = f;
        fr.activation = row[f];
        fr.headAttr.assign(frac.begin() + static_cast<size_t>(f) * H, frac.begin() + static_cast<size_t>(f + 1) * H);
        std::tie(fr.label, fr.family) = d_->labelOf(layer, f);
        r.firing[p] += row[f];
        for (int h = 0; h < H; ++h) r.tokenHeads[p][layer * H + h] += row[f] * fr.headAttr[h];
        r.perPosition[p].push_back(std::move(fr));
      }
    }
  }
  for (auto& v : r.perPosition)
    std::stable_sort(v.begin(), v.end(), [](const FeatureRow& a, const FeatureRow& b) { return a.activation > b.activation; });
  d_->attr = std::move(attr);
  r.generation = d_->generation;
  progress(2, 2, "done");
  return r;
}

FeatureDetail Engine::feature(int layer, int64_t feature, int position) const {
  c10::InferenceMode guard;
  const Attribution& a = d_->attribution();
  FeatureDetail r;
  r.layer = layer;
  r.feature = feature;
  r.position = position;
  r.acts = a.featureActivations(layer, static_cast<int>(feature));
  r.headAttr = a.headAttribution(layer, static_cast<int>(feature));
  std::tie(r.label, r.family) = d_->labelOf(layer, feature);
  if (position >= 0 && position < a.numTokens()) {
    FamilySuggestion s = a.family(layer, static_cast<int>(feature), position);
    r.familySuggestion = s.family + ": " + s.reason;
  }
  return r;
}

namespace {
// One prompt's DFA of a feature at `dest` as the GUI's plain struct.
DfaResult dfaOf(const Attribution& a, int layer, int64_t feature, int dest) {
  if (dest < 0 || dest >= a.numTokens()) throw InputError("dfa", "position " + std::to_string(dest) + " is outside the prompt");
  Dfa d = a.dfa(layer, static_cast<int>(feature), dest);
  DfaResult r;
  r.layer = layer;
  r.feature = feature;
  r.dest = dest;
  r.nHead = d.nHeads;
  r.nSrc = dest + 1;
  r.dfa.assign(static_cast<size_t>(r.nSrc) * r.nHead, 0.f);
  for (const DfaTerm& t : d.terms) r.dfa[static_cast<size_t>(t.pos) * r.nHead + t.head] = static_cast<float>(t.value);
  for (double v : d.bySource) r.bySource.push_back(static_cast<float>(v));
  for (double v : d.byHead) r.byHead.push_back(static_cast<float>(v));
  r.bias = d.bias;
  r.preActivation = d.preActivation;
  r.activation = d.activation;
  return r;
}
}  // namespace

DfaResult Engine::dfa(int layer, int64_t feature, int dest) const {
  c10::InferenceMode guard;
  return dfaOf(d_->attribution(), layer, feature, dest);
}

PromptComparison Engine::comparePrompts(const std::string& promptA, const std::string& promptB, bool bos, int layer,
                                        int64_t feature, int destA, bool truncate) const {
  if (!d_->session) throw InputError("model", "no model is open");
  auto sae = d_->saeInfo.find(layer);
  if (sae == d_->saeInfo.end()) throw InputError("compare", "no SAE is loaded for layer " + std::to_string(layer));
  if (feature < 0 || feature >= sae->second.dSae)
    throw InputError("compare", "feature " + std::to_string(feature) + " does not exist (layer " + std::to_string(layer) +
                                    " has " + std::to_string(sae->second.dSae) + ")");
  c10::InferenceMode guard;
  const Session& session = *d_->session;
  PromptComparison r;
  r.layer = layer;
  r.feature = feature;
  // Each prompt on its own Attribution: the current analysis (and its tree) stays as it is.
  auto run = [&](const std::string& text, const char* which, PromptSide& side) {
    std::vector<int64_t> ids;
    try {
      ids = session.checkIds(session.encodePrompt(text, bos), truncate);
    } catch (const InputError& e) {
      throw InputError(std::string("prompt ") + which, e.what());
    }
    side.prompt = text;
    for (int64_t id : ids)
      side.tokens.push_back({id, session.requireTokenizer().tokenString(id), session.requireTokenizer().displayString(id)});
    return std::make_unique<Attribution>(session.model(), session.saePtrs(), ids);
  };
  auto attrA = run(promptA, "A", r.a);
  auto attrB = run(promptB, "B", r.b);
  const int nA = attrA->numTokens(), nB = attrB->numTokens();
  if (destA < 0 || destA >= nA) destA = nA - 1;
  r.aligned = nA == nB;
  // Token counts differ: B's destination is the same distance from its end.
  const int destB = r.aligned ? destA : std::clamp(nB - (nA - destA), 0, nB - 1);
  r.a.acts = attrA->featureActivations(layer, static_cast<int>(feature));
  r.b.acts = attrB->featureActivations(layer, static_cast<int>(feature));
  r.a.dfa = dfaOf(*attrA, layer, feature, destA);
  r.b.dfa = dfaOf(*attrB, layer, feature, destB);
  if (r.aligned) {
    for (int p = 0; p < nA; ++p) r.actDiff.push_back(r.b.acts[p] - r.a.acts[p]);
    for (int p = 0; p <= destA; ++p) r.dfaBySourceDiff.push_back(r.b.dfa.bySource[p] - r.a.dfa.bySource[p]);
    for (size_t h = 0; h < r.a.dfa.byHead.size(); ++h) r.dfaByHeadDiff.push_back(r.b.dfa.byHead[h] - r.a.dfa.byHead[h]);
  }
  return r;
}

RdfaNode Engine::rdfaRoot(int layer, int64_t feature, int position) const {
  c10::InferenceMode guard;
  return d_->convert(d_->attribution().root(layer, static_cast<int>(feature), position));
}

std::vector<RdfaNode> Engine::expand(uint64_t generation, int nodeId, int topK) const {
  c10::InferenceMode guard;
  if (generation != d_->generation) throw InputError("rdfa", "the prompt changed; the tree is out of date");
  std::vector<RdfaNode> out;
  for (const AttrNode& n : d_->attribution().expand(nodeId, topK)) out.push_back(d_->convert(n));
  return out;
}

std::vector<HeadTopFeature> Engine::headTopFeatures(int layer, int head, int k, double minShare) const {
  if (d_->db) {
    const db::DbInfo info = db::dbInfo(*d_->db);
    if (std::find(info.layers.begin(), info.layers.end(), layer) != info.layers.end()) {
      std::vector<HeadTopFeature> out;
      for (const db::HeadFeature& f : db::headFeatures(*d_->db, layer, head, k, minShare))
        out.push_back({f.feature, f.share, f.label, f.family, f.familySuggested, f.density, f.maxActivation});
      return out;
    }
  }
  auto it = d_->headFrac.find(layer);
  if (it == d_->headFrac.end()) throw InputError("head", "no SAE is loaded for layer " + std::to_string(layer));
  const int H = static_cast<int>(d_->info.nHead);
  if (head < 0 || head >= H) throw InputError("head", "head " + std::to_string(head) + " does not exist");
  const std::vector<float>& frac = it->second;
  const int64_t dSae = static_cast<int64_t>(frac.size()) / H;
  std::vector<int64_t> idx(dSae);
  for (int64_t i = 0; i < dSae; ++i) idx[i] = i;
  std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) { return frac[a * H + head] > frac[b * H + head]; });
  std::vector<HeadTopFeature> out;
  for (int64_t i = 0; i < dSae && (k <= 0 || static_cast<int64_t>(out.size()) < k); ++i) {
    if (!(frac[idx[i] * H + head] >= minShare)) break;
    HeadTopFeature f;
    f.feature = idx[i];
    f.fraction = frac[idx[i] * H + head];
    f.label = d_->labelOf(layer, idx[i]).first;
    out.push_back(std::move(f));
  }
  return out;
}

namespace {
Example toExample(const db::FeatureExample& e, const std::string& title) {
  Example x;
  x.title = title;
  x.maxIndex = e.maxPos;
  x.maxAct = e.activation;
  for (size_t i = 0; i < e.tokens.size(); ++i)
    x.tokens.push_back({e.tokens[i], i < e.activations.size() ? e.activations[i] : 0.f});
  x.bucket = e.bucket;
  x.dfaSource = e.dfaSource;
  x.dfaHead = e.dfaHead;
  x.dfaValue = e.dfaValue;
  return x;
}
}  // namespace

std::vector<FeatureSearchHit> Engine::searchFeatures(const std::string& text, int field, int limit) const {
  if (!d_->db) throw InputError("database", "no feature database is open");
  std::vector<FeatureSearchHit> out;
  for (const db::FeatureHit& h : db::searchFeatures(*d_->db, text, static_cast<db::SearchField>(std::clamp(field, 0, 3)), limit))
    out.push_back({h.layer, h.feature, h.label, h.family, h.peakToken, h.density, h.maxActivation});
  return out;
}

PositionPredictions Engine::predictions(int position, int k) const {
  if (!d_->session || d_->ids.empty()) throw InputError("prompt", "analyse a prompt first");
  const int T = static_cast<int>(d_->ids.size());
  if (position < 0 || position >= T) throw InputError("position", "position " + std::to_string(position) + " is outside the prompt");
  c10::InferenceMode guard;
  if (!d_->logProbs.defined()) d_->logProbs = d_->session->model().logProbs(d_->ids);
  PositionPredictions r;
  r.position = position;
  const torch::Tensor row = d_->logProbs.select(0, position);
  auto [vals, idx] = row.topk(std::max(1, std::min<int>(k, static_cast<int>(row.size(0)))));
  const Tokenizer* tok = d_->session->tokenizer();
  for (int64_t i = 0; i < vals.size(0); ++i) {
    Prediction p;
    p.id = idx[i].item<int64_t>();
    p.prob = std::exp(vals[i].item<float>());
    p.display = tok ? tok->displayString(p.id) : std::to_string(p.id);
    r.top.push_back(std::move(p));
  }
  if (position == 0) {
    r.loss = r.probOfActual = std::numeric_limits<float>::quiet_NaN();
  } else {
    const float lp = d_->logProbs[position - 1][d_->ids[position]].item<float>();
    r.loss = -lp;
    r.probOfActual = std::exp(lp);
  }
  return r;
}

InterventionResult Engine::intervene(const Intervention& iv, int predictPosition, int topK) const {
  if (!d_->session || d_->ids.empty()) throw InputError("prompt", "analyse a prompt first");
  return runIntervention(*d_->session, d_->ids, iv, predictPosition, topK);
}

Dashboard Engine::dashboard(int layer, int64_t feature) const {
  Dashboard r;
  r.layer = layer;
  r.feature = feature;
  if (!d_->db) {
    r.message = "no feature database loaded";
    return r;
  }
  db::FeatureDashboard d;
  try {
    d = db::readDashboard(*d_->db, layer, feature);
  } catch (const InputError& e) {
    r.message = e.what();
    return r;
  }
  r.available = true;
  r.density = d.stats.density;
  r.maxActivation = d.stats.maxActivation;
  r.meanActivation = d.stats.meanActivation;
  r.familySuggestion = d.stats.family;
  if (d.label) {
    r.label = d.label->text;
    r.family = d.label->family;
  }
  for (size_t i = 0; i < d.top.size(); ++i) r.top.push_back(toExample(d.top[i], "top " + std::to_string(i + 1)));
  for (const auto& e : d.quantiles) {
    Example x = toExample(e, "quantile " + db::quantileName(d.quantileEdges, e.bucket) + " #" + std::to_string(e.rank + 1));
    std::tie(x.rangeLo, x.rangeHi) = db::quantileRange(d.quantileEdges, e.bucket);
    r.quantiles.push_back(std::move(x));
  }
  r.quantileEdges = d.quantileEdges;
  r.headAttribution = d.stats.headAttribution;
  if (d.histCounts.size() >= 2) {
    r.zeroCount = static_cast<double>(d.histCounts[0]);
    r.histBelow = static_cast<double>(d.histCounts[1]);
  }
  if (d.histCounts.size() >= d.histEdges.size() + 2 && !d.histEdges.empty())
    r.histAbove = static_cast<double>(d.histCounts.back());
  // histCounts layout: [zero, below first edge, n bins..., at/above last edge]; keep the n positive bins.
  r.histEdges = d.histEdges;
  const size_t n = d.histEdges.size() > 0 ? d.histEdges.size() - 1 : 0;
  for (size_t i = 0; i < n && i + 2 < d.histCounts.size(); ++i) r.histCounts.push_back(static_cast<double>(d.histCounts[i + 2]));
  for (const auto& l : d.stats.logitsTop) r.topLogits.push_back({l.token, l.value});
  for (const auto& l : d.stats.logitsBottom) r.bottomLogits.push_back({l.token, l.value});
  return r;
}

}  // namespace zs
