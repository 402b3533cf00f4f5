#pragma once
// Data-parallel SAE training on a zs::dist::Group (internal to core/train,
// torch): the GradientSync the trainer calls, the documents of one rank, and
// the hash of a trainer's state that the ranks compare.
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>

#include "core/data/corpus.h"
#include "core/dist/dist.h"
#include "core/train/sae_train.h"

namespace zs {

std::shared_ptr<GradientSync> makeGradientSync(std::shared_ptr<dist::Group> g);

// The documents of `inner` that belong to one rank: the first `skip` documents
// are left out on the first pass (the held-out evaluation windows came from
// them), then every world-th document from `rank` on, counting a long
// document's pieces as one document (they stay on one rank). Every pass
// (rewind) starts counting again. `counted()`: documents read from inner.
class ShardedDocuments : public DocumentReader {
 public:
  ShardedDocuments(std::unique_ptr<DocumentReader> inner, int64_t skip, int rank, int world);
  bool next(Document& doc) override;
  void rewind() override;
  bool pretokenized() const override { return inner_->pretokenized(); }
  int64_t counted() const { return docs_; }

 private:
  std::unique_ptr<DocumentReader> inner_;
  int64_t skip_;
  int rank_, world_;
  int64_t docs_ = 0;  // documents (not pieces) read from inner this pass
  bool mine_ = false;
  bool firstPass_ = true;
};

// The reader TokenWindows::open would make (seeded order when opts.shuffle).
std::unique_ptr<DocumentReader> openDocuments(const std::string& path, const WindowOptions& opts,
                                              const std::string& format);

// 64-bit hash of a trainer's whole state (weights, Adam moments, counters).
uint64_t trainerStateHash(const SaeTrainer& t);

}  // namespace zs
