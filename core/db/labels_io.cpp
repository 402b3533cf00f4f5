// Label export/import: JSONL with Neuronpedia's explanation field names, and CSV.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/base/json_util.h"
#include "core/db/db.h"
#include "core/db/features.h"
#include "core/db/labels.h"
#include "core/db/sessions.h"
#include "core/base/error.h"

namespace zs::db {
namespace {

using nlohmann::json;

const std::vector<std::string> kColumns = {"modelId", "layer", "index", "description", "typeName",
                                           "explanationModelName", "authorId", "family", "confidence",
                                           "notes", "sessionId", "createdAt", "updatedAt"};

// Shortest of %.15g / %.16g / %.17g that reads back as the same double.
std::string fmtDouble(double v) {
  char b[40];
  for (int prec : {15, 16, 17}) {
    std::snprintf(b, sizeof b, "%.*g", prec, v);
    if (std::strtod(b, nullptr) == v) break;
  }
  return b;
}

json toJson(const Label& l, const ExportOptions& o, const std::string& model) {
  json j;
  j["modelId"] = model;
  j["layer"] = std::to_string(l.layer) + "-" + o.sourceSuffix;
  j["index"] = std::to_string(l.feature);  // Neuronpedia writes the index as a string
  j["description"] = l.text;
  j["typeName"] = "zscope-human";
  j["explanationModelName"] = "human";
  j["authorId"] = l.author;
  j["family"] = l.family;
  j["confidence"] = l.confidence ? json(*l.confidence) : json(nullptr);
  j["notes"] = l.notes;
  j["sessionId"] = l.sessionId ? json(*l.sessionId) : json(nullptr);
  j["createdAt"] = l.createdAt;
  j["updatedAt"] = l.updatedAt;
  return j;
}

std::string modelIdOf(Db& db, const ExportOptions& o) {
  return o.modelId.empty() ? metaGet(db, "model_name", "") : o.modelId;
}

std::string csvQuote(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string o = "\"";
  for (char c : s) o += (c == '"' ? std::string("\"\"") : std::string(1, c));
  return o + "\"";
}

std::string fieldText(const json& v) {
  if (v.is_null()) return {};
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number()) return fmtDouble(v.get<double>());
  return v.dump();
}

int64_t parseInt(const std::string& s, const std::string& what, const std::string& where) {
  size_t pos = 0;
  long long v = 0;
  try {
    v = std::stoll(s, &pos);
  } catch (const std::exception&) {
    pos = 0;
  }
  // "layer" may be a Neuronpedia source id ("3-att-zscope"): the number at its start.
  if (pos == 0 || (what != "layer" && pos != s.size()))
    throw InputError(where, what + " '" + s + "' is not an integer");
  return v;
}

// Builds a label from string fields (both formats go through here).
Label fromFields(const std::map<std::string, std::string>& f, const std::string& where) {
  auto get = [&](const std::string& k) {
    auto it = f.find(k);
    return it == f.end() ? std::string() : it->second;
  };
  for (const char* k : {"layer", "index", "description"})
    if (!f.count(k)) throw InputError(where, std::string("missing field '") + k + "'");
  Label l;
  const int64_t layer = parseInt(get("layer"), "layer", where);
  if (layer < 0 || layer > (1 << 20)) throw InputError(where, "layer " + std::to_string(layer) + " is out of range");
  l.layer = static_cast<int>(layer);  // range-checked: never truncated to another layer
  l.feature = parseInt(get("index"), "index", where);
  l.text = get("description");
  try {
    l.family = normaliseFamily(get("family").empty() ? "other" : get("family"));
  } catch (const UsageError& e) {
    throw InputError(where, e.what());
  }
  if (!get("confidence").empty()) {
    try {
      l.confidence = std::stod(get("confidence"));
    } catch (const std::exception&) {
      throw InputError(where, "confidence '" + get("confidence") + "' is not a number");
    }
  }
  l.notes = get("notes");
  l.author = get("authorId");
  if (!get("sessionId").empty()) l.sessionId = parseInt(get("sessionId"), "sessionId", where);
  l.createdAt = get("createdAt");
  l.updatedAt = get("updatedAt");
  return l;
}

bool sameLabel(const Label& a, const Label& b) {
  return a.text == b.text && a.family == b.family && a.confidence == b.confidence && a.notes == b.notes &&
         a.author == b.author && a.sessionId == b.sessionId;
}

int importAll(Db& db, const std::vector<std::pair<Label, std::string>>& rows) {
  int n = 0;
  db.transaction([&] {
    for (const auto& [l, where] : rows) {
      auto cur = getLabel(db, l.layer, l.feature);
      if (cur && sameLabel(*cur, l)) continue;
      try {
        setLabel(db, l, "import");
      } catch (const UsageError& e) {
        throw InputError(where, e.what());
      }
      ++n;
    }
  });
  return n;
}

// RFC 4180 records: quoted fields may hold commas, quotes ("") and newlines.
std::vector<std::vector<std::string>> parseCsv(const std::string& text, const std::string& name) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false, fieldStarted = false;
  size_t i = 0;
  auto endRow = [&] {
    row.push_back(field);
    field.clear();
    if (!(row.size() == 1 && row[0].empty())) rows.push_back(row);
    row.clear();
    fieldStarted = false;
  };
  while (i < text.size()) {
    char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        field += c;
      }
    } else if (c == '"' && !fieldStarted) {
      quoted = fieldStarted = true;
    } else if (c == ',') {
      row.push_back(field);
      field.clear();
      fieldStarted = false;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      endRow();
    } else {
      field += c;
      fieldStarted = true;
    }
    ++i;
  }
  if (quoted) throw InputError(name, "unterminated quoted field in CSV");
  if (fieldStarted || !field.empty() || !row.empty()) endRow();
  return rows;
}

}  // namespace

