#pragma once
// CPU kernels for an SAE step whose features are sparse (internal to core).
// Only the encoder matmul is dense; the decoder product and every gradient
// touch just the active (token, feature) pairs, i.e. O(B * L0 * d_in) work
// instead of O(B * d_sae * d_in).
#include <cstdint>

namespace zs::kernels {

struct SparseStepResult {
  double sqErr = 0;  // sum over the batch of sum_i (zhat - z)^2
  double l1 = 0;     // sum over the batch of sum_j f_j
  int64_t nnz = 0;   // active (token, feature) pairs
};

// All arrays float32, row-major, contiguous. Inputs: x, xc (= x - b_dec or x)
// [B, d]; pre (pre-activations) [B, S]; dec [S, d]; bdec [d]. Outputs:
// G = 2 (zhat - x) / B [B, d]; gdec, gencT [S, d] (gencT = dLoss/dW_enc^T);
// gbenc [S]; fired [S] (the number of tokens of this batch the feature fired on).
SparseStepResult sparseStep(const float* x, const float* xc, const float* pre, const float* dec, const float* bdec,
                            int64_t B, int64_t d, int64_t S, float l1Coeff, float* G, float* gdec, float* gencT,
                            float* gbenc, int32_t* fired);

// The sparse step of the architectures whose active set is chosen by a rule
// other than pre > 0 (TopK, BatchTopK, JumpReLU), for the loss
//   sum_i (zhat_i - z_i)^2 + auxCoef * sum_i (e_aux_i)^2   (per token, averaged over B)
// with zhat = b_dec + sum_{active j} f_j W_dec[j] and, for AuxK, e_aux = (zhat - z) +
// sum_{aux j} pre_j W_dec[j] (the residual detached). Entry lists are CSR over
// the batch rows: rowPtr [B + 1], cols, vals. Work is O((nnz + nnzAux + nnzThr) * d).
struct MaskedStepInput {
  const float *x = nullptr, *xc = nullptr, *dec = nullptr, *bdec = nullptr;
  int64_t B = 0, d = 0, S = 0;
  // Active entries (f = vals, df/dpre = 1 there).
  const int64_t* aRow = nullptr;
  const int32_t* aCol = nullptr;
  const float* aVal = nullptr;
  // AuxK entries (pre values of the selected dead latents); aRow == nullptr: none.
  const int64_t* xRow = nullptr;
  const int32_t* xCol = nullptr;
  const float* xVal = nullptr;
  float auxCoef = 0;
  // JumpReLU: entries within bandwidth/2 of their threshold (the rectangle
  // kernel's support); tRow == nullptr: none. gthr = dLoss/dthreshold with the
  // pseudo-derivatives df/dt = -(t/eps) K, dL0/dt = -(1/eps) K and L0 coefficient l0Coeff.
  const int64_t* tRow = nullptr;
  const int32_t* tCol = nullptr;
  const float* thr = nullptr;
  float bandwidth = 0, l0Coeff = 0;
};
struct MaskedStepOutput {
  float* G = nullptr;      // [B, d] 2 (zhat - x) / B
  float* gdec = nullptr;   // [S, d]
  float* gencT = nullptr;  // [S, d]
  float* gbenc = nullptr;  // [S]
  int32_t* fired = nullptr;  // [S] active entries per feature
  float* gthr = nullptr;   // [S] (only with tRow)
};
struct MaskedStepResult {
  double sqErr = 0;   // sum_b sum_i (zhat - z)^2
  double auxSq = 0;   // sum_b sum_i e_aux^2 (unscaled)
  double fSum = 0;    // sum of the active values
  int64_t nnz = 0;
};
MaskedStepResult maskedStep(const MaskedStepInput& in, const MaskedStepOutput& out);

// Fused Adam update on n elements (torch.optim.Adam semantics, no weight decay).
void adamUpdate(float* p, float* m, float* v, const float* g, int64_t n, float lr, float beta1, float beta2,
                float eps, float biasCorr1, float biasCorr2);

}  // namespace zs::kernels
