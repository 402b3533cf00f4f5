#include "core/train/sae_source.h"

#include <filesystem>

#include "core/base/error.h"

namespace zs {

ActivationIndex checkedHarvest(const TrainSaeParams& p, const Model& model) {
  ActivationIndex x = readActivationIndex(p.activationsDir);
  const std::string& where = p.activationsDir;
  if (!x.complete)
    throw InputError(where, "holds an interrupted harvest (" + std::to_string(x.tokens) +
                                " tokens so far); run the same harvest command again to finish it");
  if (x.dIn != model.spec().dZ())
    throw InputError(where, "holds activations with d_in " + std::to_string(x.dIn) +
                                ", but this model's hook_z (the SAE's d_in) has " + std::to_string(model.spec().dZ()));
  checkHarvestLayers(x, p.layers);
  if (harvestModelFingerprint(model, x.layers) != x.modelFingerprint)
    throw InputError(where, "was harvested from another model than " + p.modelDir + " (weight fingerprints differ)");
  if (x.context != p.context)
    throw InputError(where, "was harvested with --context " + std::to_string(x.context) + ", not " +
                                std::to_string(p.context));
  // Without --eval-corpus the CE windows are the harvest's held-out ones: they must come from its corpus.
  auto absolute = [](const std::string& path) { return std::filesystem::absolute(path).lexically_normal().string(); };
  if (p.evalCorpus.empty() && absolute(p.corpus) != absolute(x.corpus))
    throw InputError(where, "was harvested from the corpus " + x.corpus + ", not " + p.corpus +
                                " (give --eval-corpus to evaluate on another corpus)");
  if (p.evalCorpus.empty() && p.evalWindows > x.evalWindows)
    throw InputError(where, "held out " + std::to_string(x.evalWindows) + " windows for evaluation; --eval-windows " +
                                std::to_string(p.evalWindows) +
                                " would evaluate on training data (lower it or give --eval-corpus)");
  return x;
}

TrainingSource::TrainingSource(const Model& model, std::unique_ptr<TokenWindows> windows,
                               const std::vector<int64_t>& layers, int64_t windowsPerForward)
    : windows_(std::move(windows)) {
  auto m = std::make_unique<ActivationSource>(model, *windows_, layers, windowsPerForward);
  model_ = m.get();
  stream_ = std::move(m);
}

TrainingSource::TrainingSource(const ActivationIndex& index, const std::vector<int64_t>& layers,
                               int64_t windowsPerForward, int rank, int world)
    : heldOut_(index.evalWindows), perWindow_(index.context - 1) {
  // The model source's chunk: windowsPerForward windows of context-1 rows.
  auto f = std::make_unique<ActivationFileSource>(index, layers, windowsPerForward * perWindow_, rank, world);
  files_ = f.get();
  stream_ = std::move(f);
}

int64_t TrainingSource::position() const {
  return files_ ? heldOut_ + files_->rowsServed() / perWindow_ : windows_->windowsProduced();
}

void TrainingSource::seek(int64_t windows) {
  if (files_) files_->skipRows((windows - heldOut_) * perWindow_);
  else windows_->skip(windows - windows_->windowsProduced());
}

int64_t TrainingSource::rowsRead() const { return files_ ? files_->rowsServed() : model_->tokensSeen(); }

}  // namespace zs