std::string exportLabelsJsonl(Db& db, const ExportOptions& o) {
  const std::string model = modelIdOf(db, o);
  std::string out;
  for (const auto& l : listLabels(db)) out += toJson(l, o, model).dump() + "\n";
  return out;
}

std::string exportLabelsCsv(Db& db, const ExportOptions& o) {
  const std::string model = modelIdOf(db, o);
  std::string out;
  for (size_t i = 0; i < kColumns.size(); ++i) out += (i ? "," : "") + kColumns[i];
  out += "\n";
  for (const auto& l : listLabels(db)) {
    json j = toJson(l, o, model);
    for (size_t i = 0; i < kColumns.size(); ++i) out += (i ? "," : "") + csvQuote(fieldText(j[kColumns[i]]));
    out += "\n";
  }
  return out;
}

int carryOverLabels(Db& from, Db& to) {
  const DbInfo a = dbInfo(from), b = dbInfo(to);
  std::map<int64_t, int> sessionLayer;  // the sessions of `to`
  for (const Session& s : listSessions(to)) sessionLayer[s.id] = s.layer;
  std::vector<std::pair<Label, std::string>> rows;
  for (size_t i = 0; i < a.layers.size(); ++i) {
    const int layer = a.layers[i];
    const auto j = std::find(b.layers.begin(), b.layers.end(), layer);
    if (j == b.layers.end()) continue;
    const size_t k = static_cast<size_t>(j - b.layers.begin());
    const auto fa = a.saeFingerprints.find(layer), fb = b.saeFingerprints.find(layer);
    if (fa == a.saeFingerprints.end() || fb == b.saeFingerprints.end() || fa->second != fb->second) continue;
    if (i >= a.featuresPerLayer.size() || k >= b.featuresPerLayer.size() ||
        a.featuresPerLayer[i] != b.featuresPerLayer[k])
      continue;
    for (Label l : listLabels(from, layer)) {
      if (l.sessionId) {
        const auto s = sessionLayer.find(*l.sessionId);
        if (s == sessionLayer.end() || s->second != layer) l.sessionId.reset();
      }
      rows.emplace_back(std::move(l), "layer " + std::to_string(layer));
    }
  }
  return importAll(to, rows);
}

int importLabelsJsonl(Db& db, const std::string& text, const std::string& name) {
  std::vector<std::pair<Label, std::string>> rows;
  std::istringstream in(text);
  std::string line;
  int lineNo = 0;
  while (std::getline(in, line)) {
    ++lineNo;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = name + ":" + std::to_string(lineNo);
    const json j = parseJson(line, where, "the line");
    if (!j.is_object()) throw InputError(where, "expected a JSON object");
    std::map<std::string, std::string> f;
    for (auto it = j.begin(); it != j.end(); ++it) f[it.key()] = fieldText(it.value());
    rows.emplace_back(fromFields(f, where), where);
  }
  return importAll(db, rows);
}

int importLabelsCsv(Db& db, const std::string& text, const std::string& name) {
  auto recs = parseCsv(text, name);
  if (recs.empty()) return 0;
  const auto& header = recs[0];
  std::vector<std::pair<Label, std::string>> rows;
  for (size_t r = 1; r < recs.size(); ++r) {
    const std::string where = name + ": record " + std::to_string(r + 1);
    if (recs[r].size() != header.size())
      throw InputError(where, "has " + std::to_string(recs[r].size()) + " fields, the header has " +
                                  std::to_string(header.size()));
    std::map<std::string, std::string> f;
    for (size_t c = 0; c < header.size(); ++c) f[header[c]] = recs[r][c];
    rows.emplace_back(fromFields(f, where), where);
  }
  return importAll(db, rows);
}

}  // namespace zs::db
