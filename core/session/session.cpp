// Session: see session.h. The one place for the BOS rule, prompt -> ids and
// "does this SAE fit this model".
#include "core/session/session.h"

#include <torch/torch.h>

#include <algorithm>
#include <filesystem>

#include "core/base/error.h"
#include "core/base/paths.h"
#include "core/base/runtime.h"
#include "core/model/load.h"
#include "core/model/model.h"
#include "core/sae/sae.h"
#include "core/text/tokenizer.h"

namespace fs = std::filesystem;

namespace zs {

struct Session::Impl {
  std::string dir, device;
  std::shared_ptr<Model> model;
  std::unique_ptr<Tokenizer> tok;
  std::vector<std::shared_ptr<Sae>> saes;
};

Session::Session() : d_(std::make_unique<Impl>()) {}
Session::~Session() = default;

namespace {
void stage(const Progress& p, double done, double total, const std::string& what) {
  if (p.cancelled()) throw Cancelled();
  p(done, total, what);
}
}  // namespace

std::unique_ptr<Session> Session::open(const std::string& modelArg, const SessionOptions& opts,
                                       const Progress& progress) {
  std::unique_ptr<Session> s(new Session());
  Impl& d = *s->d_;
  d.dir = paths::resolveModel(modelArg);
  if (!fs::is_directory(d.dir)) throw InputError(d.dir, "model folder not found");
  d.device = runtime::resolveDevice(opts.device);
  stage(progress, 0, 3, "Reading the tokenizer");
  if (hasTokenizerFiles(d.dir)) d.tok = Tokenizer::loadDir(d.dir);
  else if (opts.needTokenizer)
    throw InputError(d.dir, "no tokenizer files in the model folder (give token ids with --tokens)");
  stage(progress, 1, 3, "Reading the model weights");
  ModelLoadOptions mo;
  mo.device = d.device == "cuda" ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
  mo.dtype = opts.dtype;
  d.model = std::shared_ptr<Model>(loadModel(d.dir, mo).release());
  stage(progress, 3, 3, "Model loaded");
  return s;
}

const std::string& Session::modelDir() const { return d_->dir; }
const std::string& Session::device() const { return d_->device; }
const Model& Session::model() const { return *d_->model; }
std::shared_ptr<const Model> Session::sharedModel() const { return d_->model; }
const ModelSpec& Session::spec() const { return d_->model->spec(); }
const Tokenizer* Session::tokenizer() const { return d_->tok.get(); }

const Tokenizer& Session::requireTokenizer() const {
  if (!d_->tok) throw InputError(d_->dir, "no tokenizer files in the model folder (give token ids with --tokens)");
  return *d_->tok;
}

std::shared_ptr<Sae> Session::readSae(const std::string& dir) const {
  std::shared_ptr<Sae> sae(Sae::loadDir(dir, d_->model->device()).release());
  sae->checkAgainst(spec(), dir);
  return sae;
}

void Session::setSaes(std::vector<std::shared_ptr<Sae>> saes) {
  std::vector<int64_t> seen;
  for (const auto& s : saes) {
    if (!s) throw InputError("SAE", "no SAE given");
    s->checkAgainst(spec(), "SAE " + s->cfg.hook_name);
    if (std::find(seen.begin(), seen.end(), s->cfg.hook_layer) != seen.end())
      throw InputError("SAE " + s->cfg.hook_name,
                       "a second SAE for layer " + std::to_string(s->cfg.hook_layer) + " (one per layer)");
    seen.push_back(s->cfg.hook_layer);
  }
  std::sort(saes.begin(), saes.end(), [](const auto& a, const auto& b) { return a->cfg.hook_layer < b->cfg.hook_layer; });
  d_->saes = std::move(saes);
}

std::vector<std::string> Session::saeFolders(const std::vector<std::string>& dirs) {
  std::vector<std::string> out;
  for (const auto& s : dirs) {
    std::error_code ec;
    if (fs::is_directory(s, ec) && !fs::exists(fs::path(s) / "cfg.json", ec) &&
        !fs::exists(fs::path(s) / "params.npz", ec)) {
      std::vector<std::string> sub;
      for (const auto& e : fs::directory_iterator(s, ec))
        if (e.is_directory(ec) && (fs::exists(e.path() / "cfg.json", ec) || fs::exists(e.path() / "params.npz", ec)))
          sub.push_back(e.path().string());
      if (ec) throw InputError(s, "cannot list the folder: " + ec.message());
      if (sub.empty()) throw InputError(s, "holds no cfg.json and no SAE folders");
      std::sort(sub.begin(), sub.end());
      out.insert(out.end(), sub.begin(), sub.end());
    } else {
      out.push_back(s);
    }
  }
  return out;
}

void Session::loadSaes(const std::vector<std::string>& dirs, const Progress& progress) {
  const std::vector<std::string> all = saeFolders(dirs);
  std::vector<std::shared_ptr<Sae>> saes;
  for (size_t i = 0; i < all.size(); ++i) {
    stage(progress, static_cast<double>(i), static_cast<double>(all.size()), "Reading SAE " + all[i]);
    saes.push_back(readSae(all[i]));
  }
  setSaes(std::move(saes));
}

const std::vector<std::shared_ptr<Sae>>& Session::saes() const { return d_->saes; }

std::vector<const Sae*> Session::saePtrs() const {
  std::vector<const Sae*> out;
  for (const auto& s : d_->saes) out.push_back(s.get());
  return out;
}

const Sae* Session::saeOfLayer(int64_t layer) const {
  for (const auto& s : d_->saes)
    if (s->layer() == layer) return s.get();
  return nullptr;
}

int64_t Session::bosId() const {
  if (spec().bosTokenId >= 0) return spec().bosTokenId;
  return d_->tok ? d_->tok->bosId() : -1;
}

std::vector<int64_t> Session::encodePrompt(const std::string& text, bool bos) const {
  const Tokenizer& tok = requireTokenizer();
  std::vector<int64_t> ids;
  if (tok.hasTemplate()) {
    ids = tok.encode(text, bos);
  } else {
    if (bos) {
      const int64_t b = bosId();
      if (b < 0) throw InputError(d_->dir, "the model has no BOS token (config bos_token_id or the tokenizer's); turn BOS off");
      ids.push_back(b);
    }
    const std::vector<int64_t> body = tok.encode(text);
    ids.insert(ids.end(), body.begin(), body.end());
  }
  return ids;
}

std::vector<int64_t> Session::checkIds(std::vector<int64_t> ids, bool truncate, size_t* truncatedFrom) const {
  if (ids.empty()) throw InputError("prompt", "the prompt is empty (no tokens to run)");
  const int64_t V = spec().vocab;
  for (int64_t t : ids)
    if (t < 0 || t >= V)
      throw InputError("prompt", "token id " + std::to_string(t) + " is out of range (vocab size " + std::to_string(V) + ")");
  const int64_t n = contextLength();
  if (static_cast<int64_t>(ids.size()) > n) {
    if (!truncate)
      throw InputError("prompt", std::to_string(ids.size()) + " tokens exceed the model's context of " +
                                     std::to_string(n) + " (truncate to keep the first " + std::to_string(n) + ")");
    if (truncatedFrom) *truncatedFrom = ids.size();
    ids.resize(static_cast<size_t>(n));
  }
  return ids;
}

std::vector<std::string> Session::tokenLabels(const std::vector<int64_t>& ids) const {
  std::vector<std::string> out;
  for (int64_t t : ids) {
    if (d_->tok && t >= 0 && t < d_->tok->vocabSize()) out.push_back(d_->tok->displayString(t));
    else out.push_back("#" + std::to_string(t));
  }
  return out;
}

int64_t Session::contextLength() const { return spec().nCtx; }

}  // namespace zs
