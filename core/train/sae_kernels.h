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

// Fused Adam update on n elements (torch.optim.Adam semantics, no weight decay).
void adamUpdate(float* p, float* m, float* v, const float* g, int64_t n, float lr, float beta1, float beta2,
                float eps, float biasCorr1, float biasCorr2);

}  // namespace zs::kernels
