#include "core/text/tokenize_batch.h"

#include <istream>
#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

#include "core/text/tokenizer.h"

namespace zs {
namespace {

bool optBool(const nlohmann::json& j, const char* key, bool def) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return def;
  if (!it->is_boolean()) throw std::invalid_argument(std::string("\"") + key + "\" must be true or false");
  return it->get<bool>();
}

nlohmann::json answer(const Tokenizer& tok, const std::string& line) {
  if (line.find_first_not_of(" \t\r") == std::string::npos) throw std::invalid_argument("empty line");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(line);
  } catch (const std::exception&) {
    throw std::invalid_argument("not valid JSON");
  }
  if (!j.is_object()) throw std::invalid_argument("expected a JSON object");
  const bool hasText = j.contains("text"), hasIds = j.contains("ids");
  if (hasText == hasIds) throw std::invalid_argument("expected exactly one of \"text\" and \"ids\"");
  nlohmann::json r;
  if (hasText) {
    if (!j["text"].is_string()) throw std::invalid_argument("\"text\" must be a string");
    r["ids"] = tok.encode(j["text"].get<std::string>(), optBool(j, "add_special_tokens", true));
  } else {
    if (!j["ids"].is_array()) throw std::invalid_argument("\"ids\" must be an array of integers");
    std::vector<int64_t> ids;
    for (const auto& x : j["ids"]) {
      if (!x.is_number_integer()) throw std::invalid_argument("\"ids\" must be an array of integers");
      ids.push_back(x.get<int64_t>());
    }
    r["text"] = tok.decode(ids, optBool(j, "skip_special_tokens", false));
  }
  return r;
}

}  // namespace

int tokenizeBatch(const Tokenizer& tok, std::istream& in, std::ostream& out) {
  int failed = 0;
  size_t lineNo = 0;
  std::string line;
  while (std::getline(in, line)) {
    ++lineNo;
    nlohmann::json r;
    try {
      r = answer(tok, line);
    } catch (const std::exception& e) {
      r = nlohmann::json{{"error", "line " + std::to_string(lineNo) + ": " + e.what()}};
      ++failed;
    }
    out << r.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
  }
  out.flush();
  return failed;
}

}  // namespace zs
