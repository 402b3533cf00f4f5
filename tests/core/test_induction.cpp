// Induction measurements (core/induction.h) on a hand-built 2-layer model with
// a planted induction circuit: layer 0 head 0 is a previous-token head that
// writes "the previous token was t" into the residual stream; layer 1 head 0
// attends from a token to the position whose previous token equals it (the
// token after its earlier occurrence) and copies that position's token into
// the logits. The planted head must score >= 0.9, every other head low, and
// the second copy of a repeated sequence must be far easier than the first.
#include <cmath>

#include "core/base/error.h"
#include "core/model/gpt2.h"
#include "core/model/induction.h"
#include "cli_inprocess.h"
#include "tests/support/check.h"

using namespace zs;

namespace {

constexpr int64_t V = 256, P = 32;  // vocabulary, positions
// Residual layout: every feature is written as +1 in one block and -1 in its
// mirror block, so that the residual stream always has mean 0 and LayerNorm
// only rescales it (by the same factor at every position).
constexpr int64_t TOK = 0, TOKN = V, POS = 2 * V, POSN = 2 * V + P, PREV = 2 * V + 2 * P, PREVN = 3 * V + 2 * P;
constexpr int64_t D = 4 * V + 2 * P, H = 4, DH = D / H;  // 1088, 272 >= max(V, P)

std::unique_ptr<Gpt2> plantedModel() {
  Gpt2Config c;
  c.n_layer = 2;
  c.n_head = H;
  c.n_embd = D;
  c.n_positions = P;
  c.vocab_size = V;
  c.n_inner = 4;
  c.bos_token_id = c.eos_token_id = V - 1;
  auto m = Gpt2::init(c, 1);
  torch::NoGradGuard ng;
  Gpt2Weights& w = m->weights();
  for (auto* t : {&w.wte, &w.wpe}) t->zero_();
  for (int64_t t = 0; t < V; ++t) w.wte[t][TOK + t] = 1, w.wte[t][TOKN + t] = -1;
  for (int64_t p = 0; p < P; ++p) w.wpe[p][POS + p] = 1, w.wpe[p][POSN + p] = -1;
  for (auto& l : w.layers)
    for (auto* t : {&l.c_attn_w, &l.c_attn_b, &l.c_proj_w, &l.c_proj_b, &l.fc_w, &l.fc_b, &l.mlp_proj_w, &l.mlp_proj_b})
      t->zero_();  // other heads: uniform attention, no output; MLPs off
  // LayerNorm scale of a residual with 4 (layer 0) or 6 (layer 1) entries of +-1.
  const double s0 = std::sqrt(4.0 / D + 1e-5), s1 = std::sqrt(6.0 / D + 1e-5);
  auto q = [](int64_t i) { return i; };            // head 0's columns in c_attn_w
  auto k = [](int64_t i) { return D + i; };
  auto v = [](int64_t i) { return 2 * D + i; };
  // Layer 0 head 0: query at position i matches key at position i-1; value = token.
  auto& l0 = w.layers[0];
  for (int64_t p = 0; p + 1 < P; ++p) {
    l0.c_attn_w[POS + p + 1][q(p)] = 1.0;
    l0.c_attn_w[POS + p][k(p)] = 1.0;
  }
  for (int64_t t = 0; t < V; ++t) {
    l0.c_attn_w[TOK + t][v(t)] = s0;  // undo LayerNorm's 1/s0: the value is +-1
    l0.c_proj_w[t][PREV + t] = 1, l0.c_proj_w[t][PREVN + t] = -1;
  }
  // Layer 1 head 0: query = own token, key = previous token; value = the key's own token,
  // written back 4x into the token block, which the tied unembedding reads.
  auto& l1 = w.layers[1];
  for (int64_t t = 0; t < V; ++t) {
    l1.c_attn_w[TOK + t][q(t)] = 1.0;
    l1.c_attn_w[PREV + t][k(t)] = 1.0;
    l1.c_attn_w[TOK + t][v(t)] = s1;
    l1.c_proj_w[t][TOK + t] = 4, l1.c_proj_w[t][TOKN + t] = -4;
  }
  return m;
}

}  // namespace

ZS_TEST(plantedHeadIsFound) {
  auto m = plantedModel();
  InductionOptions o;
  o.seqLen = 15;  // BOS + 15 + 15 = 31 <= 32 positions
  o.batch = 16;
  InductionReport r = measureInduction(*m, nullptr, m->config().bos_token_id, o);
  ZS_CHECK_EQ(r.bestLayer, int64_t(1));
  ZS_CHECK_EQ(r.bestHead, int64_t(0));
  // Random tokens may repeat inside a copy (15 of 255), which splits attention a little.
  ZS_CHECK_MSG(r.bestScore >= 0.9, zs::test::cat(r.bestScore));
  for (int64_t l = 0; l < 2; ++l)
    for (int64_t h = 0; h < H; ++h)
      if (!(l == 1 && h == 0)) ZS_CHECK_MSG(r.scores[l][h] < 0.15, zs::test::cat("L", l, "H", h, " ", r.scores[l][h]));
  // Layer 0 head 0 is a previous-token head (position 0 can only attend to itself).
  ZS_CHECK_MSG(r.prevScores[0][0] > 0.95, zs::test::cat(r.prevScores[0][0]));
  ZS_CHECK(r.prevScores[1][0] < 0.2);
  ZS_CHECK_MSG(r.lossSecond < 0.1 * r.lossFirst,
           zs::test::cat("first ", r.lossFirst, " second ", r.lossSecond));
  ZS_CHECK(r.secondCopyOk() && r.inductionHeadOk());
  nlohmann::json j = r.toJson();
  ZS_CHECK_EQ(j["best_head"]["layer"].get<int>(), 1);
  ZS_CHECK_EQ(j["heads"].size(), size_t(2 * H));
  ZS_CHECK(j["val_loss"].is_null());
  ZS_CHECK(j["passed"].get<bool>());
}

ZS_TEST(uniformHeadsScoreTheirBaseline) {
  // A model whose attention scores are all zero attends uniformly: the score of
  // every head is then exactly the mean of 1/(i+1) over the second-copy positions i.
  auto m = plantedModel();
  {
    torch::NoGradGuard ng;
    for (auto& l : m->weights().layers) l.c_attn_w.narrow(1, 0, 2 * D).zero_();
  }
  InductionOptions o;
  o.seqLen = 10;
  o.batch = 4;
  InductionReport r = measureInduction(*m, nullptr, m->config().bos_token_id, o);
  double expect = 0;
  for (int64_t i = 11; i < 21; ++i) expect += 1.0 / (i + 1);
  expect /= 10;
  for (int64_t l = 0; l < 2; ++l)
    for (int64_t h = 0; h < H; ++h) ZS_CHECK(std::abs(r.scores[l][h] - expect) < 1e-5);
  ZS_CHECK(!r.inductionHeadOk());
}

ZS_TEST(sequencesThatDoNotFitAreUsageErrors) {
  auto m = plantedModel();
  InductionOptions o;
  o.seqLen = 16;  // 33 tokens > 32
  ZS_CHECK_THROWS(measureInduction(*m, nullptr, m->config().bos_token_id, o), UsageError);
  o.seqLen = 1;
  ZS_CHECK_THROWS(measureInduction(*m, nullptr, m->config().bos_token_id, o), UsageError);
}

// A missing model folder is an input error (exit code 3) of the induction command.
ZS_TEST(missingModelFolderIsAnInputError) {
  ZS_CHECK_EQ(zs::test::runCli({"induction", "--model", zs::test::tempDir() + "/missing"}), 3);
}
