#include "core/base/json_util.h"

#include "core/base/error.h"

namespace zs {

void checkJsonText(const char* data, size_t n, const std::string& file, const std::string& what) {
  int depth = 0;
  bool inString = false;
  for (size_t i = 0; i < n; ++i) {
    const char c = data[i];
    if (c == '\0') throw InputError(file, what + " contains a NUL byte (at byte " + std::to_string(i) + ")");
    if (inString) {
      if (c == '\\') {
        if (i + 1 < n && data[i + 1] == '\0') continue;  // reported on the next turn
        ++i;
      } else if (c == '"') {
        inString = false;
      }
      continue;
    }
    if (c == '"') {
      inString = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kJsonMaxDepth)
        throw InputError(file, what + " nests deeper than " + std::to_string(kJsonMaxDepth) + " levels");
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
}

nlohmann::json parseJson(const std::string& text, const std::string& file, const std::string& what) {
  checkJsonText(text.data(), text.size(), file, what);
  try {
    return nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    throw InputError(file, what + " is not valid JSON: " + e.what());
  }
}

nlohmann::json parseJsonObject(const std::string& text, const std::string& file, const std::string& what) {
  nlohmann::json j = parseJson(text, file, what);
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
  throw InputError(file, std::string("\"") + key + "\" must be an integer, got " + v.dump().substr(0, 80));
}

}  // namespace zs
