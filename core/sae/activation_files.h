#pragma once
// Reading harvested hook_z activations (torch): the second ActivationStream
// the SAE trainer can read from, next to the model (sae_harvest.h).
#include <torch/torch.h>

#include <memory>
#include <vector>

#include "core/model/model.h"
#include "core/sae/activation_index.h"
#include "core/sae/sae_harvest.h"

namespace zs {

namespace st {
class File;
}

// Serves the rows of the shards in order, `chunkRows` at a time (the trainer
// asks for windowsPerForward * (context - 1), the chunk the model source gives,
// so a buffer fed from files receives exactly the rows and chunks it receives
// from the model). Shards are split between ranks: shard i belongs to rank
// i % world (a distributed run gives each rank a disjoint subset). With `loop`,
// the end of the last shard starts a new pass at the first.
// Every selected shard is opened and checked up front (InputError: missing or
// truncated file, missing layer, wrong shape or dtype, metadata of another
// harvest), so training never starts on a broken folder.
class ActivationFileSource : public ActivationStream {
 public:
  ActivationFileSource(const ActivationIndex& index, std::vector<int64_t> layers, int64_t chunkRows, int rank = 0,
                       int world = 1, bool loop = true);
  ~ActivationFileSource() override;
  bool next(std::vector<torch::Tensor>& perLayer, torch::Device storage) override;
  const std::vector<int64_t>& layers() const override { return layers_; }
  int64_t dIn() const override { return index_.dIn; }
  int64_t rowsServed() const { return served_; }  // across passes
  int64_t rowsPerPass() const { return rowsPerPass_; }
  int64_t passes() const { return passes_; }      // completed passes
  void skipRows(int64_t n);                        // resume: as if n rows had been served

 private:
  struct Shard {
    std::unique_ptr<st::File> file;
    std::vector<const void*> data;  // per layer
    int64_t rows = 0;
  };
  ActivationIndex index_;
  std::vector<int64_t> layers_;
  int64_t chunk_;
  bool loop_;
  torch::ScalarType dtype_ = torch::kFloat;
  std::vector<Shard> shards_;
  size_t cur_ = 0;
  int64_t pos_ = 0, served_ = 0, rowsPerPass_ = 0, passes_ = 0;
};

// InputError unless the harvest holds every layer asked for.
void checkHarvestLayers(const ActivationIndex& index, const std::vector<int64_t>& layers);

// Identifies the model behind harvested activations: FNV-1a of the spec's
// sizes and the harvested layers' W_V, b_V, W_O (float32), "fnv1a64:<hex>".
std::string harvestModelFingerprint(const Model& model, const std::vector<int64_t>& layers);

}  // namespace zs
