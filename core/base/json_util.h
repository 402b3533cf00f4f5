#pragma once
// Reading the JSON files users hand us (config.json, cfg.json, training
// configs): every problem becomes an InputError naming the file and the field.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace zs {

// Parses `text` and requires a JSON object; `what` names the document in messages
// ("config", "cfg.json", "training config").
nlohmann::json parseJsonObject(const std::string& text, const std::string& file, const std::string& what);

// j[key] as an integer (an integral float such as 12.0 is accepted); InputError otherwise.
int64_t jsonInteger(const nlohmann::json& j, const char* key, const std::string& file);

}  // namespace zs
