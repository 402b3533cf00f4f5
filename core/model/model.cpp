// What every Model shares: capture patterns and the next-token loss.
#include "core/model/model.h"

namespace zs {

bool globMatch(const std::string& p, const std::string& s) {
  // Iterative matcher with backtracking on the last '*'.
  size_t pi = 0, si = 0, star = std::string::npos, mark = 0;
  while (si < s.size()) {
    if (pi < p.size() && (p[pi] == '?' || p[pi] == s[si])) {
      ++pi, ++si;
    } else if (pi < p.size() && p[pi] == '*') {
      star = pi++, mark = si;
    } else if (star != std::string::npos) {
      pi = star + 1, si = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

bool Capture::wants(const std::string& name) const {
  for (const auto& p : patterns_)
    if (p == name || globMatch(p, name)) return true;
  return false;
}

int64_t hookLayer(const std::string& name) {
  const std::string pre = "blocks.";
  if (name.rfind(pre, 0) != 0) return -1;
  size_t i = pre.size(), j = i;
  while (j < name.size() && name[j] >= '0' && name[j] <= '9') ++j;
  if (j == i || j - i > 6 || j >= name.size() || name[j] != '.') return -1;
  if (j - i > 1 && name[i] == '0') return -1;  // "blocks.01." is not a layer name
  return std::stoll(name.substr(i, j - i));
}

torch::Tensor applyZHook(const ForwardOptions& opts, int64_t layer, const torch::Tensor& z) {
  auto hook = opts.zHooks.find(layer);
  if (hook == opts.zHooks.end()) return z;
  torch::Tensor zr = hook->second(layer, z);
  if (!zr.defined() || zr.sizes() != z.sizes())
    throw std::runtime_error("hook_z intervention returned a tensor of the wrong shape at layer " +
                             std::to_string(layer));
  return zr.to(torch::kFloat32);
}

torch::Tensor Model::normLinear(const std::string& site, const torch::Tensor& x, const torch::Tensor& scale) const {
  torch::Tensor y = spec().norm == NormKind::LayerNorm ? x - x.mean(-1, true) : x;
  return y / scale * normWeight(site);
}

torch::Tensor Model::logProbs(const std::vector<int64_t>& ids) const {
  const torch::Tensor t = torch::tensor(ids, torch::kLong).unsqueeze(0).to(device());
  ForwardResult fr = forward(t, ForwardOptions{});
  return torch::log_softmax(fr.logits.select(0, 0).to(torch::kCPU, torch::kFloat32), -1).contiguous();
}

torch::Tensor Model::lossPerToken(const torch::Tensor& logits, const torch::Tensor& ids) {
  using namespace torch::indexing;
  auto lp = torch::log_softmax(logits.index({Slice(), Slice(None, -1)}).to(torch::kFloat32), -1);
  auto target = ids.index({Slice(), Slice(1, None)}).to(logits.device()).unsqueeze(-1);
  return -lp.gather(-1, target).squeeze(-1);
}

}  // namespace zs
