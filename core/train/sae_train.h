#pragma once
// One SAE's optimiser (internal to core, torch). ATTRIBUTION.md, "Attention-output SAE":
// loss per token sum_i (zhat_i - z_i)^2 + l1 * sum_j f_j, averaged over the batch;
// the parallel component of each W_dec row's gradient removed before the Adam
// step, rows renormalised after; Adam(beta1 = 0, beta2 = 0.9999), lr warm-up;
// dead features resampled the Anthropic way.
//
// The forward and backward passes are written by hand (no autograd). On the CPU,
// when few features fire, everything after the encoder matmul works on the
// active (token, feature) pairs only (sae_kernels.h); otherwise dense matmuls.
#include <torch/torch.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/sae/sae.h"

namespace zs {

// Data-parallel training: how the ranks combine what each computed on its own
// share of the global batch (core/train/sae_dist.h implements it on a
// zs::dist::Group). Without one (SaeTrainOptions::sync null) a step is the
// single-process step, unchanged.
class GradientSync {
 public:
  virtual ~GradientSync() = default;
  virtual int rank() const = 0;
  virtual int world() const = 0;
  // Element-wise sum over the ranks, in place; every rank gets the same bits.
  virtual void allReduceSum(torch::Tensor& t) = 0;
  virtual double allReduceMin(double v) = 0;
  // Rank `root`'s values into t on every rank.
  virtual void broadcast(torch::Tensor& t, int root) = 0;
};

struct SaeTrainOptions {
  double l1 = 1.0;
  double lr = 1.2e-3;
  double beta1 = 0.0, beta2 = 0.9999, eps = 1e-8;
  int64_t warmupSteps = 200;
  int64_t totalSteps = 1000;      // for the lr schedule
  double decayFraction = 0.2;     // linear decay to 0 over the last share of steps (0: constant)
  // "auto" (sparse when the share of active entries is below sparseThreshold), "dense", "sparse".
  std::string mode = "auto";
  double sparseThreshold = 0.2;  // measured crossover: sparse wins up to ~25% density (d_sae 2048, batch 4096)
  // standard (ReLU + L1) | topk | batchtopk | jumprelu. TopK/BatchTopK: k features
  // per token (BatchTopK: k * B over the batch), AuxK loss on dead latents (Gao et
  // al. 2024: the top kAux dead latents reconstruct the residual). JumpReLU: L0
  // penalty `l1` (the sparsity coefficient), straight-through threshold gradients
  // with a rectangle kernel of width `bandwidth` (Rajamanoharan et al. 2024).
  std::string architecture = "standard";
  int64_t k = 32;
  double auxkCoeff = 1.0 / 32;
  int64_t auxkK = 0;              // 0: d_in / 2
  int64_t deadSteps = 200;        // a latent is dead for AuxK after this many steps without firing
  // Weight the AuxK term by sum |x - b_dec|^2 / sum |x - xhat|^2 of the previous
  // step (clamped to [1, 100]; about 1 / (1 - explained variance)), as Gao et
  // al.'s loss does: their AuxK loss is the residual's normalised MSE, the main
  // loss the input's, so AuxK keeps its pull as the reconstruction improves.
  // Off: the raw squared residual error.
  bool auxkNormalize = true;
  double bandwidth = 0.05;
  double initThreshold = 0.01;
  double batchTopkThresholdLr = 0.01;  // EMA of the smallest selected activation (BatchTopK's inference threshold)
  // Data-parallel: after each backward pass the ranks' gradients (weighted by
  // their batch sizes: the global batch is the sum of theirs), firing counts and
  // statistics are summed, BatchTopK's threshold takes the global minimum, and
  // resampled features come from rank 0, so every rank steps identically.
  std::shared_ptr<GradientSync> sync;
};

struct SaeGrads {
  torch::Tensor W_encT, W_dec, b_enc, b_dec;  // W_encT is [d_sae, d_in] (the gradient of W_enc transposed)
  torch::Tensor log_threshold;                // jumprelu: the gradient of log(threshold)
};

struct SaeStepStats {
  double loss = 0, sq_err = 0, l1 = 0;  // per token (sq_err = sum_i (zhat - z)^2); jumprelu: l1 holds L0
  double aux = 0;                        // AuxK loss per token (topk / batchtopk)
  int64_t dead = 0;                      // latents counted dead for AuxK
  double mse = 0;                        // per element
  double l0 = 0;                         // active features per token
  double explained_variance = 0;
  bool sparse = false;                   // which path ran
};

class SaeTrainer {
 public:
  // Takes the SAE's weights; they are written back by syncToSae().
  SaeTrainer(const Sae& sae, SaeTrainOptions opts);
  // JumpReLU's data-dependent start: per feature the threshold that `targetL0 /
  // d_sae` of the rows [N, d_in] exceed, so that the SAE's L0 on them is targetL0
  // (thresholds at least 1e-6: they are trained in log space). [d_sae], float32.
  static torch::Tensor thresholdsForL0(const Sae& sae, const torch::Tensor& rows, double targetL0);

