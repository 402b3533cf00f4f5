#include "core/train/sae_kernels.h"

#include <ATen/Parallel.h>

#include <cmath>
#include <vector>

namespace zs::kernels {
namespace {

// Dot product with eight partial sums so that the compiler vectorises it
// without -ffast-math.
inline float dot(const float* __restrict a, const float* __restrict b, int64_t n) {
  float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) s[k] += a[i + k] * b[i + k];
  float r = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
  for (; i < n; ++i) r += a[i] * b[i];
  return r;
}

inline void axpy(float* __restrict y, float a, const float* __restrict x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

}  // namespace

SparseStepResult sparseStep(const float* x, const float* xc, const float* pre, const float* dec, const float* bdec,
                            int64_t B, int64_t d, int64_t S, float l1Coeff, float* G, float* gdec, float* gencT,
                            float* gbenc, int32_t* fired) {
  // 1. Active entries per row (CSR).
  std::vector<int64_t> rowPtr(static_cast<size_t>(B) + 1, 0);
  at::parallel_for(0, B, 16, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const float* p = pre + b * S;
      int64_t c = 0;
      for (int64_t j = 0; j < S; ++j) c += p[j] > 0.f;
      rowPtr[b + 1] = c;
    }
  });
  for (int64_t b = 0; b < B; ++b) rowPtr[b + 1] += rowPtr[b];
  const int64_t nnz = rowPtr[B];
  std::vector<int32_t> cols(static_cast<size_t>(nnz));
  std::vector<float> vals(static_cast<size_t>(nnz));
  std::vector<double> rowSq(static_cast<size_t>(B)), rowL1(static_cast<size_t>(B));
  const float gScale = 2.f / static_cast<float>(B);
  // 2. Per row: collect actives, decode, residual gradient G.
  at::parallel_for(0, B, 16, [&](int64_t b0, int64_t b1) {
    std::vector<float> xhat(static_cast<size_t>(d));
    for (int64_t b = b0; b < b1; ++b) {
      const float* p = pre + b * S;
      int64_t k = rowPtr[b];
      double l1 = 0;
      for (int64_t i = 0; i < d; ++i) xhat[i] = bdec[i];
      for (int64_t j = 0; j < S; ++j) {
        float v = p[j];
        if (v > 0.f) {
          cols[k] = static_cast<int32_t>(j);
          vals[k] = v;
          ++k;
          l1 += v;
          axpy(xhat.data(), v, dec + j * d, d);
        }
      }
      const float* xr = x + b * d;
      float* g = G + b * d;
      double sq = 0;
      for (int64_t i = 0; i < d; ++i) {
        float e = xhat[i] - xr[i];
        sq += static_cast<double>(e) * e;
        g[i] = gScale * e;
      }
      rowSq[b] = sq;
      rowL1[b] = l1;
    }
  });
  // 3. Transpose to CSC (in row order, so sums are deterministic).
  std::vector<int64_t> colPtr(static_cast<size_t>(S) + 1, 0);
  for (int64_t k = 0; k < nnz; ++k) ++colPtr[cols[k] + 1];
  for (int64_t j = 0; j < S; ++j) colPtr[j + 1] += colPtr[j];
  std::vector<int32_t> rowIdx(static_cast<size_t>(nnz));
  std::vector<float> cvals(static_cast<size_t>(nnz));
  {
    std::vector<int64_t> fillPos(colPtr.begin(), colPtr.end() - 1);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t k = rowPtr[b]; k < rowPtr[b + 1]; ++k) {
        int64_t pos = fillPos[cols[k]]++;
        rowIdx[pos] = static_cast<int32_t>(b);
        cvals[pos] = vals[k];
      }
  }
  // 4. Per feature: dLoss/dpre at its active tokens, then its W_dec row,
  //    W_enc column and b_enc gradients.
  const float l1Grad = l1Coeff / static_cast<float>(B);
  at::parallel_for(0, S, 8, [&](int64_t j0, int64_t j1) {
    for (int64_t j = j0; j < j1; ++j) {
      float* gd = gdec + j * d;
      float* ge = gencT + j * d;
      const float* dj = dec + j * d;
      for (int64_t i = 0; i < d; ++i) gd[i] = ge[i] = 0.f;
      double gb = 0;
      for (int64_t k = colPtr[j]; k < colPtr[j + 1]; ++k) {
        const int64_t b = rowIdx[k];
        const float* gbRow = G + b * d;
        const float dp = dot(gbRow, dj, d) + l1Grad;
        axpy(gd, cvals[k], gbRow, d);
        axpy(ge, dp, xc + b * d, d);
        gb += dp;
      }
      gbenc[j] = static_cast<float>(gb);
      fired[j] = static_cast<int32_t>(colPtr[j + 1] - colPtr[j]);
    }
  });
  SparseStepResult r;
  r.nnz = nnz;
  for (int64_t b = 0; b < B; ++b) {
    r.sqErr += rowSq[b];
    r.l1 += rowL1[b];
  }
  return r;
}

