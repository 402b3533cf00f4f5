#include "core/session/sae_evaluation.h"

#include <algorithm>

#include "core/base/error.h"
#include "core/data/corpus.h"
#include "core/model/model.h"
#include "core/sae/sae.h"
#include "core/sae/sae_eval.h"
#include "core/session/session.h"

namespace zs {

SaeEvaluationReport evaluateSaeFolder(const Session& session, const SaeEvaluationOptions& o, const Progress& progress) {
  auto sae = session.readSae(o.saeDir);
  const ModelSpec& mc = session.spec();
  WindowOptions wo;
  wo.context = o.context > 0 ? o.context
                             : (sae->cfg.context_size > 0 ? std::min(sae->cfg.context_size, mc.nCtx)
                                                          : std::min<int64_t>(128, mc.nCtx));
  if (wo.context < 2 || wo.context > mc.nCtx) throw UsageError("--context must be in 2.." + std::to_string(mc.nCtx));
  wo.bosId = session.bosId();
  wo.vocabSize = mc.vocab;
  auto windows = TokenWindows::open(o.corpus, session.tokenizer(), wo, o.corpusFormat);
  const SaeEvalResult r = evaluateSae(session.model(), *sae, *windows, o.tokens, o.batch, progress);
  return {r.toJson(), r.densityText()};
}

}  // namespace zs
