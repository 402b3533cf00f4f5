#include "core/text/hf_tokenizer.h"

#include <algorithm>
#include <filesystem>
#include <unordered_map>

#include "core/base/error.h"
#include "core/text/hf_added_tokens.h"
#include "core/text/hf_bpe.h"
#include "core/text/hf_components.h"
#include "core/text/hf_json.h"
#include "core/text/tokenizer_config.h"
#include "core/text/unicode_text.h"
#include "core/text/tokenizer_util.h"

namespace zs {
namespace {

using namespace zs::text;

// transformers' LlamaTokenizerFast / GemmaTokenizerFast rebuild the
// post-processor from add_bos_token / add_eos_token (update_post_processor).
bool rebuildsTemplate(const std::string& cls) {
  static const char* names[] = {"LlamaTokenizer", "LlamaTokenizerFast", "GemmaTokenizer", "GemmaTokenizerFast",
                                "CodeLlamaTokenizer", "CodeLlamaTokenizerFast"};
  for (const char* n : names)
    if (cls == n) return true;
  return false;
}

class BosEosTemplate final : public PostProcessor {
 public:
  BosEosTemplate(int64_t bos, int64_t eos) : bos_(bos), eos_(eos) {}
  void process(std::vector<int64_t>& ids) const override {
    if (bos_ >= 0) ids.insert(ids.begin(), bos_);
    if (eos_ >= 0) ids.push_back(eos_);
  }

 private:
  int64_t bos_, eos_;
};

class HfTokenizer final : public Tokenizer {
 public:
  HfTokenizer(const std::string& jsonPath, const std::string& configPath) {
    config_ = loadTokenizerConfig(configPath);
    HfJsonDoc doc = readHfJsonFile(jsonPath);
    try {
      build(doc);
    } catch (const InputError& e) {
      throw InputError(jsonPath, e.what());
    }
  }

  std::vector<int64_t> encode(const std::string& input, bool addSpecialTokens) const override {
    const std::string text = lossyUtf8(input);
    std::vector<int64_t> out;
    out.reserve(text.size() / 3 + 4);
    std::vector<Piece> pieces;
    auto modelPiece = [&](std::string_view s, bool atStart) {
      pieces.assign(1, Piece{std::string(s), atStart});
      if (preTokenizer_) preTokenizer_->split(pieces);
      for (const Piece& p : pieces) model_->tokenize(p.text, out);
    };
    rawMatcher_.split(text, [&](size_t off, std::string_view piece, int64_t tok) {
      if (tok >= 0) {
        out.push_back(added_[size_t(tok)].id);
        return;
      }
      std::string norm(piece);
      if (normalizer_) normalizer_->normalize(norm);
      if (normMatcher_.empty()) {
        if (!norm.empty()) modelPiece(norm, off == 0);
        return;
      }
      normMatcher_.split(norm, [&](size_t off2, std::string_view sub, int64_t tok2) {
        if (tok2 >= 0) out.push_back(added_[size_t(tok2)].id);
        else if (!sub.empty()) modelPiece(sub, off == 0 && off2 == 0);
      });
    });
    if (addSpecialTokens && post_) post_->process(out);
    return out;
  }

  std::string decode(const std::vector<int64_t>& ids, bool skipSpecialTokens) const override {
    std::vector<std::string> tokens;
    tokens.reserve(ids.size());
    for (int64_t id : ids) {
      auto a = addedById_.find(id);
      if (a != addedById_.end()) {
        const AddedToken& t = added_[a->second];
        if (skipSpecialTokens && t.special) continue;
        tokens.push_back(t.content);
        continue;
      }
      if (!model_->hasId(id)) throw outside(id);
      tokens.emplace_back(model_->idToToken(id));
    }
    if (!decoder_) {
      std::string joined;
      for (size_t i = 0; i < tokens.size(); ++i) joined += (i ? " " : "") + tokens[i];
      return joined;
    }
    decoder_->decodeChain(tokens);
    std::string s;
    for (const auto& t : tokens) s += t;
    return s;
  }

