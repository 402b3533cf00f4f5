#pragma once
// Where train-sae's activation rows come from (internal to core, torch): the
// model over the corpus (ActivationSource), or the files of `zscope-cli
// harvest` (ActivationFileSource, train-sae --activations). Both give the same
// rows in the same chunks, so the shuffled buffer and the SAE do not depend on
// which one fed them. The checkpoint's position is counted in windows (held-out
// ones included) for both, so either resumes the other's checkpoint.
#include <memory>
#include <vector>

#include "core/data/corpus.h"
#include "core/sae/activation_files.h"
#include "core/sae/sae_harvest.h"
#include "core/train/sae_run.h"

namespace zs {

// train-sae --activations: reads DIR's index and checks that it fits this run
// and model (complete, d_in, layers, model fingerprint, context, corpus,
// held-out windows); InputError otherwise (exit 3).
ActivationIndex checkedHarvest(const TrainSaeParams& p, const Model& model);

class TrainingSource {
 public:
  // The model over `windows` (looping, held-out windows already skipped).
  TrainingSource(const Model& model, std::unique_ptr<TokenWindows> windows, const std::vector<int64_t>& layers,
                 int64_t windowsPerForward);
  // Harvested files; rank/world: this rank's disjoint share of the shards.
  TrainingSource(const ActivationIndex& index, const std::vector<int64_t>& layers, int64_t windowsPerForward,
                 int rank = 0, int world = 1);

  ActivationStream& stream() { return *stream_; }
  int64_t position() const;    // windows consumed, held-out ones included (the checkpoint's "windows")
  void seek(int64_t windows);  // resume at a checkpoint's position
  int64_t rowsRead() const;    // activation rows taken from the source
  int64_t passes() const { return files_ ? files_->passes() : 0; }  // files: completed passes over the harvest
  int64_t rowsPerPass() const { return files_ ? files_->rowsPerPass() : 0; }

 private:
  std::unique_ptr<TokenWindows> windows_;  // model path
  std::unique_ptr<ActivationStream> stream_;
  ActivationSource* model_ = nullptr;
  ActivationFileSource* files_ = nullptr;
  int64_t heldOut_ = 0, perWindow_ = 1;
};

}  // namespace zs
