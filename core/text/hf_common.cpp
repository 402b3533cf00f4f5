// Helpers shared by the tokenizer.json component files: split behaviours,
// patterns, member access with clear errors.
#include <algorithm>

#include "core/base/error.h"
#include "core/text/hf_components.h"
#include "core/text/hf_regex.h"
#include "core/text/unicode_text.h"

namespace zs::text::hf {

SplitBehavior parseBehavior(const std::string& n) {
  if (n == "Removed") return SplitBehavior::Removed;
  if (n == "Isolated") return SplitBehavior::Isolated;
  if (n == "MergedWithPrevious") return SplitBehavior::MergedWithPrevious;
  if (n == "MergedWithNext") return SplitBehavior::MergedWithNext;
  if (n == "Contiguous") return SplitBehavior::Contiguous;
  throw InputError("unsupported split behavior \"" + n + "\"");
}

void splitByMatches(const Piece& p, const std::vector<std::pair<size_t, size_t>>& matches,
                    SplitBehavior behavior, bool invert, std::vector<Piece>& out) {
  struct Seg { size_t b, e; bool m; };
  std::vector<Seg> segs;
  const std::string& s = p.text;
  if (s.empty()) return;
  size_t prev = 0;
  for (const auto& [b, e] : matches) {
    if (prev != b) segs.push_back({prev, b, false});
    segs.push_back({b, e, true});
    prev = e;
  }
  if (prev != s.size()) segs.push_back({prev, s.size(), false});
  if (invert)
    for (auto& g : segs) g.m = !g.m;

  std::vector<Seg> res;
  switch (behavior) {
    case SplitBehavior::Isolated:
      res = segs;
      break;
    case SplitBehavior::Removed:
      for (const auto& g : segs)
        if (!g.m) res.push_back(g);
      break;
    case SplitBehavior::Contiguous: {
      bool prevMatch = false;
      for (const auto& g : segs) {
        if (g.m == prevMatch && !res.empty()) res.back().e = g.e;
        else res.push_back(g);
        prevMatch = g.m;
      }
      break;
    }
    case SplitBehavior::MergedWithPrevious: {
      bool prevMatch = false;
      for (const auto& g : segs) {
        if (g.m && !prevMatch && !res.empty()) res.back().e = g.e;
        else res.push_back(g);
        prevMatch = g.m;
      }
      break;
    }
    case SplitBehavior::MergedWithNext: {
      bool prevMatch = false;
      for (auto it = segs.rbegin(); it != segs.rend(); ++it) {
        if (it->m && !prevMatch && !res.empty()) res.back().b = it->b;
        else res.push_back(*it);
        prevMatch = it->m;
      }
      std::reverse(res.begin(), res.end());
      break;
    }
  }
  for (const auto& g : res)
    if (g.e > g.b) out.push_back({s.substr(g.b, g.e - g.b), p.atStart && g.b == 0});
}

std::vector<std::pair<size_t, size_t>> charMatches(const std::string& s, bool (*pred)(uint32_t)) {
  std::vector<std::pair<size_t, size_t>> m;
  for (size_t i = 0; i < s.size();) {
    size_t b = i;
    if (pred(nextCodePoint(s, i))) m.emplace_back(b, i);
  }
  return m;
}

Pattern parsePattern(const nlohmann::json& j, const char* owner) {
  Pattern p;
  if (j.is_object() && j.contains("String") && j["String"].is_string()) {
    p.text = j["String"].get<std::string>();
  } else if (j.is_object() && j.contains("Regex") && j["Regex"].is_string()) {
    p.isRegex = true;
    p.text = j["Regex"].get<std::string>();
  } else {
    throw InputError(std::string(owner) + ": \"pattern\" must be {\"String\": ...} or {\"Regex\": ...}");
  }
  return p;
}

std::vector<std::pair<size_t, size_t>> findPattern(const Pattern& p, const void* re, const std::string& s) {
  if (p.isRegex) return static_cast<const Regex*>(re)->findAll(s);
  std::vector<std::pair<size_t, size_t>> m;
  if (p.text.empty()) return m;
  for (size_t at = s.find(p.text); at != std::string::npos; at = s.find(p.text, at + p.text.size()))
    m.emplace_back(at, at + p.text.size());
  return m;
}

void replaceAll(std::string& s, const std::vector<std::pair<size_t, size_t>>& matches, const std::string& content) {
  if (matches.empty()) return;
  std::string out;
  out.reserve(s.size() + matches.size() * content.size());
  size_t prev = 0;
  for (const auto& [b, e] : matches) {
    out.append(s, prev, b - prev);
    out += content;
    prev = e;
  }
  out.append(s, prev, std::string::npos);
  s.swap(out);
}

const nlohmann::json& member(const nlohmann::json& j, const char* key, const char* owner) {
  static const nlohmann::json null;
  if (!j.is_object() || !j.contains(key))
    throw InputError(std::string(owner) + ": missing \"" + key + "\"");
  return j[key];
}

std::string typeOf(const nlohmann::json& j, const char* what) {
  if (!j.is_object()) throw InputError(std::string(what) + " must be a JSON object or null");
  auto it = j.find("type");
  if (it == j.end() || !it->is_string()) throw InputError(std::string(what) + " has no \"type\"");
  return it->get<std::string>();
}

}  // namespace zs::text::hf
