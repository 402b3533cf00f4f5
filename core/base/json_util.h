#pragma once
// Reading the JSON files users hand us (config.json, cfg.json, training
// configs): every problem becomes an InputError naming the file and the field.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace zs {

// Nesting deeper than this is refused by every JSON parse in Zscope: nlohmann's
// copy, dump and compare recurse, so 100k levels would overflow the stack.
constexpr int kJsonMaxDepth = 256;

// Checks raw JSON text before parsing: no NUL byte, nesting at most
// kJsonMaxDepth (strings and escapes are skipped). InputError naming the file.
void checkJsonText(const char* data, size_t n, const std::string& file, const std::string& what);

// checkJsonText, then a strict parse of the whole text (trailing garbage is an
// error). Any JSON value. Every problem is an InputError naming the file.
nlohmann::json parseJson(const std::string& text, const std::string& file, const std::string& what);

// Parses `text` and requires a JSON object; `what` names the document in messages
// ("config", "cfg.json", "training config").
nlohmann::json parseJsonObject(const std::string& text, const std::string& file, const std::string& what);

// j[key] as an integer (an integral float such as 12.0 is accepted); InputError otherwise.
int64_t jsonInteger(const nlohmann::json& j, const char* key, const std::string& file);

}  // namespace zs
