// The recursive DFA tree (ATTRIBUTION.md, "Recursive DFA"). Patterns and ln1
// scales are frozen, so every node is linear in what lies below it and its
// children sum to it exactly (up to float rounding of the captured activations).
//
// Every expandable node reduces to a read direction:
//  - feature / attn_feature (layer l, feature g, pos d, scale k): children are
//    k * DFA[s, h] and k * bias_g; source (s, h) then reads head h's value at s
//    along u = k * w_h.
//  - source (layer l, head h, dest d, src s, u): value A[h][d,s] * v[s][h].u.
//    v is affine in resid_pre[l][s], so each residual component o contributes
//    o . r with r = (A / sigma) * P(gamma ⊙ W_V[h] u), plus the constant
//    A * (beta . W_V[h] u + b_V[h] . u).
//  - an earlier attention output o = z W_O + b_O contributes through q = W_O r:
//    per SAE feature f_g * (W_dec[g] . q) (an attn_feature with scale W_dec[g].q),
//    error (z - zhat) . q, bias b_dec . q + b_O . r; without an SAE per head
//    z_h . q_h (an attn_head reading u = q_h) plus b_O . r.
//  - attn_head (layer l, head h, pos s, u): value z[s][h].u = sum over s' of
//    A[h][s,s'] v[s'][h].u: source children with the same u.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/attribution/attribution_impl.h"
#include "core/base/error.h"

