// zscope-cli run: one forward pass, captured activations written as safetensors
// under TransformerLens names (F32, leading batch dimension of 1).
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
               "[--hooks GLOB[,GLOB]] [--no-bos] [--truncate] [--device auto|cpu|cuda] [--json]",
               "Run the model on a prompt and save activations (TransformerLens names) as safetensors",
               {"json", "no-bos", "truncate"},
               &runRun});

}  // namespace
}  // namespace zs::cli
