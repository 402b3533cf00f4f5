// Model + SAE + tokenizer loading for the attribution commands.
#include "core/attribution_setup.h"

#include <algorithm>
#include <filesystem>

#include "core/error.h"
#include "core/gpt2.h"
#include "core/paths.h"
#include "core/sae.h"

namespace fs = std::filesystem;

namespace zs {

AttributionSetup AttributionSetup::load(const std::string& modelArg, const std::vector<std::string>& saeDirs,
                                        bool needTokenizer) {
  AttributionSetup s;
  s.modelDir = paths::resolveModel(modelArg);
  if (!fs::is_directory(s.modelDir)) throw InputError(s.modelDir, "model folder not found");
  s.model = std::shared_ptr<Gpt2>(Gpt2::loadDir(s.modelDir).release());
  const bool hasTok = fs::exists(fs::path(s.modelDir) / "vocab.json") && fs::exists(fs::path(s.modelDir) / "merges.txt");
  if (hasTok) s.tokenizer = Tokenizer::loadDir(s.modelDir);
  else if (needTokenizer) throw InputError(s.modelDir, "no vocab.json/merges.txt to tokenize the prompt (use --tokens)");
  std::vector<int64_t> seen;
  for (const std::string& dir : saeDirs) {
    std::shared_ptr<Sae> sae(Sae::loadDir(dir).release());
    sae->checkAgainst(s.model->config(), dir);
    if (std::find(seen.begin(), seen.end(), sae->cfg.hook_layer) != seen.end())
      throw InputError(dir, "a second SAE for layer " + std::to_string(sae->cfg.hook_layer) + " (one per layer)");
    seen.push_back(sae->cfg.hook_layer);
    s.saes.push_back(std::move(sae));
  }
  std::sort(s.saes.begin(), s.saes.end(),
            [](const auto& a, const auto& b) { return a->cfg.hook_layer < b->cfg.hook_layer; });
  return s;
}

std::vector<const Sae*> AttributionSetup::saePtrs() const {
  std::vector<const Sae*> out;
  for (const auto& s : saes) out.push_back(s.get());
  return out;
}

int64_t AttributionSetup::bosId() const {
  if (model->config().bos_token_id >= 0) return model->config().bos_token_id;
  return tokenizer ? tokenizer->endOfTextId() : -1;
}

int64_t AttributionSetup::contextLength() const { return model->config().n_positions; }

namespace {
std::vector<int64_t> finish(const AttributionSetup& s, std::vector<int64_t> ids, bool bos) {
  if (bos) {
    const int64_t b = s.bosId();
    if (b < 0) throw InputError(s.modelDir, "no BOS token known (config bos_token_id, <|endoftext|>); use --no-bos");
    ids.insert(ids.begin(), b);
  }
  if (ids.empty()) throw InputError("prompt", "no tokens");
  if (static_cast<int64_t>(ids.size()) > s.contextLength())
    throw InputError("prompt", std::to_string(ids.size()) + " tokens" + (bos ? " (with BOS)" : "") +
                                   " exceed the model's context of " + std::to_string(s.contextLength()));
  const int64_t V = s.model->config().vocab_size;
  for (int64_t t : ids)
    if (t < 0 || t >= V) throw InputError("prompt", "token id " + std::to_string(t) + " is not below vocab_size " + std::to_string(V));
  return ids;
}
}  // namespace

std::vector<int64_t> AttributionSetup::tokensFromPrompt(const std::string& text, bool bos) const {
  if (!tokenizer) throw InputError(modelDir, "no tokenizer in the model folder (use --tokens)");
  return finish(*this, tokenizer->encode(text), bos);
}

std::vector<int64_t> AttributionSetup::tokensFromIds(const std::string& ids, bool bos) const {
  return finish(*this, parseIdList(ids), bos);
}

std::vector<std::string> AttributionSetup::tokenLabels(const std::vector<int64_t>& ids) const {
  std::vector<std::string> out;
  for (int64_t t : ids) {
    if (tokenizer && t < tokenizer->vocabSize()) out.push_back(tokenizer->displayString(t));
    else out.push_back("#" + std::to_string(t));
  }
  return out;
}

}  // namespace zs
