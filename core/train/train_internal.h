#pragma once
// Internals of model training shared by core/train_*.cpp (torch; core only).
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/base/progress.h"
#include "core/train/train_model.h"

namespace zs {

class Tokenizer;
class Gpt2;

// The corpus as one token stream per split; documents are separated by the
// end-of-text id (GPT-2 convention).
struct TokenCorpus {
  std::vector<uint16_t> train, validation;
};

// Tokenizes the corpus, or loads cacheDir/{train,validation}.bin when
// cacheDir/meta.json says they were made from the same corpus files and
// tokenizer. corpus: a folder with train.jsonl and validation.jsonl, or any
// corpus that zs::DocumentReader reads (split by a hash of each document).
TokenCorpus loadTokenCorpus(const std::string& corpus, const Tokenizer& tok, const std::string& tokenizerDir,
                            const std::string& cacheDir, const Progress& progress);

// Training windows of step `step`: [batch, context] int64, every row starting
// with bos. A pure function of (data, cfg, step), so that a resumed run sees
// exactly the batches that an uninterrupted one would.
torch::Tensor sampleBatch(const std::vector<uint16_t>& data, const TrainConfig& cfg, int64_t vocab, int64_t bos,
                          int64_t step);

// Validation windows (BOS + context-1 tokens) spread evenly over the split, at
// most maxTokens tokens in all: [N, context] int64.
torch::Tensor validationWindows(const std::vector<uint16_t>& data, int64_t context, int64_t bos, int64_t maxTokens);

// Mean next-token cross-entropy (nats) of the model on windows, in chunks of `batch`.
double meanLoss(const Gpt2& model, const torch::Tensor& windows, int64_t batch);

// Everything a resumed run needs besides the batches (which follow from the step).
struct CheckpointState {
  int64_t step = 0;       // steps completed
  double seconds = 0;     // training wall time so far
  double lossSum = 0;     // training loss summed since the last evaluation
  int64_t lossCount = 0;
  std::string configJson; // the run's TrainConfig, to refuse resuming a different run
  std::string savedConfigJson; // on load: the checkpoint's TrainConfig as JSON (its schedule may differ)
};

void saveCheckpoint(const std::string& path, const Gpt2& model, torch::optim::Optimizer& opt,
                    const CheckpointState& st);
// Loads weights (in place), optimizer state and st. st.configJson must hold the
// current run's identity; a checkpoint of another run is an InputError, as is an unreadable file. The
// schedule's length (train.tokens, train.stop_at_step, train.schedule_history) is not part of the identity:
// a run may be lengthened or shortened on resume, and the cosine schedule then follows the new length from
// the checkpoint's step (TrainConfig::resumedFrom records the change).
void loadCheckpoint(const std::string& path, Gpt2& model, torch::optim::Optimizer& opt, CheckpointState& st);

}  // namespace zs
