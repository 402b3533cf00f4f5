// zscope-cli run: one forward pass, captured activations written as safetensors
// under TransformerLens names (F32, leading batch dimension of 1). With --sae DIR
// (repeatable), also each SAE's HookedSAETransformer hook points:
// <hook>.hook_sae_input, _acts_pre, _acts_post, _recons ([1, pos, d_in|d_sae]),
// _output and _error (the hook's own shape, [1, pos, H, dh]).
#include <torch/torch.h>

#include <iostream>
#include <sstream>

#include "app/cli/command.h"
#include "app/cli/common.h"
#include "core/base/error.h"
#include "core/model/load.h"
#include "core/session/session.h"
#include "core/base/paths.h"
#include "core/base/runtime.h"
#include "core/io/tensor_io.h"
#include "core/sae/sae.h"

namespace zs::cli {
namespace {

int runRun(const Args& a) {
  const std::string dir = paths::resolveModel(a.require("model"));
  const std::string out = a.require("out");
  std::vector<std::string> patterns;
  for (const auto& h : a.getAll("hooks")) {
    std::stringstream ss(h);
    std::string p;
    while (std::getline(ss, p, ','))
      if (!p.empty()) patterns.push_back(p);
  }
  if (patterns.empty()) patterns.push_back("*");
  auto session = Session::open(dir, sessionOptions(a));
  const Model* model = &session->model();
  std::vector<std::shared_ptr<Sae>> saes;
  for (const auto& sd : a.getAll("sae")) {
    saes.push_back(session->readSae(sd));  // checks that it fits the model
    patterns.push_back(saes.back()->cfg.hook_name);
  }
  auto ids = promptIds(a, *session);
  torch::InferenceMode guard;
  torch::Tensor idT = torch::tensor(ids, torch::kLong).unsqueeze(0);
  ForwardOptions opts;
  opts.capture = Capture(patterns);
  ForwardResult r = model->forward(idT, opts);
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  std::vector<std::string> names;
  for (const auto& name : model->hookNames()) {
    auto it = r.cache.find(name);
    if (it == r.cache.end()) continue;
    tensors.emplace_back(name, it->second.to(torch::kCPU, torch::kFloat32).contiguous());
    names.push_back(name);
  }
  for (const auto& sae : saes) {
    const std::string& h = sae->cfg.hook_name;
    torch::Tensor z = r.cache.at(h);  // [1, pos, H, dh]
    SaeForward f = sae->forward(z.reshape({z.size(0), z.size(1), -1}));
    auto cpu = [](const torch::Tensor& t) { return t.to(torch::kCPU, torch::kFloat32).contiguous(); };
    const std::pair<const char*, torch::Tensor> parts[] = {
        {".hook_sae_input", f.input},     {".hook_sae_acts_pre", f.actsPre}, {".hook_sae_acts_post", f.actsPost},
        {".hook_sae_recons", f.recons},   {".hook_sae_output", f.output.view(z.sizes())},
        {".hook_sae_error", f.error.view(z.sizes())}};
    for (const auto& [suffix, t] : parts) {
      tensors.emplace_back(h + suffix, cpu(t));
      names.push_back(h + suffix);
    }
  }
  if (!r.cache.count("logits")) tensors.emplace_back("logits", r.logits.to(torch::kCPU, torch::kFloat32).contiguous());
  tensors.emplace_back("input_ids", idT.to(torch::kCPU));
  saveTensors(out, tensors, {{"model", dir}});
  if (a.has("json")) {
    nlohmann::json j;
    j["out"] = out;
    j["tokens"] = ids.size();
    j["tensors"] = names;
    printJson(j);
  } else {
    std::cerr << "wrote " << tensors.size() << " tensors for " << ids.size() << " tokens to " << out << "\n";
  }
  return 0;
}

Registrar reg({"run",
               "--model DIR (--prompt TEXT | --prompt-file F | --tokens 1,2,3) --out FILE.safetensors "
               "[--hooks GLOB[,GLOB]] [--sae DIR]... [--no-bos] [--truncate] [--device auto|cpu|cuda] [--json]",
               "Run the model on a prompt and save activations (TransformerLens names) as safetensors",
               {"json", "no-bos", "truncate"},
               &runRun});

}  // namespace
}  // namespace zs::cli
