#pragma once
// Activation harvesting for SAE training (internal to core, torch): windows from
// a corpus -> model forward (capture of blocks.L.attn.hook_z only, stopped
// right after the last layer needed) -> heads flattened to [tokens, n_heads*d_head],
// BOS positions dropped -> a large shuffled buffer that serves batches.
#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "core/data/corpus.h"
#include "core/model/model.h"
#include "core/base/progress.h"

namespace zs {

// What the shuffled buffer reads: chunks of hook_z rows, aligned across layers.
// Two sources: the model over a corpus (ActivationSource) and the files that
// `zscope-cli harvest` writes (ActivationFileSource, core/sae/activation_files.h).
class ActivationStream {
 public:
  virtual ~ActivationStream() = default;
  // The next chunk; per layer [n, d_in] on `storage`. False when exhausted.
  virtual bool next(std::vector<torch::Tensor>& perLayer, torch::Device storage) = 0;
  virtual const std::vector<int64_t>& layers() const = 0;
  virtual int64_t dIn() const = 0;
};

class ActivationSource : public ActivationStream {
 public:
  // windowsPerForward: windows run through the model at once.
  ActivationSource(const Model& model, TokenWindows& windows, std::vector<int64_t> layers, int64_t windowsPerForward);
  // One forward pass; per layer [n, d_in] on `storage` (BOS rows removed).
  // False when the corpus is exhausted.
  bool next(std::vector<torch::Tensor>& perLayer, torch::Device storage) override;
  int64_t tokensSeen() const { return tokens_; }    // non-BOS tokens harvested
  int64_t windowsSeen() const { return windows_.windowsProduced(); }
  const std::vector<int64_t>& layers() const override { return layers_; }
  int64_t dIn() const override { return model_.spec().dZ(); }

 private:
  const Model& model_;
  TokenWindows& windows_;
  std::vector<int64_t> layers_;
  int64_t perForward_;
  int64_t tokens_ = 0;
};

// Rows of every layer stay aligned (row r of each layer comes from the same
// token), so one permutation shuffles all layers.
class ShuffledBuffer {
 public:
  // The initial fill reports progress ("filling buffer") and stops with
  // zs::Cancelled when the progress is cancelled.
  // reuse >= 1: each harvested activation is served about `reuse` times (only
  // 1/reuse of the served rows are replaced at each refill), trading sample
  // diversity for fewer model forward passes on slow machines.
  ShuffledBuffer(ActivationStream& src, int64_t capacity, uint64_t seed, torch::Device storage,
                 const Progress& progress = {}, int64_t reuse = 1);
  // Next batch of `batch` rows per layer; false when the source has run dry
  // and fewer than `batch` rows are left.
  bool next(int64_t batch, std::vector<torch::Tensor>& out);
  // Random rows of one layer from the buffer (resampling candidates).
  torch::Tensor sample(size_t layerIndex, int64_t n);
  int64_t filled() const { return filled_; }

 private:
  void refill();  // overwrite the rows served so far with fresh activations, reshuffle
  ActivationStream& src_;
  int64_t cap_;
  torch::Device storage_;
  at::Generator gen_;
  std::vector<torch::Tensor> buf_;
  torch::Tensor perm_;
  int64_t filled_ = 0, pos_ = 0, reuse_ = 1;
  bool dry_ = false;
};

}  // namespace zs
