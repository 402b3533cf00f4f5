// SentencePiece (tokenizer.model) as transformers' slow LlamaTokenizer uses it
// with legacy=true: special tokens typed in the text (control pieces and the
// config's added_tokens_decoder) are split off first, each piece between them
// is encoded by SentencePiece (which adds its dummy-prefix '▁'), and
// add_bos_token / add_eos_token (defaults true / false) decide BOS / EOS.
#include "core/text/sentencepiece_tokenizer.h"

#include <algorithm>
#include <unordered_map>

#include "core/base/error.h"
#include "core/text/hf_added_tokens.h"
#include "core/text/sentencepiece_api.h"
#include "core/text/tokenizer_config.h"
#include "core/text/unicode_text.h"
#include "core/text/tokenizer_util.h"

namespace zs {
namespace {

class SentencePieceTokenizer final : public Tokenizer {
 public:
  SentencePieceTokenizer(const std::string& modelPath, const std::string& configPath) {
    config_ = loadTokenizerConfig(configPath);
    sp_ = spm::newModel();
    std::string err;
    if (!sp_->load(modelPath, &err)) throw InputError(modelPath, "not a SentencePiece model: " + err);
    size_ = sp_->pieceSize();
    for (int id = 0; id < size_; ++id) {
      if (sp_->isControl(id) || sp_->isUnknown(id)) {
        if (!sp_->isUnknown(id)) special_.push_back(id);
        text::AddedToken a;
        a.id = id;
        a.content = sp_->idToPiece(id);
        a.special = true;
        if (!a.content.empty()) addAdded(a);
      }
    }
    if (sp_->unkId() >= 0) special_.push_back(sp_->unkId());
    for (const auto& d : config_.addedTokensDecoder) {
      text::AddedToken a;
      a.id = d.id;
      a.content = d.content;
      a.special = d.special;
      a.lstrip = d.lstrip;
      a.rstrip = d.rstrip;
      a.singleWord = d.singleWord;
      if (addAdded(a) && a.special) special_.push_back(a.id);
      size_ = std::max<int64_t>(size_, d.id + 1);
    }
    std::sort(special_.begin(), special_.end());
    special_.erase(std::unique(special_.begin(), special_.end()), special_.end());
    std::vector<std::string> patterns;
    std::vector<size_t> all;
    for (size_t k = 0; k < added_.size(); ++k) {
      patterns.push_back(added_[k].content);
      all.push_back(k);
    }
    matcher_.build(added_, patterns, all);
    bos_ = config_.bosToken ? tokenToId(*config_.bosToken) : sp_->bosId();
    eos_ = config_.eosToken ? tokenToId(*config_.eosToken) : sp_->eosId();
    addBos_ = config_.addBosToken.value_or(true) && bos_ >= 0;
    addEos_ = config_.addEosToken.value_or(false) && eos_ >= 0;
  }

  std::vector<int64_t> encode(const std::string& input, bool addSpecialTokens) const override {
    const std::string text = text::lossyUtf8(input);
    std::vector<int64_t> out;
    if (addSpecialTokens && addBos_) out.push_back(bos_);
    std::vector<int> ids;
    matcher_.split(text, [&](size_t, std::string_view piece, int64_t tok) {
      if (tok >= 0) {
        out.push_back(added_[size_t(tok)].id);
        return;
      }
      std::string err;
      if (!sp_->encode(std::string(piece), &ids, &err)) throw InputError("SentencePiece could not encode the text: " + err);
      out.insert(out.end(), ids.begin(), ids.end());
    });
    if (addSpecialTokens && addEos_) out.push_back(eos_);
    return out;
  }

