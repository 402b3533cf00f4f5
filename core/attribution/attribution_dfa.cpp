// Direct feature attribution and the family suggestion built on it
// (ATTRIBUTION.md, "Direct feature attribution" and "Feature families").
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/attribution/attribution_impl.h"
#include "core/attribution/dfa_kernel.h"
#include "core/base/error.h"

namespace zs::attr {

std::vector<double> dfaTerms(const Data& D, int l, int g, int dest) {
  const SaeData& S = D.sae(l);
  // w_h = W_enc[h*dh:(h+1)*dh, g], gathered once (W_enc is [dz][dSae]).
  std::vector<double> w(D.dz);
  for (int i = 0; i < D.dz; ++i) w[i] = S.Wenc[static_cast<size_t>(i) * S.dSae + g];
  std::vector<double> out(static_cast<size_t>(dest + 1) * D.H);
  const auto value = [&](int s, int k) { return &D.layers[l].v[(static_cast<size_t>(s) * D.K + k) * D.dh]; };
  const auto pattern = [&](int h, int d, int s) { return D.pat(l, h, d, s); };
  dfaTermsInto<double>(dest, D.H, D.K, D.dh, value, pattern, w.data(), S.inScale[dest], out.data());
  return out;
}

namespace {

DfaMass masses(const Data& D, int l, int g, int dest) {
  std::vector<double> t = dfaTerms(D, l, g, dest);
  DfaMass m;
  for (int s = 0; s <= dest; ++s) {
    double ms = 0;
    for (int h = 0; h < D.H; ++h) ms += std::fabs(t[static_cast<size_t>(s) * D.H + h]);
    m.add(ms, s, dest, inductionSource(D.tokens, s, dest, D.blankAt(dest)));
  }
  return m;
}

std::string fmt(double x) {
  char b[32];
  std::snprintf(b, sizeof b, "%.2f", x);
  return b;
}

}  // namespace
}  // namespace zs::attr

