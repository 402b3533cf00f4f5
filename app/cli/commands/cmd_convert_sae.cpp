// zscope-cli convert-sae: the paper's .pt SAEs -> SAELens folders (explicit opt-in to pickles).
#include <iostream>

#include "app/cli/command.h"
#include "core/base/error.h"
#include "core/model/model_spec.h"
#include "core/base/paths.h"
#include "core/sae/paper_sae.h"

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
  ModelSpec spec;
  if (a.has("model")) spec = loadModelSpec(paths::resolveModel(a.get("model")));
  const PaperSaeConversion c = convertPaperSaeFolder(pt, cfg, out, a.has("model") ? &spec : nullptr);
  if (c.maxDecoderNormDeviation > 1e-3)
    std::cerr << "note: W_dec rows are not unit norm (max deviation " << c.maxDecoderNormDeviation << ")\n";
  nlohmann::json j = {{"out", out}, {"hook_name", c.hookName}, {"d_in", c.dIn},
                      {"d_sae", c.dSae}, {"max_decoder_norm_deviation", c.maxDecoderNormDeviation}};
  if (a.has("json")) printJson(j);
  else std::cout << "wrote " << out << " (" << c.hookName << ", d_in " << c.dIn << ", d_sae " << c.dSae << ")\n";
  return 0;
}

Registrar reg({"convert-sae", "--pt FILE.pt [--cfg FILE_cfg.json] --out DIR --allow-pickle [--model DIR] [--json]",
               "Convert one of the paper's .pt attention SAEs into a SAELens folder", {"allow-pickle", "json"},
               &runConvertSae});

}  // namespace
}  // namespace zs::cli
