// ActivationRun: see activation_run.h.
#include "core/session/activation_run.h"

#include <torch/torch.h>

#include "core/base/error.h"
#include "core/base/output_file.h"
#include "core/io/tensor_io.h"
#include "core/model/model.h"
#include "core/sae/sae.h"
#include "core/session/session.h"

namespace zs {

ActivationRun::ActivationRun(const Session& session, std::vector<std::string> patterns,
                             const std::vector<std::string>& saeDirs, std::string out)
    : session_(session), patterns_(std::move(patterns)), out_(std::move(out)) {
  if (patterns_.empty()) patterns_.push_back("*");
  for (const auto& sd : saeDirs) {
    saes_.push_back(session_.readSae(sd));  // checks that it fits the model
    patterns_.push_back(saes_.back()->cfg.hook_name);
  }
  // A pattern that names no activation site is a typo, not "save nothing".
  const auto hooks = session_.model().hookNames();
  for (const auto& pat : patterns_) {
    bool any = pat == "logits";
    for (const auto& h : hooks) any = any || globMatch(pat, h);
    if (!any)
      throw UsageError("--hooks pattern '" + pat + "' matches no activation site of this model (e.g. " +
                       (hooks.empty() ? std::string("none") : hooks.front()) + ")");
  }
  resolveOutputPath(out_);  // refuse a device, FIFO or folder before computing anything
}

ActivationRun::~ActivationRun() = default;

ActivationRun::Written ActivationRun::write(const std::vector<int64_t>& ids) const {
  const Model& model = session_.model();
  torch::InferenceMode guard;
  torch::Tensor idT = torch::tensor(ids, torch::kLong).unsqueeze(0);
  ForwardOptions opts;
  opts.capture = Capture(patterns_);
  ForwardResult r = model.forward(idT, opts);
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  std::vector<std::string> names;
  auto cpu = [](const torch::Tensor& t) { return t.to(torch::kCPU, torch::kFloat32).contiguous(); };
  for (const auto& name : model.hookNames()) {
    auto it = r.cache.find(name);
    if (it == r.cache.end()) continue;
    tensors.emplace_back(name, cpu(it->second));
    names.push_back(name);
  }
  for (const auto& sae : saes_) {
    const std::string& h = sae->cfg.hook_name;
    torch::Tensor z = r.cache.at(h);  // [1, pos, H, dh]
    SaeForward f = sae->forward(z.reshape({z.size(0), z.size(1), -1}));
    const std::pair<const char*, torch::Tensor> parts[] = {
        {".hook_sae_input", f.input},     {".hook_sae_acts_pre", f.actsPre}, {".hook_sae_acts_post", f.actsPost},
        {".hook_sae_recons", f.recons},   {".hook_sae_output", f.output.view(z.sizes())},
        {".hook_sae_error", f.error.view(z.sizes())}};
    for (const auto& [suffix, t] : parts) {
      tensors.emplace_back(h + suffix, cpu(t));
      names.push_back(h + suffix);
    }
  }
  if (!r.cache.count("logits")) tensors.emplace_back("logits", cpu(r.logits));
  tensors.emplace_back("input_ids", idT.to(torch::kCPU));
  saveTensors(out_, tensors, {{"model", session_.modelDir()}});
  return {names, tensors.size()};
}

}  // namespace zs