  std::string tokenString(int64_t id) const override {
    auto a = addedById_.find(id);
    if (a != addedById_.end()) {
      const AddedToken& t = added_[a->second];
      std::string s = t.content;
      if (!t.special && decoder_) decoder_->tokenBytes(s);
      return s;
    }
    if (!model_->hasId(id)) throw outside(id);
    std::string r(model_->idToToken(id));
    if (decoder_) decoder_->tokenBytes(r);
    return r;
  }

  std::string displayString(int64_t id) const override { return tokutil::displayBytes(tokenString(id)); }
  int64_t vocabSize() const override { return vocabSize_; }

  int64_t tokenToId(const std::string& token) const override {
    auto it = addedByContent_.find(token);
    if (it != addedByContent_.end()) return added_[it->second].id;
    return model_->tokenToId(token);
  }

  std::string idToToken(int64_t id) const override {
    auto a = addedById_.find(id);
    if (a != addedById_.end()) return added_[a->second].content;
    return model_->hasId(id) ? std::string(model_->idToToken(id)) : std::string();
  }

  bool isSpecial(int64_t id) const override {
    auto a = addedById_.find(id);
    return a != addedById_.end() && added_[a->second].special;
  }
  std::vector<int64_t> specialIds() const override {
    std::vector<int64_t> v;
    for (const auto& t : added_)
      if (t.special) v.push_back(t.id);
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    return v;
  }
  int64_t bosId() const override { return bos_; }
  int64_t eosId() const override { return eos_; }
  bool encodeAddsBos() const override { return addsBos_; }
  int64_t endOfTextId() const override { return eos_ >= 0 ? eos_ : tokenToId("<|endoftext|>"); }
  const TokenizerConfig& config() const override { return config_; }
  std::string format() const override { return "tokenizer.json"; }

 private:
  InputError outside(int64_t id) const {
    return InputError("token id " + std::to_string(id) + " is outside the vocabulary (size " +
                      std::to_string(vocabSize_) + ")");
  }

