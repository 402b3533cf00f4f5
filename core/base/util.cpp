#include "core/base/util.h"

#include <fstream>
#include <sstream>

#include "core/base/error.h"

namespace zs {

std::string readWholeFile(const std::string& path, const std::string& hint) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path, "cannot open" + hint);
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw InputError(path, "read error");
  return ss.str();
}

uint64_t fnv1a(const void* data, size_t n, uint64_t h) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ULL;
  return h;
}

std::vector<int64_t> parseIdList(const std::string& s) {
  std::vector<int64_t> ids;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    size_t a = item.find_first_not_of(" \t"), b = item.find_last_not_of(" \t");
    if (a == std::string::npos) throw UsageError("empty entry in token id list '" + s + "'");
    item = item.substr(a, b - a + 1);
    try {
      size_t pos = 0;
      long long v = std::stoll(item, &pos);
      if (pos != item.size() || v < 0) throw std::invalid_argument(item);
      ids.push_back(v);
    } catch (const std::exception&) {
      throw UsageError("token ids must be non-negative integers separated by commas, got '" + item + "'");
    }
  }
  if (ids.empty()) throw UsageError("token id list is empty");
  return ids;
}

}  // namespace zs
