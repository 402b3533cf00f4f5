#pragma once
// Internal to the attribution code (torch-free): the Impl behind
// zs::Attribution and the functions its .cpp files share.
#include <utility>
#include <vector>

#include "core/attribution/attribution.h"
#include "core/attribution/attribution_data.h"

namespace zs {
class Model;
struct Sae;
}  // namespace zs

namespace zs::attr {

// What an expandable tree node needs to produce its children.
struct Payload {
  enum Kind { Feature, AttnFeature, Source, AttnHead } kind = Feature;
  int layer = -1, head = -1, feature = -1, pos = -1, dest = -1;
  double scale = 1;       // Feature / AttnFeature: children = scale * DFA terms; Source: u = scale * w_h
  std::vector<double> u;  // Source / AttnHead: read direction in head `head`'s value space [dh]
};

// Runs the model and fills the cache (attribution_build.cpp, the only torch user).
Data buildData(const Model& model, const std::vector<const Sae*>& saes, std::vector<int64_t> tokens);

// Decoder-norm fractions per head of row `feature` of W_dec [dSae][dIn].
std::vector<float> headFractions(const float* Wdec, int dIn, int nHeads, int feature);
std::vector<std::pair<int, float>> topOfHead(const float* Wdec, int dSae, int dIn, int nHeads, int head,
                                             int top, const std::vector<uint8_t>* live);

// DFA[s*H + h] of feature g (layer l) at dest, for s <= dest.
std::vector<double> dfaTerms(const Data& D, int l, int g, int dest);

// A child before it is registered: the node and, when expandable, its payload.
struct Child {
  AttrNode node;
  Payload payload;
};
// Children of a payload (unsorted, complete). Labels and read directions of
// source children are filled in by finishChild, only for the children kept.
std::vector<Child> childrenOf(const Data& D, const Payload& p);
void finishChild(const Data& D, Child& c);

}  // namespace zs::attr

namespace zs {
struct Attribution::Impl {
  attr::Data D;
  mutable std::vector<attr::Payload> nodes;  // id -> payload
  int registerNode(attr::Payload p) const {
    nodes.push_back(std::move(p));
    return static_cast<int>(nodes.size()) - 1;
  }
};
}  // namespace zs
