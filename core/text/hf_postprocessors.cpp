// tokenizer.json post-processors (single sequence): TemplateProcessing,
// ByteLevel (no effect on ids), BertProcessing, RobertaProcessing, Sequence.
#include "core/base/error.h"
#include "core/text/hf_components.h"

namespace zs::text {
namespace {

class Template final : public PostProcessor {
 public:
  // A negative entry stands for the sequence ($A); others are the ids to insert.
  explicit Template(std::vector<std::vector<int64_t>> items) : items_(std::move(items)) {}
  void process(std::vector<int64_t>& ids) const override {
    std::vector<int64_t> out;
    out.reserve(ids.size() + 4);
    for (const auto& it : items_) {
      if (it.empty()) out.insert(out.end(), ids.begin(), ids.end());
      else out.insert(out.end(), it.begin(), it.end());
    }
    ids.swap(out);
  }

 private:
  std::vector<std::vector<int64_t>> items_;  // empty vector = the sequence
};

class Nothing final : public PostProcessor {
 public:
  void process(std::vector<int64_t>&) const override {}
};

class Sequence final : public PostProcessor {
 public:
  explicit Sequence(std::vector<std::unique_ptr<PostProcessor>> v) : v_(std::move(v)) {}
  void process(std::vector<int64_t>& ids) const override {
    for (const auto& p : v_) p->process(ids);
  }

 private:
  std::vector<std::unique_ptr<PostProcessor>> v_;
};

std::vector<int64_t> tokenPair(const nlohmann::json& j, const char* key, const char* owner) {
  const auto& p = hf::member(j, key, owner);
  if (!p.is_array() || p.size() != 2 || !p[1].is_number_integer())
    throw InputError(std::string(owner) + ": \"" + key + "\" must be [token, id]");
  return {p[1].get<int64_t>()};
}

std::unique_ptr<PostProcessor> makeTemplate(const nlohmann::json& j) {
  const char* owner = "TemplateProcessing post-processor";
  const auto& single = hf::member(j, "single", owner);
  const auto& specials = j.contains("special_tokens") ? j["special_tokens"] : nlohmann::json::object();
  if (!single.is_array()) throw InputError(std::string(owner) + ": \"single\" must be an array");
  std::vector<std::vector<int64_t>> items;
  for (const auto& piece : single) {
    if (piece.contains("Sequence")) {
      items.emplace_back();
    } else if (piece.contains("SpecialToken")) {
      std::string name = piece["SpecialToken"].value("id", std::string());
      if (!specials.contains(name) || !specials[name].contains("ids") || !specials[name]["ids"].is_array() ||
          specials[name]["ids"].empty())
        throw InputError(std::string(owner) + ": special token \"" + name + "\" has no ids in \"special_tokens\"");
      std::vector<int64_t> ids;
      for (const auto& x : specials[name]["ids"]) {
        if (!x.is_number_integer()) throw InputError(std::string(owner) + ": ids of \"" + name + "\" must be integers");
        ids.push_back(x.get<int64_t>());
      }
      items.push_back(ids);
    } else {
      throw InputError(std::string(owner) + ": items of \"single\" must be {\"Sequence\": ...} or {\"SpecialToken\": ...}");
    }
  }
  return std::make_unique<Template>(std::move(items));
}

}  // namespace

std::unique_ptr<PostProcessor> makePostProcessor(const nlohmann::json& j, const TokenLookup& lookup) {
  (void)lookup;
  if (j.is_null()) return nullptr;
  const std::string t = hf::typeOf(j, "post_processor");
  if (t == "TemplateProcessing") return makeTemplate(j);
  if (t == "ByteLevel") return std::make_unique<Nothing>();  // only adjusts offsets
  if (t == "BertProcessing" || t == "RobertaProcessing") {
    const char* owner = t == "BertProcessing" ? "BertProcessing post-processor" : "RobertaProcessing post-processor";
    std::vector<std::vector<int64_t>> items{tokenPair(j, "cls", owner), {}, tokenPair(j, "sep", owner)};
    return std::make_unique<Template>(std::move(items));
  }
  if (t == "Sequence") {
    const auto& list = hf::member(j, "processors", "Sequence post-processor");
    if (!list.is_array()) throw InputError("Sequence post-processor: \"processors\" must be an array");
    std::vector<std::unique_ptr<PostProcessor>> v;
    for (const auto& x : list)
      if (auto p = makePostProcessor(x, lookup)) v.push_back(std::move(p));
    return std::make_unique<Sequence>(std::move(v));
  }
  throw InputError("unsupported post_processor type \"" + t + "\"");
}

}  // namespace zs::text
