// Engine: see engine.h. All torch work runs under torch::InferenceMode on the
// calling (worker) thread.
#include "core/engine.h"

#include <torch/torch.h>

#include <filesystem>
#include <map>

#include "core/error.h"
#include "core/gpt2.h"
#include "core/runtime.h"
#include "core/sae.h"
#include "core/tokenizer.h"

namespace fs = std::filesystem;

namespace zs {

const char* nodeKindName(NodeKind k) {
  switch (k) {
    case NodeKind::Feature: return "feature";
    case NodeKind::Source: return "source";
    case NodeKind::Embed: return "embed";
    case NodeKind::PosEmbed: return "pos_embed";
    case NodeKind::AttnFeature: return "attn_feature";
    case NodeKind::AttnError: return "attn_error";
    case NodeKind::AttnHead: return "attn_head";
    case NodeKind::Mlp: return "mlp";
    case NodeKind::Bias: return "bias";
    case NodeKind::Rest: return "rest";
  }
  return "?";
}

struct Engine::Impl {
  std::unique_ptr<Gpt2> model;
  std::unique_ptr<Tokenizer> tok;
  ModelInfo info;
  std::map<int, std::unique_ptr<Sae>> saes;
  std::map<int, SaeInfo> saeInfo;
  std::string dbFile;
};

Engine::Engine() : d_(std::make_unique<Impl>()) {}
Engine::~Engine() = default;

ModelInfo Engine::loadModel(const std::string& dir, const std::string& device) {
  c10::InferenceMode guard;
  const std::string dev = runtime::resolveDevice(device);
  auto tok = Tokenizer::loadDir(dir);
  auto model = Gpt2::loadDir(dir, dev == "cuda" ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU));
  const Gpt2Config& c = model->config();
  ModelInfo info;
  info.dir = dir;
  info.name = fs::path(dir).filename().string();
  if (info.name.empty()) info.name = fs::path(dir).parent_path().filename().string();
  info.device = dev;
  info.nLayer = c.n_layer;
  info.nHead = c.n_head;
  info.dHead = c.d_head();
  info.dModel = c.n_embd;
  info.nCtx = c.n_positions;
  info.vocab = c.vocab_size;
  info.bosId = c.bos_token_id >= 0 ? c.bos_token_id : tok->endOfTextId();
  info.threads = runtime::threads();
  d_->model = std::move(model);
  d_->tok = std::move(tok);
  d_->info = info;
  d_->saes.clear();
  d_->saeInfo.clear();
  return info;
}

bool Engine::hasModel() const { return d_->model != nullptr; }
const ModelInfo& Engine::model() const { return d_->info; }
std::string Engine::modelDir() const { return d_->info.dir; }

SaeInfo Engine::loadSae(const std::string& dir) {
  if (!d_->model) throw InputError(dir, "open a model before loading an SAE");
  c10::InferenceMode guard;
  auto sae = Sae::loadDir(dir, d_->model->device());
  const ModelInfo& m = d_->info;
  if (sae->cfg.d_in != m.dModel)
    throw InputError(dir, "SAE d_in " + std::to_string(sae->cfg.d_in) + " does not match the model's n_heads*d_head = " +
                              std::to_string(m.dModel) + " (" + m.name + ")");
  if (sae->layer() < 0 || sae->layer() >= m.nLayer)
    throw InputError(dir, "SAE hook layer " + std::to_string(sae->layer()) + " is outside the model's " +
                              std::to_string(m.nLayer) + " layers");
  if (!sae->cfg.flatten_heads())
    throw InputError(dir, "SAE hook '" + sae->cfg.hook_name + "' is not an attention hook_z");
  SaeInfo info{dir, sae->cfg.hook_name, static_cast<int>(sae->layer()), sae->cfg.d_in, sae->cfg.d_sae};
  d_->saeInfo[info.layer] = info;
  d_->saes[info.layer] = std::move(sae);
  return info;
}

std::vector<SaeInfo> Engine::loadSaeTree(const std::string& dir) {
  std::vector<SaeInfo> out;
  if (fs::exists(fs::path(dir) / "cfg.json")) {
    out.push_back(loadSae(dir));
    return out;
  }
  std::vector<fs::path> subs;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_directory() && fs::exists(e.path() / "cfg.json")) subs.push_back(e.path());
  std::sort(subs.begin(), subs.end());
  for (const auto& p : subs) out.push_back(loadSae(p.string()));
  return out;
}

void Engine::unloadSaes() {
  d_->saes.clear();
  d_->saeInfo.clear();
}

std::vector<SaeInfo> Engine::saes() const {
  std::vector<SaeInfo> v;
  for (const auto& [l, i] : d_->saeInfo) v.push_back(i);
  return v;
}

void Engine::openDatabase(const std::string& file) { throw InputError(file, "feature databases are not wired in yet"); }
bool Engine::hasDatabase() const { return false; }
std::string Engine::databaseFile() const { return d_->dbFile; }

PromptAnalysis Engine::analyse(const std::string&, bool, const Progress&) { throw InputError("analyse", "not wired in yet"); }
FeatureDetail Engine::feature(int, int64_t, int) const { throw InputError("feature", "not wired in yet"); }
DfaResult Engine::dfa(int, int64_t, int) const { throw InputError("dfa", "not wired in yet"); }
RdfaNode Engine::rdfaRoot(int, int64_t, int) const { throw InputError("rdfa", "not wired in yet"); }
std::vector<RdfaNode> Engine::expand(const RdfaNodeRef&, int) const { throw InputError("rdfa", "not wired in yet"); }
std::vector<HeadTopFeature> Engine::headTopFeatures(int, int, int) const { return {}; }
Dashboard Engine::dashboard(int, int64_t) const { Dashboard d; d.message = "no feature database loaded"; return d; }

}  // namespace zs