namespace zs {

const char* const kFamilyRule =
    "position_iqr <= 4 over >= 8 examples: positional; consistency < 0.3: unclear; induction_share (the token "
    "after an earlier copy; not whitespace, not the destination or the token before it) >= 0.5; local_share "
    "(d-s <= 3) >= 0.4; spread >= 4 and mean_distance >= 4: high-level context; else unclear";

// The thresholds: a majority of the mass for induction and local context; for
// high-level context the mass must be spread (>= 4 effective sources) and far
// (mean distance >= 4 tokens).
void classifyFamily(FamilySuggestion& f) {
  using attr::fmt;
  if (f.positionExamples >= 8 && f.positionIqr <= 4) {
    f.family = "positional";
    f.reason = "the top examples fire at nearly the same place in their contexts (median position " +
               fmt(f.medianPosition) + ", interquartile range " + fmt(f.positionIqr) + " tokens)";
  } else if (f.consistency >= 0 && f.consistency < 0.3) {
    f.family = "unclear";
    f.reason = "the top examples share neither a token nor a DFA source token (consistency " + fmt(f.consistency) +
               " < 0.3)";
  } else if (f.totalMass <= 0) {
    f.family = "unclear";
    f.reason = "no DFA mass";
  } else if (f.inductionShare >= 0.5) {
    f.family = "induction";
    f.reason = fmt(100 * f.inductionShare) + "% of the DFA mass comes from tokens right after an earlier copy of the current token";
  } else if (f.localShare >= 0.4) {
    f.family = "local context";
    f.reason = fmt(100 * f.localShare) + "% of the DFA mass comes from the last 3 tokens";
  } else if (f.spread >= 4 && f.meanDistance >= 4) {
    f.family = "high-level context";
    f.reason = "DFA mass spread over " + fmt(f.spread) + " effective sources, mean distance " + fmt(f.meanDistance);
  } else {
    f.family = "unclear";
    f.reason = "no rule applies (induction " + fmt(f.inductionShare) + ", local " + fmt(f.localShare) + ", spread " +
               fmt(f.spread) + ", distance " + fmt(f.meanDistance) + ")";
  }
}

Dfa Attribution::dfa(int layer, int feature, int pos) const {
  const attr::Data& D = d_->D;
  attr::checkFeature(D, layer, feature);
  attr::checkPos(D, pos);
  Dfa r;
  r.layer = layer;
  r.feature = feature;
  r.pos = pos;
  r.nHeads = D.H;
  r.preActivation = D.pre(layer, feature, pos);
  const attr::SaeData& S = D.sae(layer);
  r.activation = S.act[static_cast<size_t>(pos) * S.dSae + feature] > 0 ? r.preActivation : 0.0;
  r.bias = D.featureBias(layer, feature);
  std::vector<double> t = attr::dfaTerms(D, layer, feature, pos);
  r.bySource.assign(pos + 1, 0.0);
  r.byHead.assign(D.H, 0.0);
  r.terms.reserve(t.size());
  for (int s = 0; s <= pos; ++s)
    for (int h = 0; h < D.H; ++h) {
      const double v = t[static_cast<size_t>(s) * D.H + h];
      r.terms.push_back({s, h, v});
      r.bySource[s] += v;
      r.byHead[h] += v;
    }
  return r;
}

void FamilyAccumulator::add(const DfaMass& m, double weight) {
  if (m.total <= 0 || weight <= 0) return;
  w += weight;
  induction += weight * m.induction / m.total;
  local += weight * m.local / m.total;
  distance += weight * m.distance / m.total;
  spread += weight * m.total * m.total / m.sumSq;
  mass += weight * m.total;
  ++n;
}

void FamilyAccumulator::addPosition(int pos, double weight) {
  if (weight > 0) positions.emplace_back(pos, weight);
}

void FamilyAccumulator::addExampleTokens(int64_t maxToken, int64_t sourceToken) {
  exampleTokens.emplace_back(maxToken, sourceToken);
}

double modalShare(const std::vector<int64_t>& ids) {
  if (ids.empty()) return 0;
  std::vector<int64_t> s = ids;
  std::sort(s.begin(), s.end());
  size_t best = 0;
  for (size_t i = 0; i < s.size();) {
    size_t j = i;
    while (j < s.size() && s[j] == s[i]) ++j;
    best = std::max(best, j - i);
    i = j;
  }
  return static_cast<double>(best) / static_cast<double>(s.size());
}

double exampleConsistency(const std::vector<std::pair<int64_t, int64_t>>& maxAndSource) {
  if (maxAndSource.size() < 8) return -1;
  std::vector<int64_t> maxT, srcT;
  for (const auto& [m, s] : maxAndSource) {
    maxT.push_back(m);
    srcT.push_back(s);
  }
  return std::max(modalShare(maxT), modalShare(srcT));
}

namespace {

// Weighted quantile q of (value, weight) pairs sorted by value: the first value whose cumulative weight
// reaches q of the total.
double weightedQuantile(const std::vector<std::pair<double, double>>& sorted, double total, double q) {
  double acc = 0;
  for (const auto& [v, wt] : sorted) {
    acc += wt;
    if (acc >= q * total) return v;
  }
  return sorted.empty() ? 0.0 : sorted.back().first;
}

}  // namespace

FamilySuggestion FamilyAccumulator::result() const {
  FamilySuggestion f;
  if (n == 0 || w <= 0) {
    f.family = "inactive";
    f.reason = "the feature does not fire on this prompt";
    return f;
  }
  f.inductionShare = induction / w;
  f.localShare = local / w;
  f.meanDistance = distance / w;
  f.spread = spread / w;
  f.totalMass = mass / w;
  f.positions = n;
  if (!positions.empty()) {
    std::vector<std::pair<double, double>> sorted = positions;
    std::sort(sorted.begin(), sorted.end());
    double total = 0;
    for (const auto& p : sorted) total += p.second;
    f.medianPosition = weightedQuantile(sorted, total, 0.5);
    f.positionIqr = weightedQuantile(sorted, total, 0.75) - weightedQuantile(sorted, total, 0.25);
    f.positionExamples = static_cast<int>(sorted.size());
  }
  f.consistency = exampleConsistency(exampleTokens);
  classifyFamily(f);
  return f;
}

Dfa Attribution::gateDfa(int layer, int feature, int pos) const {
  const attr::Data& D = d_->D;
  attr::checkFeature(D, layer, feature);
  const attr::SaeData& S = D.sae(layer);
  if (!S.gated) throw InputError("attribution", "layer " + std::to_string(layer) + "'s SAE is not gated: no gate DFA");
  Dfa r = dfa(layer, feature, pos);
  const double c = S.gateCoef[feature];
  r.bias = S.gateBias[feature];
  r.preActivation = r.bias;
  for (auto& t : r.terms) {
    t.value *= c;
    r.preActivation += t.value;
  }
  for (double& v : r.bySource) v *= c;
  for (double& v : r.byHead) v *= c;
  return r;
}

FamilySuggestion Attribution::family(int layer, int feature, int pos) const {
  const attr::Data& D = d_->D;
  attr::checkFeature(D, layer, feature);
  attr::checkPos(D, pos);
  const DfaMass m = attr::masses(D, layer, feature, pos);
  if (m.total <= 0) {
    FamilySuggestion f;
    f.positions = 1;
    classifyFamily(f);
    return f;
  }
  FamilyAccumulator acc;
  acc.add(m, 1.0);
  return acc.result();
}

FamilySuggestion Attribution::family(int layer, int feature) const {
  const attr::Data& D = d_->D;
  attr::checkFeature(D, layer, feature);
  FamilyAccumulator acc;
  for (int p = 0; p < D.n; ++p) {
    if (D.sae(layer).act[static_cast<size_t>(p) * D.sae(layer).dSae + feature] <= 0) continue;
    const double a = std::max(0.0, D.pre(layer, feature, p));
    if (a > 0) acc.add(attr::masses(D, layer, feature, p), a);
  }
  return acc.result();
}

}  // namespace zs