namespace zs::attr {
namespace {

std::string num(double x) {
  char b[32];
  std::snprintf(b, sizeof b, "%.3g", x);
  return b;
}

double dot(const double* a, const double* b, int n) {
  double s = 0;
  for (int i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

AttrNode makeNode(const char* kind, std::string label, double value) {
  AttrNode n;
  n.kind = kind;
  n.label = std::move(label);
  n.value = value;
  return n;
}

// Where a node sits; -1 = not applicable.
struct Where {
  int layer = -1, head = -1, pos = -1, dest = -1, feature = -1;
};

// A leaf (bias, error, embedding, MLP, ...).
Child leaf(const char* kind, std::string label, double value, Where w) {
  Child c;
  c.node = makeNode(kind, std::move(label), value);
  c.node.layer = w.layer;
  c.node.head = w.head;
  c.node.pos = w.pos;
  c.node.dest = w.dest;
  c.node.feature = w.feature;
  return c;
}

// An expandable node: the node and the payload that expands it share `w`.
Child expandable(const char* kind, std::string label, double value, Where w, Payload::Kind pk, double scale,
                 std::vector<double> u = {}) {
  Child c = leaf(kind, std::move(label), value, w);
  c.node.expandable = true;
  c.payload.kind = pk;
  c.payload.layer = w.layer;
  c.payload.head = w.head;
  c.payload.pos = w.pos;
  c.payload.dest = w.dest;
  c.payload.feature = w.feature;
  c.payload.scale = scale;
  c.payload.u = std::move(u);
  return c;
}

std::string lh(int l, int h) { return "L" + std::to_string(l) + "H" + std::to_string(h); }

std::string sourceLabel(const Data& D, const AttrNode& n) {
  return "src " + std::to_string(n.pos) + " " + D.tok(n.pos) + " " + lh(n.layer, n.head) + " -> " +
         std::to_string(n.dest);
}

// Source node reading head h of layer l at src for dest along u. A feature's
// DFA has n*H of them and most are cut, so the label and (for feature sources,
// u empty) the read direction are only made for the kept ones (finishChild).
Child sourceChild(int l, int h, int dest, int src, std::vector<double> u, double value, int feature, double scale) {
  return expandable("source", std::string(), value, Where{l, h, src, dest, feature}, Payload::Source, scale,
                    std::move(u));
}

std::vector<Child> featureChildren(const Data& D, const Payload& p) {
  const int l = p.layer, g = p.feature, dest = p.pos;
  const SaeData& S = D.sae(l);
  const double k = p.scale;
  const double ks = k * S.inScale[dest];  // the sources' u = ks * w_h
  std::vector<double> t = dfaTerms(D, l, g, dest);
  std::vector<Child> out;
  out.reserve(t.size() + 1);
  for (int s = 0; s <= dest; ++s)
    for (int h = 0; h < D.H; ++h) {
      out.push_back(sourceChild(l, h, dest, s, {}, k * t[static_cast<size_t>(s) * D.H + h], g, ks));
    }
  out.push_back(leaf("bias", "bias of L" + std::to_string(l) + " F" + std::to_string(g) +
                                 (S.gated ? (S.applyBdec ? " (b_mag - b_dec.W_mag)" : " (b_mag)")
                                           : (S.applyBdec ? " (b_enc - b_dec.W_enc)" : " (b_enc)")),
                     k * D.featureBias(l, g), Where{l, -1, -1, -1, g}));
  return out;
}

std::vector<Child> headChildren(const Data& D, const Payload& p) {
  std::vector<Child> out;
  const int l = p.layer, h = p.head, s = p.pos;
  for (int src = 0; src <= s; ++src) {
    const double value = D.pat(l, h, s, src) * dot(D.vAt(l, src, h), p.u.data(), D.dh);
    out.push_back(sourceChild(l, h, s, src, p.u, value, -1, 1.0));
  }
  return out;
}

// The parts of earlier attention layer lp's output at s, read along r.
void attnLayerChildren(const Data& D, int lp, int s, const std::vector<double>& r, std::vector<Child>& out) {
  const int d = D.d;
  const LayerData& Ly = D.layers[lp];
  const int dz = D.dz;
  std::vector<double> q(dz);  // W_O r, indexed like z
  for (int j = 0; j < dz; ++j) {
    const float* row = Ly.Wo + static_cast<size_t>(j) * d;
    double acc = 0;
    for (int i = 0; i < d; ++i) acc += row[i] * r[i];
    q[j] = acc;
  }
  double bO = 0;
  if (Ly.bO)
    for (int i = 0; i < d; ++i) bO += Ly.bO[i] * r[i];
  const double* z = &Ly.z[static_cast<size_t>(s) * dz];
  const std::string at = " @" + std::to_string(s);
  const std::string L = "L" + std::to_string(lp);
  if (D.saeOfLayer[lp] >= 0) {
    const SaeData& S = D.sae(lp);
    for (const auto& [g, f] : S.active[s]) {
      const float* w = S.Wdec + static_cast<size_t>(g) * dz;
      double kg = 0;  // d(term)/d(f_g): the scale its own DFA children get
      for (int j = 0; j < dz; ++j) kg += w[j] * q[j];
      kg *= S.decCoef[g] * S.outScale[s];
      Child c = expandable("attn_feature", L + " F" + std::to_string(g) + at + " " + D.tok(s) + " (act " + num(f) + ")",
                           f * kg, Where{lp, -1, s, -1, g}, Payload::AttnFeature, kg);
      c.node.activation = f;
      out.push_back(std::move(c));
    }
    double err = 0, bdec = 0;
    for (int j = 0; j < dz; ++j) {
      err += (z[j] - S.zhat[s][j]) * q[j];
      bdec += (S.bdec[j] * S.outScale[s] + S.outShift[s]) * q[j];
    }
    out.push_back(leaf("attn_error", L + " SAE error" + at, err, Where{lp, -1, s}));
    out.push_back(leaf("bias", L + " attn bias (b_dec.W_O + b_O)" + at, bdec + bO, Where{lp, -1, s}));
  } else {
    for (int h = 0; h < D.H; ++h)
      out.push_back(expandable("attn_head", lh(lp, h) + at, dot(z + h * D.dh, q.data() + h * D.dh, D.dh),
                               Where{lp, h, s}, Payload::AttnHead, 1.0,
                               std::vector<double>(q.begin() + h * D.dh, q.begin() + (h + 1) * D.dh)));
    out.push_back(leaf("bias", L + " attn bias (b_O)" + at, bO, Where{lp, -1, s}));
  }
}

std::vector<Child> sourceChildren(const Data& D, const Payload& p) {
  const int l = p.layer, h = p.head, s = p.pos, d = D.d;
  const LayerData& Ly = D.layers[l];
  const double A = D.pat(l, h, p.dest, s);
  std::vector<double> wv(d), r(d);
  D.wvTimes(l, h, p.u.data(), wv.data());
  double mean = 0, beta = 0;
  for (int i = 0; i < d; ++i) {
    r[i] = Ly.normW[i] * wv[i];
    mean += r[i];
    if (Ly.normB) beta += Ly.normB[i] * wv[i];
  }
  mean = D.centre ? mean / d : 0.0;  // RMSNorm has no mean subtraction
  const double c = A / Ly.scale[s];
  for (int i = 0; i < d; ++i) r[i] = c * (r[i] - mean);  // P is symmetric: o.P(x) = (P o).x
  double bV = 0;
  if (Ly.bV)
    for (int k = 0; k < D.dh; ++k) bV += Ly.bV[static_cast<size_t>(D.kvOf(h)) * D.dh + k] * p.u[k];

  std::vector<Child> out;
  const std::string at = " @" + std::to_string(s);
  const size_t off = static_cast<size_t>(s) * d;
  out.push_back(leaf("embed", "embed " + D.tok(s) + at, dot(&D.embed[off], r.data(), d), Where{-1, -1, s}));
  if (!D.posEmbed.empty())
    out.push_back(leaf("pos_embed", "pos_embed" + at, dot(&D.posEmbed[off], r.data(), d), Where{-1, -1, s}));
  for (int lp = 0; lp < l; ++lp) {
    attnLayerChildren(D, lp, s, r, out);
    out.push_back(leaf("mlp", "MLP" + std::to_string(lp) + at, dot(&D.layers[lp].mlpOut[off], r.data(), d),
                       Where{lp, -1, s}));
  }
  out.push_back(leaf("bias", "bias " + lh(l, h) + " (ln1 beta.W_V + b_V)" + at, A * (beta + bV), Where{l, h, s}));
  return out;
}

}  // namespace

void finishChild(const Data& D, Child& c) {
  if (c.node.kind == "source" && c.node.label.empty()) c.node.label = sourceLabel(D, c.node);
  Payload& p = c.payload;
  if (p.kind == Payload::Source && p.u.empty() && p.feature >= 0) {
    // u = scale * w_h, w_h = W_enc[h*dh:(h+1)*dh, feature]
    const SaeData& S = D.sae(p.layer);
    p.u.resize(D.dh);
    for (int j = 0; j < D.dh; ++j)
      p.u[j] = p.scale * S.Wenc[static_cast<size_t>(p.head * D.dh + j) * S.dSae + p.feature];
  }
}

std::vector<Child> childrenOf(const Data& D, const Payload& p) {
  switch (p.kind) {
    case Payload::Feature:
    case Payload::AttnFeature: return featureChildren(D, p);
    case Payload::Source: return sourceChildren(D, p);
    case Payload::AttnHead: return headChildren(D, p);
  }
  return {};
}

}  // namespace zs::attr

namespace zs {

AttrNode Attribution::root(int layer, int feature, int pos) const {
  const attr::Data& D = d_->D;
  attr::checkFeature(D, layer, feature);
  attr::checkPos(D, pos);
  const double pre = D.pre(layer, feature, pos);
  attr::Child c = attr::expandable("feature",
                                   "L" + std::to_string(layer) + " F" + std::to_string(feature) + " @" +
                                       std::to_string(pos) + " " + D.tok(pos) + " (pre " + attr::num(pre) + ")",
                                   pre, attr::Where{layer, -1, pos, -1, feature}, attr::Payload::Feature, 1.0);
  const attr::SaeData& S = D.sae(layer);
  c.node.activation = S.act[static_cast<size_t>(pos) * S.dSae + feature] > 0 ? pre : 0.0;
  c.node.id = d_->registerNode(std::move(c.payload));
  return c.node;
}

std::vector<AttrNode> Attribution::expand(int nodeId, int top) const {
  if (nodeId < 0 || nodeId >= static_cast<int>(d_->nodes.size()))
    throw InputError("attribution", "unknown tree node id " + std::to_string(nodeId));
  const attr::Payload p = d_->nodes[nodeId];  // a copy: registering children may reallocate
  std::vector<attr::Child> kids = attr::childrenOf(d_->D, p);
  std::stable_sort(kids.begin(), kids.end(), [](const attr::Child& a, const attr::Child& b) {
    return std::fabs(a.node.value) > std::fabs(b.node.value);
  });
  const size_t keep = top <= 0 ? kids.size() : std::min(kids.size(), static_cast<size_t>(top));
  std::vector<AttrNode> out;
  out.reserve(keep + 1);
  for (size_t i = 0; i < keep; ++i) {
    attr::Child& c = kids[i];
    attr::finishChild(d_->D, c);
    if (c.node.expandable) c.node.id = d_->registerNode(std::move(c.payload));
    out.push_back(std::move(c.node));
  }
  if (keep < kids.size()) {
    double rest = 0;
    for (size_t i = keep; i < kids.size(); ++i) rest += kids[i].node.value;
    AttrNode r;
    r.kind = "rest";
    r.value = rest;
    r.label = "rest (" + std::to_string(kids.size() - keep) + " more)";
    out.push_back(std::move(r));
  }
  return out;
}

void Attribution::expand(AttrNode& node, int top) const {
  if (!node.expandable || node.id < 0) {
    node.expanded = true;
    return;
  }
  node.children = expand(node.id, top);
  node.expanded = true;
}

namespace {
void expandRec(const Attribution& a, AttrNode& n, int depthLeft, int top) {
  if (depthLeft <= 0 || !n.expandable) return;
  a.expand(n, top);
  for (AttrNode& c : n.children) expandRec(a, c, depthLeft - 1, top);
}
}  // namespace

AttrNode Attribution::tree(int layer, int feature, int pos, int depth, int top) const {
  AttrNode r = root(layer, feature, pos);
  expandRec(*this, r, depth, top);
  return r;
}

}  // namespace zs