MaskedStepResult maskedStep(const MaskedStepInput& in, const MaskedStepOutput& out) {
  const int64_t B = in.B, d = in.d, S = in.S;
  const bool aux = in.xRow != nullptr, thrK = in.tRow != nullptr;
  const int64_t nA = in.aRow[B], nX = aux ? in.xRow[B] : 0, nT = thrK ? in.tRow[B] : 0;
  std::vector<float> dA(static_cast<size_t>(nA)), dX(static_cast<size_t>(nX)), dT(static_cast<size_t>(nT));
  std::vector<float> Ga(aux ? static_cast<size_t>(B * d) : 0);
  std::vector<double> rowSq(static_cast<size_t>(B)), rowAux(static_cast<size_t>(B)), rowF(static_cast<size_t>(B));
  const float gScale = 2.f / static_cast<float>(B);
  // 1. Per row: decode the active entries, residual gradient G; AuxK's
  //    residual and its gradient Ga; dLoss/dpre at every listed entry.
  at::parallel_for(0, B, 16, [&](int64_t b0, int64_t b1) {
    std::vector<float> buf(static_cast<size_t>(d));
    for (int64_t b = b0; b < b1; ++b) {
      for (int64_t i = 0; i < d; ++i) buf[i] = in.bdec[i];
      double fs = 0;
      for (int64_t k = in.aRow[b]; k < in.aRow[b + 1]; ++k) {
        axpy(buf.data(), in.aVal[k], in.dec + static_cast<int64_t>(in.aCol[k]) * d, d);
        fs += in.aVal[k];
      }
      const float* xr = in.x + b * d;
      float* g = out.G + b * d;
      double sq = 0;
      for (int64_t i = 0; i < d; ++i) {
        const float e = buf[i] - xr[i];
        sq += static_cast<double>(e) * e;
        g[i] = gScale * e;
        buf[i] = e;
      }
      rowSq[b] = sq;
      rowF[b] = fs;
      if (aux) {
        for (int64_t k = in.xRow[b]; k < in.xRow[b + 1]; ++k)
          axpy(buf.data(), in.xVal[k], in.dec + static_cast<int64_t>(in.xCol[k]) * d, d);
        float* ga = Ga.data() + b * d;
        double as = 0;
        for (int64_t i = 0; i < d; ++i) {
          as += static_cast<double>(buf[i]) * buf[i];
          ga[i] = gScale * in.auxCoef * buf[i];
        }
        rowAux[b] = as;
        for (int64_t k = in.xRow[b]; k < in.xRow[b + 1]; ++k)
          dX[k] = dot(ga, in.dec + static_cast<int64_t>(in.xCol[k]) * d, d);
      }
      for (int64_t k = in.aRow[b]; k < in.aRow[b + 1]; ++k)
        dA[k] = dot(g, in.dec + static_cast<int64_t>(in.aCol[k]) * d, d);
      for (int64_t k = thrK ? in.tRow[b] : 0; k < (thrK ? in.tRow[b + 1] : 0); ++k)
        dT[k] = dot(g, in.dec + static_cast<int64_t>(in.tCol[k]) * d, d);
    }
  });
  // 2. Transpose active + AuxK entries to CSC (in row order: deterministic sums).
  std::vector<int64_t> colPtr(static_cast<size_t>(S) + 1, 0);
  std::vector<int32_t> firedCount(static_cast<size_t>(S), 0);
  for (int64_t k = 0; k < nA; ++k) ++colPtr[in.aCol[k] + 1], ++firedCount[in.aCol[k]];
  for (int64_t k = 0; k < nX; ++k) ++colPtr[in.xCol[k] + 1];
  for (int64_t j = 0; j < S; ++j) colPtr[j + 1] += colPtr[j];
  struct Entry {
    int32_t row;
    int32_t aux;  // 1: the gradient row is Ga, else G
    float w;      // the activation (f, or the aux pre-activation)
    float dp;     // dLoss/dpre
  };
  std::vector<Entry> ent(static_cast<size_t>(nA + nX));
  {
    std::vector<int64_t> pos(colPtr.begin(), colPtr.end() - 1);
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t k = in.aRow[b]; k < in.aRow[b + 1]; ++k)
        ent[pos[in.aCol[k]]++] = {static_cast<int32_t>(b), 0, in.aVal[k], dA[k]};
      for (int64_t k = aux ? in.xRow[b] : 0; k < (aux ? in.xRow[b + 1] : 0); ++k)
        ent[pos[in.xCol[k]]++] = {static_cast<int32_t>(b), 1, in.xVal[k], dX[k]};
    }
  }
  // 3. Per feature: W_dec row, W_enc column and b_enc gradients.
  at::parallel_for(0, S, 8, [&](int64_t j0, int64_t j1) {
    for (int64_t j = j0; j < j1; ++j) {
      float* gd = out.gdec + j * d;
      float* ge = out.gencT + j * d;
      for (int64_t i = 0; i < d; ++i) gd[i] = ge[i] = 0.f;
      double gb = 0;
      for (int64_t k = colPtr[j]; k < colPtr[j + 1]; ++k) {
        const Entry& e = ent[k];
        const float* gr = (e.aux ? Ga.data() : out.G) + static_cast<int64_t>(e.row) * d;
        axpy(gd, e.w, gr, d);
        axpy(ge, e.dp, in.xc + static_cast<int64_t>(e.row) * d, d);
        gb += e.dp;
      }
      out.gbenc[j] = static_cast<float>(gb);
      out.fired[j] = firedCount[j];
    }
  });
  // 4. JumpReLU thresholds (row order, double accumulators).
  if (thrK) {
    std::vector<double> gt(static_cast<size_t>(S), 0.0);
    const double eps = in.bandwidth, l0g = in.l0Coeff / (static_cast<double>(B) * eps);
    for (int64_t k = 0; k < nT; ++k) {
      const int32_t j = in.tCol[k];
      gt[j] += static_cast<double>(dT[k]) * (-static_cast<double>(in.thr[j]) / eps) - l0g;
    }
    for (int64_t j = 0; j < S; ++j) out.gthr[j] = static_cast<float>(gt[j]);
  }
  MaskedStepResult r;
  r.nnz = nA;
  for (int64_t b = 0; b < B; ++b) {
    r.sqErr += rowSq[b];
    r.auxSq += rowAux[b];
    r.fSum += rowF[b];
  }
  return r;
}

void adamUpdate(float* p, float* m, float* v, const float* g, int64_t n, float lr, float beta1, float beta2,
                float eps, float biasCorr1, float biasCorr2) {
  const float stepSize = lr / biasCorr1;
  const float invSqrtBc2 = 1.f / std::sqrt(biasCorr2);
  at::parallel_for(0, n, 1 << 14, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const float gi = g[i];
      const float mi = beta1 * m[i] + (1.f - beta1) * gi;
      const float vi = beta2 * v[i] + (1.f - beta2) * gi * gi;
      m[i] = mi;
      v[i] = vi;
      p[i] -= stepSize * mi / (std::sqrt(vi) * invSqrtBc2 + eps);
    }
  });
}

}  // namespace zs::kernels
