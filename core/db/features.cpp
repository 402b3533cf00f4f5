#include "core/db/features.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "core/db/db.h"
#include "core/base/error.h"
#include "core/base/json_util.h"

namespace zs::db {
namespace {

using nlohmann::json;

// JSON stored in a column or meta value: nesting capped, NUL and garbage refused
// (issue 19: a 100k-deep family_numbers crashed `feature`).
json dbJson(const std::string& text) { return parseJson(text, "feature database", "a stored JSON value"); }

int64_t metaInt(Db& db, const std::string& key) {
  const std::string v = metaGet(db, key, "0");
  try {
    size_t pos = 0;
    const long long x = std::stoll(v, &pos);
    if (pos == v.size()) return x;
  } catch (const std::exception&) {
  }
  throw InputError(db.path(), "meta value '" + key + "' is not an integer");
}

std::vector<LogitEffect> logitsFromJson(const std::string& text) {
  std::vector<LogitEffect> out;
  if (text.empty()) return out;
  for (const auto& e : dbJson(text)) out.push_back({e.at(0).get<int64_t>(), e.at(1).get<std::string>(), e.at(2).get<float>()});
  return out;
}

std::string logitsToJson(const std::vector<LogitEffect>& v) {
  json a = json::array();
  for (const auto& e : v) a.push_back({e.tokenId, e.token, e.value});
  return a.dump();
}

FeatureStats readStatsRow(const Stmt& s) {
  FeatureStats f;
  f.layer = static_cast<int>(s.i64(0));
  f.feature = s.i64(1);
  f.fireCount = s.i64(2);
  f.tokens = s.i64(3);
  f.density = s.f64(4);
  f.meanActivation = s.f64(5);
  f.maxActivation = s.f64(6);
  f.dead = s.i64(7) != 0;
  f.headAttribution = s.blobAs<float>(8);
  f.family = s.text(9);
  const std::string nums = s.text(10);
  f.familyNumbers = nums.empty() ? json(nullptr) : dbJson(nums);
  f.logitsTop = logitsFromJson(s.text(11));
  f.logitsBottom = logitsFromJson(s.text(12));
  return f;
}

const char* kStatsCols =
    "layer, feature, fire_count, tokens, density, mean_activation, max_activation, dead, head_attribution,"
    " family, family_numbers, logits_top, logits_bottom";

std::vector<double> doublesFromMeta(Db& db, const std::string& key) {
  std::string t = metaGet(db, key, "");
  return t.empty() ? std::vector<double>{} : dbJson(t).get<std::vector<double>>();
}

json exampleJson(const FeatureExample& e) {
  json j = {{"activation", e.activation}, {"tokens", e.tokens},   {"token_ids", e.tokenIds},
            {"activations", e.activations}, {"max_pos", e.maxPos}, {"window", e.window}};
  if (e.dfaSource >= 0)
    j["dfa"] = {{"source_pos", e.dfaSource}, {"head", e.dfaHead}, {"value", e.dfaValue},
                {"source_token", e.dfaSource < static_cast<int>(e.tokens.size()) ? e.tokens[e.dfaSource] : ""}};
  else
    j["dfa"] = nullptr;
  return j;
}

json logitsJson(const std::vector<LogitEffect>& v) {
  json a = json::array();
  for (const auto& e : v) a.push_back({{"token", e.token}, {"token_id", e.tokenId}, {"value", e.value}});
  return a;
}

}  // namespace

std::pair<double, double> quantileRange(const std::vector<double>& e, int b) {
  const int n = static_cast<int>(e.size());
  const double lo = (b >= 1 && b - 1 < n) ? e[b - 1] : 0.0;
  const double hi = (b >= 0 && b < n) ? e[b] : INFINITY;
  return {lo, hi};
}

std::string quantileName(const std::vector<double>& e, int b) {
  auto [lo, hi] = quantileRange(e, b);
  char buf[64];
  if (std::isinf(hi))
    std::snprintf(buf, sizeof buf, ">= %.3g", lo);
  else if (lo == 0)
    std::snprintf(buf, sizeof buf, "< %.3g", hi);
  else
    std::snprintf(buf, sizeof buf, "%.3g-%.3g", lo, hi);
  return buf;
}

DbInfo dbInfo(Db& db) {
  DbInfo i;
  i.modelName = metaGet(db, "model_name");
  i.modelDir = metaGet(db, "model_dir");
  i.corpus = metaGet(db, "corpus");
  std::string saes = metaGet(db, "saes");
  if (!saes.empty()) i.saes = dbJson(saes).get<std::vector<std::string>>();
  i.tokens = metaInt(db, "tokens_done");
  i.context = metaInt(db, "context");
  i.topK = metaInt(db, "top_k");
  i.status = metaGet(db, "build_status");
  const std::string fps = metaGet(db, "sae_fingerprints");
  if (!fps.empty()) {
    const json j = dbJson(fps);
    for (auto it = j.begin(); it != j.end(); ++it) i.saeFingerprints[std::stoi(it.key())] = it.value().get<std::string>();
  }
  i.histEdges = doublesFromMeta(db, "hist_edges");
  i.quantileEdges = doublesFromMeta(db, "quantile_edges");
  Stmt s(db, "SELECT layer, count(*) FROM features GROUP BY layer ORDER BY layer");
  while (s.step()) {
    i.layers.push_back(static_cast<int>(s.i64(0)));
    i.featuresPerLayer.push_back(s.i64(1));
  }
  return i;
}

std::optional<FeatureStats> readStats(Db& db, int layer, int64_t feature) {
  Stmt s(db, std::string("SELECT ") + kStatsCols + " FROM features WHERE layer=? AND feature=?");
  s.bind(1, layer).bind(2, feature);
  if (!s.step()) return std::nullopt;
  return readStatsRow(s);
}

std::vector<FeatureStats> readLayerStats(Db& db, int layer) {
  Stmt s(db, std::string("SELECT ") + kStatsCols + " FROM features WHERE layer=? ORDER BY feature");
  s.bind(1, layer);
  std::vector<FeatureStats> out;
  while (s.step()) out.push_back(readStatsRow(s));
  return out;
}

std::vector<FeatureSummary> readLayerSummary(Db& db, int layer) {
  Stmt s(db, "SELECT feature, density, max_activation, dead, family FROM features WHERE layer=? ORDER BY feature");
  s.bind(1, layer);
  std::vector<FeatureSummary> out;
  while (s.step()) out.push_back({s.i64(0), s.f64(1), s.f64(2), s.i64(3) != 0, s.text(4)});
  return out;
}

void hideSuggestion(FeatureDashboard& d) {
  d.stats.family.clear();
  d.stats.familyNumbers = nlohmann::json();
}

FeatureDashboard readDashboard(Db& db, int layer, int64_t feature) {
  auto st = readStats(db, layer, feature);
  if (!st)
    throw InputError(db.path(), "no dashboard for layer " + std::to_string(layer) + " feature " +
                                    std::to_string(feature) +
                                    (metaGet(db, "build_status") == "building" ? " (the build is not finished)" : ""));
  FeatureDashboard d;
  d.stats = *st;
  Stmt e(db,
         "SELECT kind, bucket, rank, window, activation, max_pos, tokens, activations, dfa_source, dfa_head,"
         " dfa_value FROM examples WHERE layer=? AND feature=? ORDER BY kind DESC, bucket, rank");
  e.bind(1, layer).bind(2, feature);
  Stmt tok(db, "SELECT display FROM token_strings WHERE id=?");
  std::map<int32_t, std::string> cache;
  auto display = [&](int32_t id) {
    auto it = cache.find(id);
    if (it != cache.end()) return it->second;
    tok.reset();
    tok.bind(1, static_cast<int64_t>(id));
    std::string s = tok.step() ? tok.text(0) : "<" + std::to_string(id) + ">";
    return cache[id] = s;
  };
  while (e.step()) {
    FeatureExample x;
    x.kind = e.text(0);
    x.bucket = static_cast<int>(e.i64(1));
    x.rank = static_cast<int>(e.i64(2));
    x.window = e.i64(3);
    x.activation = static_cast<float>(e.f64(4));
    x.maxPos = static_cast<int>(e.i64(5));
    x.tokenIds = e.blobAs<int32_t>(6);
    x.activations = e.blobAs<float>(7);
    if (!e.isNull(8)) {
      x.dfaSource = static_cast<int>(e.i64(8));
      x.dfaHead = static_cast<int>(e.i64(9));
      x.dfaValue = static_cast<float>(e.f64(10));
    }
    for (int32_t id : x.tokenIds) x.tokens.push_back(display(id));
    (x.kind == "top" ? d.top : d.quantiles).push_back(std::move(x));
  }
  d.histEdges = doublesFromMeta(db, "hist_edges");
  d.quantileEdges = doublesFromMeta(db, "quantile_edges");
  Stmt h(db, "SELECT counts FROM histograms WHERE layer=? AND feature=?");
  h.bind(1, layer).bind(2, feature);
  if (h.step()) d.histCounts = h.blobAs<int64_t>(0);
  d.label = getLabel(db, layer, feature);
  return d;
}

json labelJson(const Label& l) {
  return {{"text", l.text},
          {"family", l.family},
          {"confidence", l.confidence ? json(*l.confidence) : json(nullptr)},
          {"notes", l.notes},
          {"author", l.author},
          {"session_id", l.sessionId ? json(*l.sessionId) : json(nullptr)},
          {"created_at", l.createdAt},
          {"updated_at", l.updatedAt},
          {"history_id", l.historyId}};
}

json dashboardJson(const FeatureDashboard& d) {
  const auto& s = d.stats;
  json j;
  j["layer"] = s.layer;
  j["feature"] = s.feature;
  j["max_activation"] = s.maxActivation;
  j["mean_activation"] = s.meanActivation;
  j["density"] = s.density;
  j["fire_count"] = s.fireCount;
  j["tokens"] = s.tokens;
  j["dead"] = s.dead;
  j["head_attribution"] = s.headAttribution;
  j["family_suggestion"] = s.family.empty() ? json(nullptr) : json(s.family);
  j["family_numbers"] = s.familyNumbers;
  j["logits"] = {{"top", logitsJson(s.logitsTop)}, {"bottom", logitsJson(s.logitsBottom)}};
  j["top_examples"] = json::array();
  for (const auto& e : d.top) j["top_examples"].push_back(exampleJson(e));
  j["quantile_examples"] = json::array();
  for (const auto& e : d.quantiles) {
    json x = exampleJson(e);
    x["bucket"] = e.bucket;
    auto [lo, hi] = quantileRange(d.quantileEdges, e.bucket);
    x["range"] = {lo, std::isinf(hi) ? json(nullptr) : json(hi)};
    j["quantile_examples"].push_back(x);
  }
  // counts[0]: tokens where the feature is 0; counts[1]: (0, edges[0]); then one
  // count per [edges[i], edges[i+1]); the last: >= edges.back().
  j["histogram"] = {{"edges", d.histEdges}, {"counts", d.histCounts}};
  j["label"] = d.label ? labelJson(*d.label) : json(nullptr);
  return j;
}

struct FeatureWriter::Impl {
  explicit Impl(Db& db)
      : st(db, std::string("INSERT OR REPLACE INTO features(") + kStatsCols + ") VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)"),
        hist(db, "INSERT OR REPLACE INTO histograms(layer, feature, counts) VALUES(?,?,?)"),
        ex(db,
           "INSERT OR REPLACE INTO examples(layer, feature, kind, bucket, rank, window, activation, max_pos, tokens,"
           " activations, dfa_source, dfa_head, dfa_value) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)") {}
  Stmt st, hist, ex;
};

FeatureWriter::FeatureWriter(Db& db) : d_(std::make_unique<Impl>(db)) {}
FeatureWriter::~FeatureWriter() = default;

void FeatureWriter::stats(const FeatureStats& f) {
  Stmt& s = d_->st;
  s.reset();
  s.bind(1, f.layer).bind(2, f.feature).bind(3, f.fireCount).bind(4, f.tokens).bind(5, f.density);
  s.bind(6, f.meanActivation).bind(7, f.maxActivation).bind(8, f.dead ? 1 : 0);
  s.bindBlob(9, f.headAttribution.data(), f.headAttribution.size() * sizeof(float));
  s.bind(10, f.family).bind(11, f.familyNumbers.is_null() ? std::string() : f.familyNumbers.dump());
  s.bind(12, logitsToJson(f.logitsTop)).bind(13, logitsToJson(f.logitsBottom));
  s.run();
}

void FeatureWriter::histogram(int layer, int64_t feature, const std::vector<int64_t>& counts) {
  Stmt& s = d_->hist;
  s.reset();
  s.bind(1, layer).bind(2, feature).bindBlob(3, counts.data(), counts.size() * sizeof(int64_t)).run();
}

void FeatureWriter::example(int layer, int64_t feature, const FeatureExample& e) {
  Stmt& s = d_->ex;
  s.reset();
  s.bind(1, layer).bind(2, feature).bind(3, e.kind).bind(4, e.bucket).bind(5, e.rank).bind(6, e.window);
  s.bind(7, static_cast<double>(e.activation)).bind(8, e.maxPos);
  s.bindBlob(9, e.tokenIds.data(), e.tokenIds.size() * sizeof(int32_t));
  s.bindBlob(10, e.activations.data(), e.activations.size() * sizeof(float));
  if (e.dfaSource >= 0) {
    s.bind(11, e.dfaSource).bind(12, e.dfaHead).bind(13, static_cast<double>(e.dfaValue));
  } else {
    s.bindNull(11).bindNull(12).bindNull(13);
  }
  s.run();
}

void writeStats(Db& db, const FeatureStats& s) { FeatureWriter(db).stats(s); }
void writeExample(Db& db, int layer, int64_t feature, const FeatureExample& e) { FeatureWriter(db).example(layer, feature, e); }

std::vector<FeatureHit> searchFeatures(Db& db, const std::string& text, SearchField field, int limit) {
  std::string pattern = "%";
  for (char c : text) {
    if (c == '%' || c == '_' || c == '\\') pattern += '\\';
    pattern += c;
  }
  pattern += "%";
  std::map<std::pair<int, int64_t>, bool> hits;
  auto add = [&](Stmt& s) {
    while (s.step()) hits[{static_cast<int>(s.i64(0)), s.i64(1)}] = true;
  };
  if (field == SearchField::Any || field == SearchField::Label) {
    Stmt s(db, "SELECT layer, feature FROM labels WHERE text LIKE ? ESCAPE '\\'");
    s.bind(1, pattern);
    add(s);
  }
  if (field == SearchField::Any || field == SearchField::Family) {
    Stmt s(db, "SELECT layer, feature FROM labels WHERE family LIKE ? ESCAPE '\\'"
               " UNION SELECT layer, feature FROM features WHERE family LIKE ? ESCAPE '\\'");
    s.bind(1, pattern).bind(2, pattern);
    add(s);
  }
  if (field == SearchField::Any || field == SearchField::PeakToken) {
    // Token ids whose display string matches, then the top examples whose max token is one of them.
    std::map<int32_t, bool> ids;
    {
      Stmt s(db, "SELECT id FROM token_strings WHERE display LIKE ? ESCAPE '\\'");
      s.bind(1, pattern);
      while (s.step()) ids[static_cast<int32_t>(s.i64(0))] = true;
    }
    if (!ids.empty()) {
      Stmt s(db, "SELECT layer, feature, substr(tokens, max_pos * 4 + 1, 4) FROM examples WHERE kind='top' AND rank=0");
      while (s.step()) {
        const auto b = s.blobAs<int32_t>(2);
        if (!b.empty() && ids.count(b[0])) hits[{static_cast<int>(s.i64(0)), s.i64(1)}] = true;
      }
    }
  }
  std::vector<FeatureHit> out;
  Stmt info(db,
            "SELECT COALESCE(l.text, ''), COALESCE(NULLIF(l.family, ''), f.family, ''), COALESCE(f.density, 0),"
            " COALESCE(f.max_activation, 0)"
            " FROM (SELECT ? AS layer, ? AS feature) k"
            " LEFT JOIN features f ON f.layer = k.layer AND f.feature = k.feature"
            " LEFT JOIN labels l ON l.layer = k.layer AND l.feature = k.feature");
  Stmt peak(db, "SELECT tokens, max_pos FROM examples WHERE layer=? AND feature=? AND kind='top' AND rank=0");
  Stmt tok(db, "SELECT display FROM token_strings WHERE id=?");
  for (const auto& [key, unused] : hits) {
    (void)unused;
    FeatureHit h;
    h.layer = key.first;
    h.feature = key.second;
    info.reset();
    info.bind(1, h.layer).bind(2, h.feature);
    if (info.step()) {
      h.label = info.text(0);
      h.family = info.text(1);
      h.density = info.f64(2);
      h.maxActivation = info.f64(3);
    }
    peak.reset();
    peak.bind(1, h.layer).bind(2, h.feature);
    if (peak.step()) {
      const auto ids = peak.blobAs<int32_t>(0);
      const int64_t pos = peak.i64(1);
      if (pos >= 0 && pos < static_cast<int64_t>(ids.size())) {
        tok.reset();
        tok.bind(1, static_cast<int64_t>(ids[pos]));
        if (tok.step()) h.peakToken = tok.text(0);
      }
    }
    out.push_back(std::move(h));
  }
  std::sort(out.begin(), out.end(), [](const FeatureHit& a, const FeatureHit& b) { return a.maxActivation > b.maxActivation; });
  if (limit > 0 && static_cast<int>(out.size()) > limit) out.resize(limit);
  return out;
}

std::vector<HeadFeature> headFeatures(Db& db, int layer, int head, int top, double minShare, bool includeDead) {
  const DbInfo info = dbInfo(db);
  if (std::find(info.layers.begin(), info.layers.end(), layer) == info.layers.end()) {
    std::string have;
    for (int l : info.layers) have += (have.empty() ? "" : ", ") + std::to_string(l);
    throw InputError(db.path(), "no features of layer " + std::to_string(layer) + " in this database (layers: " +
                                    (have.empty() ? "none" : have) + ")");
  }
  Stmt s(db,
         "SELECT f.feature, f.head_attribution, f.density, f.max_activation, f.dead, COALESCE(f.family, ''),"
         " l.text, l.family FROM features f"
         " LEFT JOIN labels l ON l.layer = f.layer AND l.feature = f.feature WHERE f.layer=? ORDER BY f.feature");
  s.bind(1, layer);
  std::vector<HeadFeature> out;
  size_t nHeads = 0;
  while (s.step()) {
    const std::vector<float> attr = s.blobAs<float>(1);
    nHeads = std::max(nHeads, attr.size());
    if (head < 0 || static_cast<size_t>(head) >= attr.size()) continue;
    HeadFeature f;
    f.layer = layer;
    f.head = head;
    f.feature = s.i64(0);
    f.share = attr[static_cast<size_t>(head)];
    f.density = s.f64(2);
    f.maxActivation = s.f64(3);
    f.dead = s.i64(4) != 0;
    if (f.dead && !includeDead) continue;
    if (!(static_cast<double>(f.share) >= minShare)) continue;
    if (!s.isNull(6)) {
      f.label = s.text(6);
      f.family = s.text(7);
    }
    if (f.family.empty() && !s.text(5).empty()) {
      f.family = s.text(5);
      f.familySuggested = true;
    }
    out.push_back(std::move(f));
  }
  if (nHeads == 0)
    throw InputError(db.path(), "this database stores no head attribution for layer " + std::to_string(layer) +
                                    " (an older or unfinished build); rebuild it with zscope-cli build-db");
  if (head < 0 || static_cast<size_t>(head) >= nHeads)
    throw InputError(db.path(), "head " + std::to_string(head) + " does not exist: layer " + std::to_string(layer) +
                                    " has heads 0-" + std::to_string(nHeads - 1));
  std::stable_sort(out.begin(), out.end(), [](const HeadFeature& a, const HeadFeature& b) { return a.share > b.share; });
  if (top > 0 && static_cast<int>(out.size()) > top) out.resize(static_cast<size_t>(top));
  return out;
}

json headFeatureJson(const HeadFeature& f) {
  return {{"layer", f.layer},
          {"head", f.head},
          {"feature", f.feature},
          {"share", f.share},
          {"density", f.density},
          {"max_activation", f.maxActivation},
          {"dead", f.dead},
          {"label", f.label.empty() ? json(nullptr) : json(f.label)},
          {"family", f.family.empty() ? json(nullptr) : json(f.family)},
          {"family_source", f.family.empty() ? json(nullptr) : json(f.familySuggested ? "suggestion" : "label")}};
}

}  // namespace zs::db
