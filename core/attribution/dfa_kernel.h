#pragma once
// The one DFA computation (ATTRIBUTION.md, "Direct feature attribution"), shared
// by the explorer's attribution and the feature-database builder: with the
// pattern fixed, a feature's target pre-activation at `dest` is linear in the
// value vectors, term by (source, query head):
//   out[s*H + h] = scale * A[h][dest][s] * (v[s][kv(h)] . w[h*dh:(h+1)*dh])   for s <= dest,
// where query head h reads key/value head kv(h) = h / (H/K) and w is the
// feature's column of the target encoder. Torch-free.
#include <cstddef>

namespace zs::attr {

// v(s, k) -> pointer to dh values of source s, key/value head k;
// pattern(h, dest, s) -> attention weight; w: [H*dh].
template <class T, class ValueAt, class PatternAt>
void dfaTermsInto(int dest, int H, int K, int dh, ValueAt v, PatternAt pattern, const double* w, double scale,
                  double* out) {
  const int perGroup = H / K;
  for (int s = 0; s <= dest; ++s)
    for (int h = 0; h < H; ++h) {
      const T* vs = v(s, h / perGroup);
      const double* wh = w + static_cast<size_t>(h) * dh;
      double acc = 0;
      for (int k = 0; k < dh; ++k) acc += static_cast<double>(vs[k]) * wh[k];
      out[static_cast<size_t>(s) * H + h] = scale * static_cast<double>(pattern(h, dest, s)) * acc;
    }
}

}  // namespace zs::attr
