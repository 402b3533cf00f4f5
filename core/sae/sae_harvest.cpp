#include "core/sae/sae_harvest.h"

#include <algorithm>

#include "core/base/error.h"

namespace zs {

ActivationSource::ActivationSource(const Model& model, TokenWindows& windows, std::vector<int64_t> layers,
                                   int64_t windowsPerForward)
    : model_(model), windows_(windows), layers_(std::move(layers)), perForward_(std::max<int64_t>(1, windowsPerForward)) {
  if (layers_.empty()) throw UsageError("no layer given");
  for (int64_t l : layers_)
    if (l < 0 || l >= model_.spec().nLayer)
      throw UsageError("layer " + std::to_string(l) + " does not exist (the model has " +
                       std::to_string(model_.spec().nLayer) + " layers)");
  if (windows_.options().context > model_.spec().nCtx)
    throw UsageError("context " + std::to_string(windows_.options().context) + " exceeds the model's n_positions " +
                     std::to_string(model_.spec().nCtx));
}

bool ActivationSource::next(std::vector<torch::Tensor>& perLayer, torch::Device storage) {
  std::vector<int64_t> w, flat;
  int64_t n = 0, T = windows_.options().context;
  while (n < perForward_ && windows_.next(w)) {
    if (static_cast<int64_t>(w.size()) != T) continue;  // only full windows are batched
    flat.insert(flat.end(), w.begin(), w.end());
    ++n;
  }
  if (n == 0) return false;
  auto ids = torch::from_blob(flat.data(), {n, T}, torch::kInt64).clone();
  torch::InferenceMode guard;
  ForwardOptions opts;
  std::vector<std::string> names;
  for (int64_t l : layers_) names.push_back("blocks." + std::to_string(l) + ".attn.hook_z");
  opts.capture = Capture(names);
  opts.stopAfterZOfLayer = *std::max_element(layers_.begin(), layers_.end());
  auto res = model_.forward(ids, opts);
  perLayer.clear();
  for (const auto& name : names) {
    auto z = res.cache.at(name);                     // [n, T, H, dh]
    auto rows = z.slice(1, 1, T).reshape({-1, z.size(2) * z.size(3)});  // drop BOS position 0
    perLayer.push_back(rows.to(storage, torch::kFloat32).clone());
  }
  tokens_ += n * (T - 1);
  return true;
}

ShuffledBuffer::ShuffledBuffer(ActivationStream& src, int64_t capacity, uint64_t seed, torch::Device storage,
                               const Progress& progress, int64_t reuse)
    : src_(src), cap_(std::max<int64_t>(1, capacity)), storage_(storage), reuse_(std::max<int64_t>(1, reuse)),
      gen_(at::make_generator<at::CPUGeneratorImpl>(seed)) {
  const int64_t d = src_.dIn();
  for (size_t i = 0; i < src_.layers().size(); ++i) buf_.push_back(torch::empty({cap_, d}, torch::TensorOptions(storage_)));
  // Initial fill.
  std::vector<torch::Tensor> chunk;
  while (filled_ < cap_ && src_.next(chunk, storage_)) {
    int64_t take = std::min(cap_ - filled_, chunk[0].size(0));
    for (size_t i = 0; i < buf_.size(); ++i) buf_[i].slice(0, filled_, filled_ + take).copy_(chunk[i].slice(0, 0, take));
    filled_ += take;
    progress(static_cast<double>(filled_), static_cast<double>(cap_), "filling the activation buffer");
    if (progress.cancelled()) throw Cancelled();
  }
  if (filled_ < cap_) dry_ = true;
  perm_ = torch::randperm(filled_, gen_, torch::kInt64);
}

void ShuffledBuffer::refill() {
  // Rows already served: perm_[0:pos_]; fill them with fresh rows.
  auto served = perm_.slice(0, 0, pos_);
  int64_t need = (served.size(0) + reuse_ - 1) / reuse_, got = 0;
  std::vector<torch::Tensor> chunk;
  while (got < need && !dry_) {
    if (!src_.next(chunk, storage_)) {
      dry_ = true;
      break;
    }
    int64_t take = std::min(need - got, chunk[0].size(0));
    auto idx = served.slice(0, got, got + take).to(storage_);
    for (size_t i = 0; i < buf_.size(); ++i) buf_[i].index_copy_(0, idx, chunk[i].slice(0, 0, take));
    got += take;
  }
  if (got < need) {
    // Dry: keep only the rows that are still unserved or fresh.
    if (reuse_ > 1) got = served.size(0);  // with reuse, served rows stay valid data
    auto keep = torch::cat({served.slice(0, 0, got), perm_.slice(0, pos_)});
    perm_ = keep.index_select(0, torch::randperm(keep.size(0), gen_, torch::kInt64));
  } else {
    perm_ = torch::randperm(filled_, gen_, torch::kInt64);
  }
  pos_ = 0;
}

bool ShuffledBuffer::next(int64_t batch, std::vector<torch::Tensor>& out) {
  if (!dry_ && pos_ + batch > perm_.size(0) / 2) refill();
  if (pos_ + batch > perm_.size(0)) return false;
  auto idx = perm_.slice(0, pos_, pos_ + batch).to(storage_);
  pos_ += batch;
  out.clear();
  for (auto& b : buf_) out.push_back(b.index_select(0, idx));
  return true;
}

torch::Tensor ShuffledBuffer::sample(size_t layerIndex, int64_t n) {
  n = std::min<int64_t>(n, perm_.size(0));
  auto idx = torch::randperm(perm_.size(0), gen_, torch::kInt64).slice(0, 0, n);
  return buf_.at(layerIndex).index_select(0, perm_.index_select(0, idx).to(storage_));
}

}  // namespace zs
