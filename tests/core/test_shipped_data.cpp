// The shipped data/ (default model, its SAEs, its feature database) opens, fits
// together, and has the figures its READMEs quote (issue 12). Figures that need
// the corpus (validation CE, the SAEs' held-out metrics) are checked against the
// evaluation files shipped beside the weights; the induction figures are
// recomputed, since they need no corpus.
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/db/db.h"
#include "core/db/features.h"
#include "core/model/induction.h"
#include "core/model/model.h"
#include "core/sae/sae.h"
#include "core/session/session.h"
#include "tests/support/check.h"

using namespace zs;
namespace fs = std::filesystem;

namespace {

std::string dataDir() {
  const char* e = std::getenv("ZSCOPE_DATA_DIR");
  return e ? e : "data";
}

std::string readText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  ZS_CHECK_MSG(in.good(), "cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

nlohmann::json readJson(const std::string& path) { return nlohmann::json::parse(readText(path)); }

}  // namespace

ZS_TEST(modelCardFiguresAreReproduced) {
  const std::string dir = dataDir() + "/models/zscope-2l";
  auto s = Session::open(dir);
  const ModelSpec& m = s->spec();
  // README: 2 layers, 8 heads, d_head 32, d_model 256, context 128, vocabulary 4096, BOS id 4095.
  ZS_CHECK_EQ(m.nLayer, int64_t(2));
  ZS_CHECK_EQ(m.nHead, int64_t(8));
  ZS_CHECK_EQ(m.dHead, int64_t(32));
  ZS_CHECK_EQ(m.dModel, int64_t(256));
  ZS_CHECK_EQ(m.nCtx, int64_t(128));
  ZS_CHECK_EQ(m.vocab, int64_t(4096));
  ZS_CHECK_EQ(s->bosId(), int64_t(4095));
  // README's induction table: `zscope-cli induction` with seq-len 50, batch 32, seed 0.
  InductionOptions o;
  o.seqLen = 50;
  o.batch = 32;
  o.seed = 0;
  const InductionReport r = measureInduction(s->model(), s->tokenizer(), s->bosId(), o);
  ZS_CHECK_EQ(r.bestLayer, int64_t(1));
  ZS_CHECK_EQ(r.bestHead, int64_t(4));
  ZS_CHECK_NEAR(r.bestScore, 0.789, 0.0015);
  ZS_CHECK_NEAR(r.lossSecond / r.lossFirst, 0.247, 0.0015);
  const nlohmann::json shipped = readJson(dir + "/induction.json");
  ZS_CHECK_NEAR(shipped["best_head"]["score"].get<double>(), r.bestScore, 1e-4);
  const std::string card = readText(dir + "/README.md");
  ZS_CHECK(card.find("the best is L1H4 at 0.789") != std::string::npos);
  ZS_CHECK(card.find("0.247") != std::string::npos);
}

ZS_TEST(saeReadmeQuotesTheShippedEvaluations) {
  const std::string root = dataDir() + "/saes/zscope-2l";
  const std::string readme = readText(root + "/README.md");
  auto s = Session::open(dataDir() + "/models/zscope-2l");
  s->loadSaes({root});
  ZS_CHECK_EQ(s->saes().size(), size_t(2));
  for (int layer = 0; layer < 2; ++layer) {
    const std::string folder = root + "/blocks." + std::to_string(layer) + ".attn.hook_z";
    const nlohmann::json e = readJson(folder + "/eval_test.json");
    ZS_CHECK_EQ(s->saes()[layer]->layer(), int64_t(layer));
    ZS_CHECK_EQ(s->saes()[layer]->cfg.d_sae, int64_t(2048));
    // The README's table row: | layer | **L0** | EV | CE clean | spliced | zero | **CE recovered** | ...
    const std::regex row("\\| " + std::to_string(layer) +
                         " \\| \\*\\*([0-9.]+)\\*\\* \\| ([0-9.]+) \\| ([0-9.]+) \\| ([0-9.]+) \\| ([0-9.]+) \\| "
                         "\\*\\*([0-9.]+)%\\*\\*");
    std::smatch m;
    ZS_CHECK_MSG(std::regex_search(readme, m, row), "no table row for layer " + std::to_string(layer));
    ZS_CHECK_NEAR(std::stod(m[1].str()), e["l0"].get<double>(), 0.05);
    ZS_CHECK_NEAR(std::stod(m[2].str()), e["explained_variance"].get<double>(), 0.005);
    ZS_CHECK_NEAR(std::stod(m[3].str()), e["ce_clean"].get<double>(), 0.0005);
    ZS_CHECK_NEAR(std::stod(m[4].str()), e["ce_spliced"].get<double>(), 0.0005);
    ZS_CHECK_NEAR(std::stod(m[5].str()), e["ce_zero_ablation"].get<double>(), 0.0005);
    ZS_CHECK_NEAR(std::stod(m[6].str()), 100 * e["ce_loss_recovered"].get<double>(), 0.05);
    // The bar the README claims is met.
    ZS_CHECK(e["l0"].get<double>() <= 20);
    ZS_CHECK(e["ce_loss_recovered"].get<double>() >= 0.8);
  }
}

ZS_TEST(shippedDatabaseBelongsToTheShippedSaes) {
  const std::string file = dataDir() + "/features/zscope-2l.zscope.db";
  ZS_CHECK_MSG(fs::exists(file), file);
  db::OpenOptions oo;
  oo.create = false;
  auto d = db::Db::open(file, oo);
  const db::DbInfo info = db::dbInfo(*d);
  ZS_CHECK_EQ(info.status, std::string("done"));
  ZS_CHECK_EQ(info.tokens, int64_t(100044));  // docs/status.md: 100,044 validation tokens
  ZS_CHECK_EQ(info.layers, (std::vector<int>{0, 1}));
  ZS_CHECK_EQ(info.featuresPerLayer, (std::vector<int64_t>{2048, 2048}));
  for (int layer = 0; layer < 2; ++layer) {
    auto sae = Sae::loadDir(dataDir() + "/saes/zscope-2l/blocks." + std::to_string(layer) + ".attn.hook_z");
    ZS_CHECK_EQ(info.saeFingerprints.at(layer), sae->fingerprint());
  }
}
