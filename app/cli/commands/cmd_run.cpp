// zscope-cli run: one forward pass, captured activations written as safetensors
// under TransformerLens names (F32, leading batch dimension of 1). With --sae DIR
// (repeatable), also each SAE's HookedSAETransformer hook points:
// <hook>.hook_sae_input, _acts_pre, _acts_post, _recons ([1, pos, d_in|d_sae]),
// _output and _error (the hook's own shape, [1, pos, H, dh]).
#include <iostream>
#include <sstream>

#include "app/cli/command.h"
#include "app/cli/common.h"
#include "core/base/paths.h"
#include "core/model/model_spec.h"
#include "core/session/activation_run.h"
#include "core/session/session.h"

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
  const ActivationRun run(*session, patterns, a.getAll("sae"), out);
  const auto ids = promptIds(a, *session);
  const ActivationRun::Written w = run.write(ids);
  if (a.has("json")) {
    nlohmann::json j;
    j["out"] = out;
    j["tokens"] = ids.size();
    j["tensors"] = w.sites;
    printJson(j);
  } else {
    std::cerr << "wrote " << w.tensors << " tensors for " << ids.size() << " tokens to " << out << " ("
              << session->spec().architecture << ", weights in " << session->spec().dtype << ")\n";
  }
  return 0;
}

Registrar reg({"run",
               "--model DIR (--prompt TEXT | --prompt-file F | --tokens 1,2,3) --out FILE.safetensors "
               "[--hooks GLOB[,GLOB]] [--sae DIR]... [--no-bos] [--truncate] [--device auto|cpu|cuda] "
               "[--dtype auto|float32|bfloat16] [--json]",
               "Run the model on a prompt and save activations (TransformerLens names) as safetensors",
               {"json", "no-bos", "truncate"},
               &runRun});

}  // namespace
}  // namespace zs::cli
