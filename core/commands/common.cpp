#include "core/commands/common.h"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "core/error.h"
#include "core/gpt2.h"
#include "core/tokenizer.h"

namespace zs::cli {

int64_t bosId(const Gpt2Config& cfg, const std::string& modelDir) {
  if (cfg.bos_token_id >= 0) return cfg.bos_token_id;
  namespace fs = std::filesystem;
  if (fs::exists(fs::path(modelDir) / "vocab.json")) {
    auto tok = Tokenizer::loadDir(modelDir);
    return tok->endOfTextId();
  }
  return -1;
}

std::vector<int64_t> promptIds(const Args& a, const Gpt2Config& cfg, const std::string& modelDir) {
  a.requireOneOf({"prompt", "tokens", "prompt-file"});
  std::vector<int64_t> ids;
  if (a.has("tokens")) {
    ids = parseIdList(a.get("tokens"));
    for (int64_t id : ids)
      if (id >= cfg.vocab_size)
        throw InputError("--tokens", "token id " + std::to_string(id) + " is out of range (vocab size " +
                                         std::to_string(cfg.vocab_size) + ")");
  } else {
    std::string text;
    if (a.has("prompt")) {
      text = a.get("prompt");
    } else {
      std::ifstream in(a.get("prompt-file"), std::ios::binary);
      if (!in) throw InputError(a.get("prompt-file"), "cannot read prompt file");
      std::stringstream ss;
      ss << in.rdbuf();
      text = ss.str();
    }
    auto tok = Tokenizer::loadDir(modelDir);
    if (!a.has("no-bos")) {
      int64_t bos = cfg.bos_token_id >= 0 ? cfg.bos_token_id : tok->endOfTextId();
      if (bos < 0) throw InputError(modelDir, "model has no BOS token (bos_token_id or <|endoftext|>); use --no-bos");
      ids.push_back(bos);
    }
    auto body = tok->encode(text);
    ids.insert(ids.end(), body.begin(), body.end());
  }
  if (ids.empty()) throw InputError("prompt", "the prompt is empty (no tokens to run)");
  if (static_cast<int64_t>(ids.size()) > cfg.n_positions) {
    if (!a.has("truncate"))
      throw InputError("prompt", std::to_string(ids.size()) + " tokens exceed the model's context of " +
                                     std::to_string(cfg.n_positions) + " (use --truncate to keep the first " +
                                     std::to_string(cfg.n_positions) + ")");
    std::cerr << "zscope-cli: prompt truncated from " << ids.size() << " to " << cfg.n_positions << " tokens\n";
    ids.resize(cfg.n_positions);
  }
  return ids;
}

std::unique_ptr<db::Db> openExistingDb(const Args& a) {
  db::OpenOptions oo;
  oo.create = false;
  return db::Db::open(a.require("db"), oo);
}

std::pair<int, int64_t> requireLayerFeature(const Args& a) {
  const int layer = static_cast<int>(a.getInt("layer", -1));
  const int64_t feature = a.getInt("feature", -1);
  if (layer < 0 || feature < 0) throw UsageError("give --layer L and --feature F (both >= 0)");
  return {layer, feature};
}

}  // namespace zs::cli
