#include "core/session/next_token.h"

#include <torch/torch.h>

#include <algorithm>

#include "core/base/error.h"
#include "core/model/model.h"
#include "core/session/session.h"
#include "core/text/tokenizer.h"

namespace zs {

NextTokenReport predictNext(const Session& session, const std::vector<int64_t>& ids, int top,
                            const std::vector<std::string>& continuations) {
  if (ids.empty()) throw InputError("prompt", "an empty prompt has no next token");
  const Model& model = session.model();
  const Tokenizer& tok = session.requireTokenizer();
  const int64_t nCtx = model.spec().nCtx;
  c10::InferenceMode guard;
  const torch::Tensor lp = model.logProbs(ids);
  const torch::Tensor last = lp.select(0, static_cast<int64_t>(ids.size()) - 1);
  NextTokenReport r;
  auto [vals, idx] = last.topk(std::clamp<int64_t>(top, 1, last.size(0)));
  for (int64_t i = 0; i < vals.size(0); ++i) r.top.push_back({idx[i].item<int64_t>(), vals[i].item<double>()});
  for (const std::string& text : continuations) {
    ContinuationScore c;
    c.text = text;
    c.tokens = tok.encode(text);
    if (c.tokens.empty()) throw InputError("continuation", "an empty continuation has no probability");
    if (static_cast<int64_t>(ids.size() + c.tokens.size()) - 1 > nCtx)
      throw InputError("continuation", "the prompt and '" + text + "' exceed the model's context of " +
                                           std::to_string(nCtx) + " tokens");
    c.logprob = last[c.tokens[0]].item<double>();
    if (c.tokens.size() == 1) {
      c.rank = (last > last[c.tokens[0]]).sum().item<int64_t>() + 1;
    } else {
      std::vector<int64_t> seq = ids;
      seq.insert(seq.end(), c.tokens.begin(), c.tokens.end() - 1);
      const torch::Tensor lp2 = model.logProbs(seq);
      for (size_t k = 1; k < c.tokens.size(); ++k)
        c.logprob += lp2[static_cast<int64_t>(ids.size() + k - 1)][c.tokens[k]].item<double>();
    }
    r.continuations.push_back(std::move(c));
  }
  return r;
}

}  // namespace zs
