// Induction scores and copy losses on repeated random tokens (see induction.h).
#include "core/model/induction.h"

#include <cmath>
#include <filesystem>
#include <random>

#include "core/data/corpus.h"
#include "core/base/error.h"
#include "core/model/model.h"
#include "core/text/tokenizer.h"

namespace fs = std::filesystem;

namespace zs {
namespace {

using nlohmann::json;

// [batch, 2n+(BOS?1:0)] sequences of random tokens repeated twice; never the BOS id.
torch::Tensor repeatedTokens(const InductionOptions& opt, int64_t vocab, int64_t bos) {
  const int64_t o = bos >= 0 ? 1 : 0, n = opt.seqLen;
  std::mt19937_64 rng(opt.seed);
  torch::Tensor ids = torch::empty({opt.batch, o + 2 * n}, torch::kLong);
  auto a = ids.accessor<int64_t, 2>();
  const int64_t choices = bos >= 0 ? vocab - 1 : vocab;
  for (int64_t b = 0; b < opt.batch; ++b) {
    if (o) a[b][0] = bos;
    for (int64_t j = 0; j < n; ++j) {
      int64_t t = static_cast<int64_t>(rng() % static_cast<uint64_t>(choices));
      if (bos >= 0 && t >= bos) ++t;
      a[b][o + j] = a[b][o + n + j] = t;
    }
  }
  return ids;
}

double corpusLoss(const Model& model, const Tokenizer* tok, int64_t bos, const InductionOptions& opt, int64_t* tokens) {
  const ModelSpec& c = model.spec();
  WindowOptions wo;
  wo.context = c.nCtx;
  wo.bosId = bos;
  if (wo.bosId < 0) throw InputError(opt.corpus, "the model has no BOS/EOS id to start corpus windows with");
  wo.vocabSize = c.vocab;
  auto windows = TokenWindows::open(opt.corpus, tok, wo);
  std::vector<int64_t> w;
  std::vector<int64_t> flat;
  double sum = 0;
  int64_t count = 0, rows = 0;
  auto flush = [&] {
    if (!rows) return;
    torch::Tensor ids = torch::from_blob(flat.data(), {rows, wo.context}, torch::kLong).clone();
    torch::Tensor loss = Model::lossPerToken(model.forward(ids).logits, ids);
    sum += loss.sum().item<double>();
    count += loss.numel();
    flat.clear();
    rows = 0;
  };
  while (windows->next(w)) {
    if (static_cast<int64_t>(w.size()) != wo.context) continue;  // cut-off tail
    flat.insert(flat.end(), w.begin(), w.end());
    if (++rows == 16) flush();
    if (opt.valTokens > 0 && count + rows * (wo.context - 1) >= opt.valTokens) break;
  }
  flush();
  if (!count) throw InputError(opt.corpus, "corpus has fewer tokens than one context window");
  *tokens = count;
  return sum / static_cast<double>(count);
}

}  // namespace

double InductionReport::valLossLimit() const { return 0.6 * std::log(static_cast<double>(vocab)); }

json InductionReport::toJson() const {
  json heads = json::array();
  for (int64_t l = 0; l < nLayer; ++l)
    for (int64_t h = 0; h < nHead; ++h)
      heads.push_back({{"layer", l}, {"head", h}, {"name", "L" + std::to_string(l) + "H" + std::to_string(h)},
                       {"induction_score", scores[l][h]}, {"prev_token_score", prevScores[l][h]}});
  json j = {{"model", model},
            {"n_layer", nLayer},
            {"n_head", nHead},
            {"vocab_size", vocab},
            {"seq_len", seqLen},
            {"batch", batch},
            {"seed", seed},
            {"induction_scores", scores},
            {"prev_token_scores", prevScores},
            {"heads", heads},
            {"best_head", {{"layer", bestLayer}, {"head", bestHead}, {"score", bestScore}}},
            {"loss_first_copy", lossFirst},
            {"loss_second_copy", lossSecond},
            {"second_to_first_ratio", lossFirst > 0 ? lossSecond / lossFirst : 0.0},
            {"val_loss", hasValLoss ? json(valLoss) : json(nullptr)},
            {"val_tokens", valTokens},
            {"val_loss_limit", valLossLimit()}};
  j["checks"] = {{"val_loss_at_most_0.6_ln_vocab", hasValLoss ? json(valLossOk()) : json(nullptr)},
                 {"second_copy_loss_at_most_half", secondCopyOk()},
                 {"head_with_induction_score_0.5", inductionHeadOk()}};
  j["passed"] = (!hasValLoss || valLossOk()) && secondCopyOk() && inductionHeadOk();
  return j;
}

InductionReport measureInduction(const Model& model, const Tokenizer* tok, int64_t bos, const InductionOptions& opt) {
  const ModelSpec& c = model.spec();
  const int64_t o = bos >= 0 ? 1 : 0, n = opt.seqLen;
  if (n < 2) throw UsageError("--seq-len must be at least 2");
  if (opt.batch < 1) throw UsageError("--batch must be positive");
  if (o + 2 * n > c.nCtx)
    throw UsageError("--seq-len " + std::to_string(n) + " does not fit the context of " +
                     std::to_string(c.nCtx) + " tokens (2n" + (o ? "+1" : "") + " needed)");
  torch::InferenceMode guard;
  InductionReport r;
  r.nLayer = c.nLayer, r.nHead = c.nHead, r.vocab = c.vocab, r.seqLen = n, r.batch = opt.batch;
  r.seed = opt.seed;
  torch::Tensor ids = repeatedTokens(opt, c.vocab, bos);
  ForwardOptions fo;
  fo.capture = Capture({"blocks.*.attn.hook_pattern"});
  ForwardResult fr = model.forward(ids, fo);

  using torch::indexing::Slice;
  torch::Tensor loss = Model::lossPerToken(fr.logits, ids).cpu();  // [B, T-1]; column p predicts token p+1
  r.lossFirst = loss.index({Slice(), Slice(o, o + n - 1)}).mean().item<double>();
  r.lossSecond = loss.index({Slice(), Slice(o + n, o + 2 * n - 1)}).mean().item<double>();

  const int64_t T = o + 2 * n;
  torch::Tensor q = torch::arange(o + n, T);  // second-copy positions
  torch::Tensor qAll = torch::arange(1, T);
  r.scores.assign(c.nLayer, std::vector<double>(c.nHead, 0.0));
  r.prevScores = r.scores;
  for (int64_t l = 0; l < c.nLayer; ++l) {
    torch::Tensor p = fr.cache.at("blocks." + std::to_string(l) + ".attn.hook_pattern").cpu();  // [B, H, T, T]
    torch::Tensor ind = p.index({Slice(), Slice(), q, q - n + 1}).mean(std::vector<int64_t>{0, 2});  // [H]
    torch::Tensor prev = p.index({Slice(), Slice(), qAll, qAll - 1}).mean(std::vector<int64_t>{0, 2});
    for (int64_t h = 0; h < c.nHead; ++h) {
      r.scores[l][h] = ind[h].item<double>();
      r.prevScores[l][h] = prev[h].item<double>();
      if (r.scores[l][h] > r.bestScore || r.bestLayer < 0) {
        r.bestScore = r.scores[l][h];
        r.bestLayer = l;
        r.bestHead = h;
      }
    }
  }
  if (!opt.corpus.empty()) {
    r.valLoss = corpusLoss(model, tok, bos, opt, &r.valTokens);
    r.hasValLoss = true;
  }
  return r;
}

}  // namespace zs
