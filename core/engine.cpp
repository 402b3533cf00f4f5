// Engine: see engine.h. All torch work runs under torch::InferenceMode on the
// calling (worker) thread; attribution itself is core/attribution.h.
#include "core/engine.h"

#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "core/attribution.h"
#include "core/db/db.h"
#include "core/db/features.h"
#include "core/db/labels.h"
#include "core/error.h"
#include "core/gpt2.h"
#include "core/runtime.h"
#include "core/sae.h"
#include "core/tokenizer.h"

namespace fs = std::filesystem;

namespace zs {

struct Engine::Impl {
  std::unique_ptr<Gpt2> model;
  std::unique_ptr<Tokenizer> tok;
  ModelInfo info;
  std::map<int, std::unique_ptr<Sae>> saes;
  std::map<int, SaeInfo> saeInfo;
  std::map<int, std::vector<float>> headFrac;  // layer -> [d_sae][H] decoder-norm fractions
  std::unique_ptr<db::Db> db;
  std::string dbFile;
  std::map<std::pair<int, int64_t>, db::Label> labels;  // current labels of the open database
  std::map<std::pair<int, int64_t>, std::string> suggested;  // family suggestions of the database
  std::unique_ptr<Attribution> attr;
  uint64_t generation = 0;

  const Attribution& attribution() const {
    if (!attr) throw InputError("prompt", "analyse a prompt first");
    return *attr;
  }
  void dropAnalysis() {
    attr.reset();
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
}  // namespace

ModelInfo Engine::loadModel(const std::string& dir, const std::string& device, const Progress& progress) {
  c10::InferenceMode guard;
  const std::string dev = runtime::resolveDevice(device);
  if (!fs::is_directory(dir)) throw InputError(dir, "no such model folder");
  stage(progress, 0, 3, "Reading the tokenizer");
  auto tok = Tokenizer::loadDir(dir);
  stage(progress, 1, 3, "Reading the model weights");
  auto model = Gpt2::loadDir(dir, dev == "cuda" ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU));
  stage(progress, 3, 3, "Model loaded");
  const Gpt2Config& c = model->config();
  ModelInfo info;
  info.dir = dir;
  info.name = fs::path(dir).lexically_normal().filename().string();
  if (info.name.empty()) info.name = fs::path(dir).lexically_normal().parent_path().filename().string();
  info.device = dev;
  info.nLayer = c.n_layer;
  info.nHead = c.n_head;
  info.dHead = c.d_head();
  info.dModel = c.n_embd;
  info.nCtx = c.n_positions;
  info.vocab = c.vocab_size;
  info.bosId = c.bos_token_id >= 0 ? c.bos_token_id : tok->endOfTextId();
  info.threads = runtime::threads();
  d_->dropAnalysis();
  d_->model = std::move(model);
  d_->tok = std::move(tok);
  d_->info = info;
  d_->saes.clear();
  d_->saeInfo.clear();
  d_->headFrac.clear();
  return info;
}

bool Engine::hasModel() const { return d_->model != nullptr; }
const ModelInfo& Engine::model() const { return d_->info; }
std::string Engine::modelDir() const { return d_->info.dir; }
uint64_t Engine::generation() const { return d_->generation; }

// A read and checked SAE, not yet installed in the engine.
struct Engine::PreparedSae {
  std::unique_ptr<Sae> sae;
  SaeInfo info;
  std::vector<float> headFrac;
};

Engine::PreparedSae Engine::prepareSae(const std::string& dir) const {
  if (!d_->model) throw InputError(dir, "open a model before loading an SAE");
  c10::InferenceMode guard;
  PreparedSae p;
  p.sae = Sae::loadDir(dir, d_->model->device());
  const Sae& sae = *p.sae;
  const ModelInfo& m = d_->info;
  if (!sae.cfg.flatten_heads())
    throw InputError(dir, "SAE hook '" + sae.cfg.hook_name + "' is not an attention hook_z");
  if (sae.cfg.d_in != m.dModel)
    throw InputError(dir, "SAE d_in " + std::to_string(sae.cfg.d_in) + " does not match the model's n_heads*d_head = " +
                              std::to_string(m.dModel) + " (" + m.name + ")");
  if (sae.layer() < 0 || sae.layer() >= m.nLayer)
    throw InputError(dir, "SAE hook layer " + std::to_string(sae.layer()) + " is outside the model's " +
                              std::to_string(m.nLayer) + " layers (" + m.name + ")");
  p.info = SaeInfo{dir, sae.cfg.hook_name, static_cast<int>(sae.layer()), sae.cfg.d_in, sae.cfg.d_sae, sae.fingerprint(),
                   sae.cfg.architecture, sae.cfg.k};
  // Head fractions of every feature at once (ATTRIBUTION.md, head attribution):
  // the feature table shows them for every active feature.
  torch::Tensor n = sae.W_dec.to(torch::kCPU, torch::kFloat32).reshape({p.info.dSae, m.nHead, m.dHead}).norm(2, {2});
  n = (n / n.sum(1, true).clamp_min(1e-30)).contiguous();
  p.headFrac.assign(n.data_ptr<float>(), n.data_ptr<float>() + n.numel());
  return p;
}

void Engine::install(PreparedSae&& p) {
  const int layer = p.info.layer;
  d_->dropAnalysis();
  d_->headFrac[layer] = std::move(p.headFrac);
  d_->saeInfo[layer] = p.info;
  d_->saes[layer] = std::move(p.sae);
}

SaeInfo Engine::loadSae(const std::string& dir) {
  PreparedSae p = prepareSae(dir);
  SaeInfo info = p.info;
  install(std::move(p));
  return info;
}

std::vector<SaeInfo> Engine::loadSaeTree(const std::string& dir, const Progress& progress) {
  std::vector<fs::path> folders;
  // A SAELens folder (cfg.json) or a Gemma Scope params.npz (the file or its folder).
  auto isSae = [](const fs::path& p) { return fs::exists(p / "cfg.json") || fs::exists(p / "params.npz"); };
  if (isSae(dir) || (fs::is_regular_file(dir) && fs::path(dir).extension() == ".npz")) {
    folders.push_back(dir);
  } else {
    if (!fs::is_directory(dir)) throw InputError(dir, "no such SAE folder");
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_directory() && isSae(e.path())) folders.push_back(e.path());
    if (folders.empty()) throw InputError(dir, "no SAE folder (cfg.json + sae_weights.safetensors) found");
    std::sort(folders.begin(), folders.end());
  }
  std::vector<PreparedSae> ready;
  const double total = static_cast<double>(folders.size());
  for (size_t i = 0; i < folders.size(); ++i) {
    stage(progress, static_cast<double>(i), total, "Reading SAE " + folders[i].filename().string());
    ready.push_back(prepareSae(folders[i].string()));
  }
  stage(progress, total, total, "SAEs loaded");
  std::vector<SaeInfo> out;
  for (auto& p : ready) {
    out.push_back(p.info);
    install(std::move(p));
  }
  return out;
}