  std::string decode(const std::vector<int64_t>& ids, bool skipSpecialTokens) const override {
    std::string out;
    std::vector<int> run;
    auto flush = [&] {
      if (run.empty()) return;
      std::string s;
      std::string err;
      if (!sp_->decode(run, &s, &err)) throw InputError("SentencePiece could not decode: " + err);
      out += s;
      run.clear();
    };
    for (int64_t id : ids) {
      if (id < 0 || id >= size_) throw outside(id);
      auto a = byId_.find(id);
      if (a != byId_.end() && (added_[a->second].special || id >= sp_->pieceSize())) {
        flush();
        if (!(skipSpecialTokens && isSpecial(id))) out += added_[a->second].content;
        continue;
      }
      if (id >= sp_->pieceSize()) {
        flush();
        if (a != byId_.end()) out += added_[a->second].content;
        continue;
      }
      run.push_back(int(id));
    }
    flush();
    return out;
  }

  std::string tokenString(int64_t id) const override {
    if (id < 0 || id >= size_) throw outside(id);
    if (id >= sp_->pieceSize()) {
      auto a = byId_.find(id);
      return a == byId_.end() ? std::string() : added_[a->second].content;
    }
    std::string p = sp_->idToPiece(int(id));
    if (sp_->isByte(int(id)) && p.size() == 6) return std::string(1, char(std::stoi(p.substr(3, 2), nullptr, 16)));
    if (sp_->isControl(int(id)) || sp_->isUnknown(int(id))) return p;
    std::string r;
    for (size_t at = 0;;) {
      size_t f = p.find("\xE2\x96\x81", at);
      r.append(p, at, f == std::string::npos ? std::string::npos : f - at);
      if (f == std::string::npos) break;
      r += ' ';
      at = f + 3;
    }
    return r;
  }

  std::string displayString(int64_t id) const override { return tokutil::displayBytes(tokenString(id)); }
  int64_t vocabSize() const override { return size_; }
  int64_t tokenToId(const std::string& token) const override {
    auto it = byContent_.find(token);
    if (it != byContent_.end()) return added_[it->second].id;
    int id = sp_->pieceToId(token);
    if (id == sp_->unkId() && token != sp_->idToPiece(id)) return -1;
    return id;
  }
  std::string idToToken(int64_t id) const override {
    auto a = byId_.find(id);
    if (a != byId_.end()) return added_[a->second].content;
    if (id < 0 || id >= sp_->pieceSize()) return {};
    return sp_->idToPiece(int(id));
  }
  bool isSpecial(int64_t id) const override { return std::binary_search(special_.begin(), special_.end(), id); }
  std::vector<int64_t> specialIds() const override { return special_; }
  int64_t bosId() const override { return bos_; }
  int64_t eosId() const override { return eos_; }
  bool encodeAddsBos() const override { return addBos_; }
  int64_t endOfTextId() const override { return eos_; }
  const TokenizerConfig& config() const override { return config_; }
  std::string format() const override { return "sentencepiece"; }

 private:
  InputError outside(int64_t id) const {
    return InputError("token id " + std::to_string(id) + " is outside the vocabulary (size " + std::to_string(size_) + ")");
  }
  bool addAdded(const text::AddedToken& a) {
    if (byContent_.count(a.content) || byId_.count(a.id)) return false;
    byId_[a.id] = added_.size();
    byContent_[a.content] = added_.size();
    added_.push_back(a);
    return true;
  }

  std::unique_ptr<spm::Model> sp_;
  TokenizerConfig config_;
  int64_t size_ = 0, bos_ = -1, eos_ = -1;
  bool addBos_ = false, addEos_ = false;
  std::vector<text::AddedToken> added_;
  std::unordered_map<int64_t, size_t> byId_;
  std::unordered_map<std::string, size_t> byContent_;
  std::vector<int64_t> special_;
  text::AddedTokenMatcher matcher_;
};

}  // namespace

std::unique_ptr<Tokenizer> loadSentencePieceTokenizer(const std::string& modelPath, const std::string& configPath) {
  return std::make_unique<SentencePieceTokenizer>(modelPath, configPath);
}

}  // namespace zs