  void build(HfJsonDoc& doc) {
    const nlohmann::json& root = doc.root;
    if (!root.contains("model") || !root["model"].is_object()) throw InputError("no \"model\" object");
    const nlohmann::json& m = root["model"];
    std::string type = m.value("type", std::string());
    if (type.empty() && (doc.hasMerges || m.contains("merges"))) type = "BPE";  // old files omit it
    if (type != "BPE") throw InputError("unsupported model type \"" + type + "\" (only BPE is implemented)");
    model_ = std::make_unique<BpeModel>(m, doc);

    normalizer_ = makeNormalizer(root.value("normalizer", nlohmann::json()));
    preTokenizer_ = makePreTokenizer(root.value("pre_tokenizer", nlohmann::json()));
    decoder_ = makeDecoder(root.value("decoder", nlohmann::json()));
    post_ = makePostProcessor(root.value("post_processor", nlohmann::json()),
                              [this](const std::string& t) { return tokenToId(t); });

    // Added tokens: tokenizer.json's list, then tokenizer_config.json's
    // added_tokens_decoder entries it lacks (transformers adds those).
    if (root.contains("added_tokens") && !root["added_tokens"].is_null()) {
      const auto& list = root["added_tokens"];
      if (!list.is_array()) throw InputError("\"added_tokens\" must be an array");
      for (const auto& t : list) {
        if (!t.is_object() || !t.contains("id") || !t["id"].is_number_integer() || !t.contains("content") ||
            !t["content"].is_string())
          throw InputError("added token " + t.dump() + " needs an integer \"id\" and a string \"content\"");
        AddedToken a;
        a.id = t["id"].get<int64_t>();
        a.content = t["content"].get<std::string>();
        a.special = t.value("special", false);
        a.singleWord = t.value("single_word", false);
        a.lstrip = t.value("lstrip", false);
        a.rstrip = t.value("rstrip", false);
        a.normalized = t.value("normalized", !a.special);
        addAdded(a);
      }
    }
    for (const auto& d : config_.addedTokensDecoder) {
      if (addedById_.count(d.id)) continue;
      AddedToken a;
      a.id = d.id;
      a.content = d.content;
      a.special = d.special;
      a.singleWord = d.singleWord;
      a.lstrip = d.lstrip;
      a.rstrip = d.rstrip;
      a.normalized = d.normalized;
      addAdded(a);
    }
    std::vector<std::string> patterns(added_.size());
    std::vector<size_t> raw, normalized;
    for (size_t k = 0; k < added_.size(); ++k) {
      patterns[k] = added_[k].content;
      if (added_[k].normalized && normalizer_) {
        normalizer_->normalize(patterns[k]);
        normalized.push_back(k);
      } else {
        raw.push_back(k);
      }
    }
    rawMatcher_.build(added_, patterns, raw);
    normMatcher_.build(added_, patterns, normalized);

    vocabSize_ = model_->maxId() + 1;
    for (const auto& a : added_) vocabSize_ = std::max(vocabSize_, a.id + 1);

    // BOS / EOS: tokenizer_config.json names them; else the template's first token.
    if (config_.bosToken) bos_ = tokenToId(*config_.bosToken);
    if (config_.eosToken) eos_ = tokenToId(*config_.eosToken);
    if (rebuildsTemplate(config_.tokenizerClass) && (config_.addBosToken || config_.addEosToken)) {
      int64_t b = config_.addBosToken.value_or(true) ? bos_ : -1;
      int64_t e = config_.addEosToken.value_or(false) ? eos_ : -1;
      post_ = std::make_unique<BosEosTemplate>(b, e);
    }
    std::vector<int64_t> probe;
    if (post_) post_->process(probe);
    if (bos_ < 0 && !config_.present && !probe.empty()) bos_ = probe.front();
    // GPT-2 style folders without tokenizer_config.json: <|endoftext|> serves as
    // BOS, as for vocab.json + merges.txt.
    if (bos_ < 0 && !config_.present) bos_ = tokenToId("<|endoftext|>");
    addsBos_ = bos_ >= 0 && !probe.empty() && probe.front() == bos_;
  }

  void addAdded(const AddedToken& a) {
    if (a.id < 0) throw InputError("added token " + a.content + " has a negative id");
    auto c = addedByContent_.find(a.content);
    if (c != addedByContent_.end()) return;  // first declaration wins
    addedById_[a.id] = added_.size();
    addedByContent_[a.content] = added_.size();
    added_.push_back(a);
  }

  TokenizerConfig config_;
  std::unique_ptr<BpeModel> model_;
  std::unique_ptr<Normalizer> normalizer_;
  std::unique_ptr<PreTokenizer> preTokenizer_;
  std::unique_ptr<Decoder> decoder_;
  std::unique_ptr<PostProcessor> post_;
  std::vector<AddedToken> added_;
  std::unordered_map<int64_t, size_t> addedById_;
  std::unordered_map<std::string, size_t> addedByContent_;
  AddedTokenMatcher rawMatcher_, normMatcher_;
  int64_t vocabSize_ = 0, bos_ = -1, eos_ = -1;
  bool addsBos_ = false;
};

}  // namespace

std::unique_ptr<Tokenizer> loadHfTokenizerFiles(const std::string& jsonPath, const std::string& configPath) {
  return std::make_unique<HfTokenizer>(jsonPath, configPath);
}

std::unique_ptr<Tokenizer> loadHfTokenizer(const std::string& dir) {
  namespace fs = std::filesystem;
  return loadHfTokenizerFiles((fs::path(dir) / "tokenizer.json").string(),
                              (fs::path(dir) / "tokenizer_config.json").string());
}

}  // namespace zs
