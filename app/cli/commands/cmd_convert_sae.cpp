// zscope-cli convert-sae: the paper's .pt SAEs -> SAELens folders (explicit opt-in to pickles).
#include <torch/torch.h>

#include <iostream>

#include "app/cli/command.h"
#include "core/base/error.h"
#include "core/model/load.h"
#include "core/session/session.h"
#include "core/base/paths.h"
#include "core/sae/sae.h"
#include "core/sae/sae_convert.h"

namespace zs::cli {
namespace {

int runConvertSae(const Args& a) {
  const std::string pt = a.require("pt"), out = a.require("out");
  const std::string cfg = a.get("cfg", paperCfgPathFor(pt));
  if (!a.has("allow-pickle"))
    throw UsageError(".pt files are Python pickles; converting one needs the explicit --allow-pickle flag");
  std::cerr << "WARNING: reading a pickled PyTorch file (" << pt
            << "). Zscope's reader only accepts a plain dict of tensors and never runs code, but only convert "
               "files from sources you trust.\n";
  auto sae = convertPaperSae(pt, cfg);
  if (a.has("model")) {
    std::string dir = paths::resolveModel(a.get("model"));
    sae->checkAgainst(loadModelSpec(dir), pt);
  }
  double maxDev = (sae->W_dec.norm(2, {1}) - 1).abs().max().item<double>();
  if (maxDev > 1e-3) std::cerr << "note: W_dec rows are not unit norm (max deviation " << maxDev << ")\n";
  sae->saveDir(out);
  nlohmann::json j = {{"out", out}, {"hook_name", sae->cfg.hook_name}, {"d_in", sae->cfg.d_in},
                      {"d_sae", sae->cfg.d_sae}, {"max_decoder_norm_deviation", maxDev}};
  if (a.has("json")) printJson(j);
  else std::cout << "wrote " << out << " (" << sae->cfg.hook_name << ", d_in " << sae->cfg.d_in << ", d_sae " << sae->cfg.d_sae << ")\n";
  return 0;
}

Registrar reg({"convert-sae", "--pt FILE.pt [--cfg FILE_cfg.json] --out DIR --allow-pickle [--model DIR] [--json]",
               "Convert one of the paper's .pt attention SAEs into a SAELens folder", {"allow-pickle", "json"},
               &runConvertSae});

}  // namespace
}  // namespace zs::cli