void Engine::unloadSaes() {
  d_->dropAnalysis();
  d_->saes.clear();
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
  for (size_t i = 0; i < layers.size(); ++i) {
    auto it = d_->saeInfo.find(layers[i]);
    if (it == d_->saeInfo.end()) continue;
    const SaeInfo& si = it->second;
    const auto fp = dbi.saeFingerprints.find(layers[i]);
    std::string why;
    if (dbi.featuresPerLayer[i] != si.dSae)
      why = "it has " + std::to_string(dbi.featuresPerLayer[i]) + " features for layer " + std::to_string(layers[i]) +
            ", the loaded SAE has " + std::to_string(si.dSae);
    else if (fp != dbi.saeFingerprints.end() && fp->second != si.fingerprint)
      why = "its layer " + std::to_string(layers[i]) + " SAE had other weights (" + fp->second + ", loaded " +
            si.fingerprint + ")";
    if (!why.empty())
      throw InputError(file, "this feature database was built from other SAEs than the loaded ones: " + why +
                                 ". Open the database built for these SAEs, or build one with zscope-cli build-db.");
  }
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

PromptAnalysis Engine::analyse(const std::string& prompt, bool bos, const Progress& progress) {
  if (!d_->model || !d_->tok) throw InputError("model", "no model is open");
  c10::InferenceMode guard;
  const ModelInfo& m = d_->info;
  std::vector<int64_t> ids;
  if (bos) {
    if (m.bosId < 0) throw InputError(m.dir, "the model has no BOS token; switch BOS off");
    ids.push_back(m.bosId);
  }
  for (int64_t id : d_->tok->encode(prompt)) ids.push_back(id);
  if (ids.empty()) throw InputError("prompt", "the prompt is empty");
  if (static_cast<int64_t>(ids.size()) > m.nCtx)
    throw InputError("prompt", std::to_string(ids.size()) + " tokens; the model's context is " + std::to_string(m.nCtx));
  // Labels change while the app runs (the labeling panel writes them through
  // its own connection): re-read the current ones for every prompt.
  if (d_->db) {
    d_->labels.clear();
    for (auto& l : db::listLabels(*d_->db)) d_->labels[{l.layer, l.feature}] = l;
  }
  progress(0, 2, "running the model");
  if (progress.cancelled()) throw Cancelled();
  d_->dropAnalysis();
  std::vector<const Sae*> saes;
  for (const auto& [l, s] : d_->saes) saes.push_back(s.get());
  auto attr = std::make_unique<Attribution>(*d_->model, saes, ids);

  PromptAnalysis r;
  r.prompt = prompt;
  r.bos = bos;
  r.nLayer = static_cast<int>(m.nLayer);
  r.nHead = static_cast<int>(m.nHead);
  const int T = static_cast<int>(ids.size()), H = r.nHead;
  std::vector<std::string> disp;
  for (int64_t id : ids) {
    TokenInfo t{id, d_->tok->tokenString(id), d_->tok->displayString(id)};
    disp.push_back(t.display);
    r.tokens.push_back(std::move(t));
  }
  attr->setTokenLabels(disp);
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

DfaResult Engine::dfa(int layer, int64_t feature, int dest) const {
  c10::InferenceMode guard;
  const Attribution& a = d_->attribution();
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

std::vector<HeadTopFeature> Engine::headTopFeatures(int layer, int head, int k) const {
  auto it = d_->headFrac.find(layer);
  if (it == d_->headFrac.end()) throw InputError("head", "no SAE is loaded for layer " + std::to_string(layer));
  const int H = static_cast<int>(d_->info.nHead);
  if (head < 0 || head >= H) throw InputError("head", "head " + std::to_string(head) + " does not exist");
  const std::vector<float>& frac = it->second;
  const int64_t dSae = static_cast<int64_t>(frac.size()) / H;
  std::vector<int64_t> idx(dSae);
  for (int64_t i = 0; i < dSae; ++i) idx[i] = i;
  const int64_t kk = std::min<int64_t>(k, dSae);
  std::partial_sort(idx.begin(), idx.begin() + kk, idx.end(),
                    [&](int64_t a, int64_t b) { return frac[a * H + head] > frac[b * H + head]; });
  std::vector<HeadTopFeature> out;
  for (int64_t i = 0; i < kk; ++i) out.push_back({idx[i], frac[idx[i] * H + head], d_->labelOf(layer, idx[i]).first});
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
  return x;
}
}  // namespace

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
  for (const auto& e : d.quantiles)
    r.quantiles.push_back(toExample(e, "quantile bucket " + std::to_string(e.bucket) + " #" + std::to_string(e.rank + 1)));
  // histCounts layout: [zero, below first edge, n bins..., at/above last edge]; keep the n positive bins.
  r.histEdges = d.histEdges;
  const size_t n = d.histEdges.size() > 0 ? d.histEdges.size() - 1 : 0;
  for (size_t i = 0; i < n && i + 2 < d.histCounts.size(); ++i) r.histCounts.push_back(static_cast<double>(d.histCounts[i + 2]));
  for (const auto& l : d.stats.logitsTop) r.topLogits.push_back({l.token, l.value});
  for (const auto& l : d.stats.logitsBottom) r.bottomLogits.push_back({l.token, l.value});
  return r;
}

}  // namespace zs
