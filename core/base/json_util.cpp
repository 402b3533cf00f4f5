#include "core/base/json_util.h"

#include "core/base/error.h"

namespace zs {

nlohmann::json parseJsonObject(const std::string& text, const std::string& file, const std::string& what) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    throw InputError(file, what + " is not valid JSON: " + e.what());
  }
  if (!j.is_object()) throw InputError(file, what + " must be a JSON object");
  return j;
}

int64_t jsonInteger(const nlohmann::json& j, const char* key, const std::string& file) {
  const nlohmann::json& v = j.at(key);
  if (v.is_number_integer() || v.is_number_unsigned()) return v.get<int64_t>();
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (d == static_cast<double>(static_cast<int64_t>(d))) return static_cast<int64_t>(d);
  }
  throw InputError(file, std::string("\"") + key + "\" must be an integer, got " + v.dump());
}

}  // namespace zs
