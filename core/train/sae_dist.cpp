#include "core/train/sae_dist.h"

#include "core/dist/dist_torch.h"

namespace zs {

namespace {
class GroupSync : public GradientSync {
 public:
  explicit GroupSync(std::shared_ptr<dist::Group> g) : g_(std::move(g)) {}
  int rank() const override { return g_->rank(); }
  int world() const override { return g_->world(); }
  void allReduceSum(torch::Tensor& t) override { dist::allReduceSum(*g_, t); }
  double allReduceMin(double v) override { return g_->allReduceMin(v); }
  void broadcast(torch::Tensor& t, int root) override { dist::broadcast(*g_, t, root); }

 private:
  std::shared_ptr<dist::Group> g_;
};
}  // namespace

std::shared_ptr<GradientSync> makeGradientSync(std::shared_ptr<dist::Group> g) {
  return std::make_shared<GroupSync>(std::move(g));
}

ShardedDocuments::ShardedDocuments(std::unique_ptr<DocumentReader> inner, int64_t skip, int rank, int world)
    : inner_(std::move(inner)), skip_(skip), rank_(rank), world_(world) {}

bool ShardedDocuments::next(Document& doc) {
  for (;;) {
    if (!inner_->next(doc)) return false;
    if (!doc.continues) {
      const int64_t i = docs_++;
      const int64_t skip = firstPass_ ? skip_ : 0;
      mine_ = i >= skip && (i - skip) % world_ == rank_;
    }
    if (mine_) return true;
  }
}

void ShardedDocuments::rewind() {
  inner_->rewind();
  firstPass_ = false;
  docs_ = 0;
  mine_ = false;
}

std::unique_ptr<DocumentReader> openDocuments(const std::string& path, const WindowOptions& opts,
                                              const std::string& format) {
  return opts.shuffle ? DocumentReader::openShuffled(path, format, opts.bosId, opts.shuffleSeed)
                      : DocumentReader::open(path, format, opts.bosId);
}

uint64_t trainerStateHash(const SaeTrainer& t) {
  uint64_t h = 14695981039346656037ULL;
  for (const auto& kv : t.state("")) {
    auto c = kv.second.to(torch::kCPU).contiguous();
    h = dist::fnv1a(kv.first.data(), kv.first.size(), h);
    h = dist::fnv1a(c.data_ptr(), static_cast<size_t>(c.numel()) * c.element_size(), h);
  }
  return h;
}

}  // namespace zs