  // One optimiser step on x [B, d_in] (the trainer's device). Updates firing statistics.
  SaeStepStats step(const torch::Tensor& x);
  // Loss gradients at the current weights, without the parallel-component
  // removal and without stepping (tests compare them with autograd).
  SaeStepStats gradients(const torch::Tensor& x, SaeGrads& g, bool sparse);

  // Resampling (Anthropic's, for ReLU; TopK/BatchTopK too, where the candidates'
  // loss is the TopK reconstruction's and the new encoder row has the live norm).
  // Resamples features that have not fired for `deadAfterSteps` steps, using
  // candidate inputs [N, d_in]; returns how many were resampled.
  int64_t resampleDead(const torch::Tensor& candidates, int64_t deadAfterSteps, uint64_t seed);
  // Resamples every feature whose firing density over the window since the last
  // density resample is below minDensity (dead ones included), when the window
  // holds at least minWindowTokens tokens (long enough to see that density);
  // then starts a new window. Returns how many were resampled.
  int64_t resampleByDensity(const torch::Tensor& candidates, double minDensity, double minWindowTokens, uint64_t seed);
  torch::Tensor windowDensity() const;  // [d_sae] float64: fired tokens / tokens in the window
  double windowTokens() const { return windowTokens_; }
  void resetDensityWindow();
  // Resamples exactly the given features (tests, and resampleDead).
  void resample(const std::vector<int64_t>& features, const torch::Tensor& candidates, uint64_t seed);

  double lrAt(int64_t step) const;
  int64_t stepsDone() const { return step_; }
  torch::Tensor stepsSinceFired() const { return sinceFired_; }  // [d_sae] int64
  void syncToSae(Sae& sae) const;
  const SaeTrainOptions& options() const { return opts_; }
  void setTotalSteps(int64_t n) { opts_.totalSteps = n; }
  // Data-parallel: every rank takes rank `root`'s whole state (weights, Adam
  // moments, step, firing statistics): the same start on every rank.
  void syncFrom(int root);

  // Checkpoint state (weights, Adam moments, step, firing statistics).
  std::vector<std::pair<std::string, torch::Tensor>> state(const std::string& prefix) const;
  void loadState(const std::map<std::string, torch::Tensor>& tensors, const std::string& prefix);

  // Parameters as the trainer keeps them (W_encT = W_enc^T, contiguous).
  torch::Tensor encT, dec, benc, bdec;
  torch::Tensor logThreshold;   // jumprelu: [d_sae] log of the thresholds
  double batchThreshold = 0;    // batchtopk: running inference threshold
  bool plainRelu() const { return opts_.architecture == "standard"; }
  bool topkLike() const { return opts_.architecture == "topk" || opts_.architecture == "batchtopk"; }

 private:
  std::vector<std::pair<std::string, torch::Tensor>> stateBase(const std::string& prefix) const;
  SaeStepStats archStep(const torch::Tensor& x, SaeGrads& g, torch::Tensor* fired, torch::Tensor* gThr);
  // The same step on the active entries only (CPU; sae_train_sparse.cpp).
  SaeStepStats archSparse(const torch::Tensor& x, SaeGrads& g, torch::Tensor* fired, torch::Tensor* gThr);
  SaeStepStats dense(const torch::Tensor& x, SaeGrads& g, torch::Tensor* fired);
  SaeStepStats sparse(const torch::Tensor& x, SaeGrads& g, torch::Tensor* fired);
  void adam(torch::Tensor& p, torch::Tensor& m, torch::Tensor& v, const torch::Tensor& g, double lr);
  // Data-parallel: sums gradients, firing counts and statistics over the ranks
  // (opts_.sync); returns the global batch size.
  double reduceStep(const torch::Tensor& x, SaeGrads& g, torch::Tensor& fired, torch::Tensor& gThr, SaeStepStats& s,
                    double& energy);

  SaeTrainOptions opts_;
  bool applyBDec_ = true;
  int64_t step_ = 0;
  double lastDensity_ = 1.0;
  double auxNorm_ = 1.0;  // auxkNormalize: the previous step's input energy / squared error
  double auxkCoef(int64_t nDead, int64_t kAuxFull) const;
  torch::Tensor mEnc_, vEnc_, mDec_, vDec_, mBenc_, vBenc_, mBdec_, vBdec_, mThr_, vThr_;
  torch::Tensor sinceFired_;
  torch::Tensor fireCount_;  // [d_sae] float64: tokens fired on in the density window
  double windowTokens_ = 0;
};

}  // namespace zs
