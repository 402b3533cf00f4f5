// zs::Attribution: the prompt's cache and the simple queries (activations,
// active features, head attribution). DFA, families and the tree live in
// attribution_dfa.cpp / attribution_tree.cpp; the forward pass in attribution_build.cpp.
#include "core/attribution/attribution.h"

#include <algorithm>
#include <cmath>

#include "core/attribution/attribution_impl.h"
#include "core/base/error.h"

namespace zs::attr {

const SaeData& Data::sae(int layer) const {
  if (layer < 0 || layer >= L || saeOfLayer[layer] < 0)
    throw InputError("attribution", "no SAE is loaded for layer " + std::to_string(layer));
  return saes[saeOfLayer[layer]];
}

std::string Data::tok(int pos) const {
  if (pos >= 0 && pos < static_cast<int>(tokenLabels.size())) return "'" + tokenLabels[pos] + "'";
  return "#" + std::to_string(tokens.at(pos));
}

void Data::wvTimes(int l, int h, const double* u, double* out) const {
  const float* W = layers[l].Wv + static_cast<size_t>(kvOf(h)) * d * dh;
  for (int i = 0; i < d; ++i) {
    const float* row = W + static_cast<size_t>(i) * dh;
    double acc = 0;
    for (int k = 0; k < dh; ++k) acc += row[k] * u[k];
    out[i] = acc;
  }
}

double Data::pre(int l, int g, int pos) const {
  const SaeData& S = sae(l);
  const double* z = &layers[l].z[static_cast<size_t>(pos) * dz];
  double acc = 0;
  for (int i = 0; i < dz; ++i) acc += z[i] * S.Wenc[static_cast<size_t>(i) * S.dSae + g];
  return S.inScale[pos] * acc + S.fbias[g];
}

double Data::featureBias(int l, int g) const {
  const SaeData& S = sae(l);
  return S.fbias[g];
}

void checkPos(const Data& D, int pos) {
  if (pos < 0 || pos >= D.n)
    throw InputError("attribution", "position " + std::to_string(pos) + " is out of range 0.." +
                                        std::to_string(D.n - 1));
}

void checkFeature(const Data& D, int layer, int feature) {
  const SaeData& S = D.sae(layer);
  if (feature < 0 || feature >= S.dSae)
    throw InputError("attribution", "feature " + std::to_string(feature) + " is out of range 0.." +
                                        std::to_string(S.dSae - 1) + " for layer " + std::to_string(layer));
}

std::vector<float> headFractions(const float* Wdec, int dIn, int nHeads, int feature) {
  const int dh = dIn / nHeads;
  std::vector<float> out(nHeads);
  const float* row = Wdec + static_cast<size_t>(feature) * dIn;
  double total = 0;
  std::vector<double> norms(nHeads);
  for (int h = 0; h < nHeads; ++h) {
    double s = 0;
    for (int k = 0; k < dh; ++k) s += double(row[h * dh + k]) * row[h * dh + k];
    norms[h] = std::sqrt(s);
    total += norms[h];
  }
  for (int h = 0; h < nHeads; ++h) out[h] = total > 0 ? static_cast<float>(norms[h] / total) : 0.f;
  return out;
}

std::vector<std::pair<int, float>> topOfHead(const float* Wdec, int dSae, int dIn, int nHeads, int head, int top,
                                             const std::vector<uint8_t>* live) {
  if (head < 0 || head >= nHeads)
    throw InputError("attribution", "head " + std::to_string(head) + " is out of range 0.." +
                                        std::to_string(nHeads - 1));
  if (live && static_cast<int>(live->size()) != dSae)
    throw InputError("attribution", "liveness mask has " + std::to_string(live->size()) + " entries, expected " +
                                        std::to_string(dSae));
  std::vector<std::pair<int, float>> all;
  all.reserve(dSae);
  for (int g = 0; g < dSae; ++g) {
    if (live && !(*live)[g]) continue;
    all.emplace_back(g, headFractions(Wdec, dIn, nHeads, g)[head]);
  }
  const size_t k = top <= 0 ? all.size() : std::min(all.size(), static_cast<size_t>(top));
  std::partial_sort(all.begin(), all.begin() + k, all.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  all.resize(k);
  return all;
}

}  // namespace zs::attr

namespace zs {

Attribution::Attribution(const Model& model, const std::vector<const Sae*>& saes, std::vector<int64_t> tokens)
    : d_(std::make_unique<Impl>()) {
  d_->D = attr::buildData(model, saes, std::move(tokens));
}
Attribution::~Attribution() = default;
Attribution::Attribution(Attribution&&) noexcept = default;
Attribution& Attribution::operator=(Attribution&&) noexcept = default;

void Attribution::setTokenLabels(std::vector<std::string> labels) { d_->D.tokenLabels = std::move(labels); }
void Attribution::setBlankTokens(std::vector<uint8_t> blank) { d_->D.blank = std::move(blank); }
const std::vector<int64_t>& Attribution::tokens() const { return d_->D.tokens; }
int Attribution::numTokens() const { return d_->D.n; }
int Attribution::nLayers() const { return d_->D.L; }
int Attribution::nHeads() const { return d_->D.H; }
int Attribution::dHead() const { return d_->D.dh; }

std::vector<int> Attribution::saeLayers() const {
  std::vector<int> out;
  for (const auto& s : d_->D.saes) out.push_back(s.layer);
  return out;
}
bool Attribution::hasSae(int layer) const {
  return layer >= 0 && layer < d_->D.L && d_->D.saeOfLayer[layer] >= 0;
}
int Attribution::dSae(int layer) const { return d_->D.sae(layer).dSae; }

std::vector<float> Attribution::preActivations(int layer) const { return d_->D.sae(layer).pre; }

std::vector<float> Attribution::activations(int layer) const {
  return d_->D.sae(layer).act;
}

std::vector<float> Attribution::featureActivations(int layer, int feature) const {
  attr::checkFeature(d_->D, layer, feature);
  const attr::SaeData& S = d_->D.sae(layer);
  std::vector<float> out(d_->D.n);
  for (int p = 0; p < d_->D.n; ++p) out[p] = S.act[static_cast<size_t>(p) * S.dSae + feature];
  return out;
}

double Attribution::preActivation(int layer, int feature, int pos) const {
  attr::checkFeature(d_->D, layer, feature);
  attr::checkPos(d_->D, pos);
  return d_->D.pre(layer, feature, pos);
}

std::vector<ActiveFeature> Attribution::activeFeatures(int pos, int top) const {
  attr::checkPos(d_->D, pos);
  std::vector<ActiveFeature> out;
  for (const auto& S : d_->D.saes)
    for (const auto& [g, f] : S.active[pos]) out.push_back({S.layer, g, pos, f});
  std::stable_sort(out.begin(), out.end(),
                   [](const ActiveFeature& a, const ActiveFeature& b) { return a.activation > b.activation; });
  if (top > 0 && static_cast<int>(out.size()) > top) out.resize(top);
  return out;
}

std::vector<float> Attribution::headAttribution(int layer, int feature) const {
  attr::checkFeature(d_->D, layer, feature);
  return attr::headFractions(d_->D.sae(layer).Wdec, d_->D.dz, d_->D.H, feature);
}

std::vector<std::pair<int, float>> Attribution::topFeaturesOfHead(int layer, int head, int top,
                                                                  const std::vector<uint8_t>* live) const {
  const attr::SaeData& S = d_->D.sae(layer);
  return attr::topOfHead(S.Wdec, S.dSae, d_->D.dz, d_->D.H, head, top, live);
}


}  // namespace zs
