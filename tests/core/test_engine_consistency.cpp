// The explorer's engine never shows a feature database against SAEs it was not
// built from, and Models & SAEs > Apply keeps what was loaded (issue 12's
// correctness holes 1 and 2), on the shared tiny-gpt2 and an SAE for its layer 1.
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "core/base/error.h"
#include "core/db/builder.h"
#include "core/db/db.h"
#include "core/db/labels.h"
#include "core/engine/engine.h"
#include "core/sae/sae.h"
#include "tests/core/sae_fixture.h"
#include "tests/support/check.h"

using namespace zs;
namespace fs = std::filesystem;

namespace {

struct Fixture {
  std::string model, sae, otherSae, db;
};

// A database for tiny-gpt2 + its layer-1 SAE, and a second SAE of the same shape
// with other weights (as after a training run).
const Fixture& fixture(const std::string& shared) {
  static Fixture f;
  if (!f.db.empty()) return f;
  f.model = shared + "/testdata/tiny-gpt2";
  const std::string dir = test::tempDir();
  f.sae = test::writeSae(dir + "/sae-L1", 1, 64, 128, 7);
  f.otherSae = dir + "/retrained-L1";
  auto s = Sae::loadDir(f.sae);
  {
    torch::NoGradGuard ng;
    s->W_enc.mul_(1.5);
  }
  s->saveDir(f.otherSae);
  const std::string corpus = dir + "/corpus.txt";
  {
    std::ofstream out(corpus);
    for (int i = 0; i < 40; ++i)
      out << "The cat sat on the mat and the dog ran to the park. When Mary and John went to the store, "
             "John gave a drink to Mary.\n";
  }
  db::BuildOptions o;
  o.modelDir = f.model;
  o.saeDirs = {f.sae};
  o.corpus = corpus;
  o.out = dir + "/features.zscope.db";
  o.tokens = 2000;
  o.context = 32;
  o.topK = 4;
  o.samplesPerBucket = 1;
  o.device = "cpu";
  const db::BuildResult r = db::buildFeatureDb(o);
  ZS_CHECK(r.completed);
  f.db = o.out;
  auto d = db::Db::open(f.db);
  db::Label l;
  l.layer = 1;
  l.feature = 5;
  l.text = "label of the old feature 5";
  l.family = "other";
  l.author = "test";
  db::setLabel(*d, l);
  return f;
}

}  // namespace

ZS_TEST(loadingOtherSaesClosesTheDatabase) {
  ZS_REQUIRE_SHARED(shared);
  const Fixture& f = fixture(shared);
  Engine e;
  e.loadModel(f.model, "cpu");
  e.loadSae(f.sae);
  e.openDatabase(f.db);
  ZS_CHECK(e.hasDatabase());
  ZS_CHECK(e.takeDatabaseNotice().empty());
  ZS_CHECK_EQ(e.dashboard(1, 5).label, std::string("label of the old feature 5"));

  // The same SAE again: the database still belongs to it and stays open.
  e.loadSae(f.sae);
  ZS_CHECK(e.hasDatabase());
  ZS_CHECK(e.takeDatabaseNotice().empty());

  // A retrained SAE for layer 1: the database describes other features now.
  e.loadSae(f.otherSae);
  ZS_CHECK(!e.hasDatabase());
  const std::string notice = e.takeDatabaseNotice();
  ZS_CHECK_MSG(notice.find("other SAEs") != std::string::npos, notice);
  ZS_CHECK(!e.dashboard(1, 5).available);
  const PromptAnalysis a = e.analyse("When Mary and John went to the store", true);
  for (const auto& pos : a.perPosition)
    for (const auto& row : pos) ZS_CHECK_MSG(row.label.empty(), row.label);
  // ...and it cannot be opened against them.
  ZS_CHECK_THROWS(e.openDatabase(f.db), InputError);
}

ZS_TEST(reloadingTheModelKeepsSaesAndDatabase) {
  ZS_REQUIRE_SHARED(shared);
  const Fixture& f = fixture(shared);
  Engine e;
  e.loadModel(f.model, "cpu");
  e.loadSae(f.sae);
  e.openDatabase(f.db);
  const PromptAnalysis before = e.analyse("The cat sat on the mat", true);
  const ModelInfo m = e.reloadModel("cpu");
  ZS_CHECK_EQ(m.device, std::string("cpu"));
  ZS_CHECK_EQ(e.saes().size(), size_t(1));
  ZS_CHECK(e.hasDatabase());
  const PromptAnalysis after = e.analyse("The cat sat on the mat", true);
  ZS_CHECK_EQ(after.perPosition.size(), before.perPosition.size());
  for (size_t p = 0; p < after.perPosition.size(); ++p) {
    ZS_CHECK_EQ(after.perPosition[p].size(), before.perPosition[p].size());
    for (size_t i = 0; i < after.perPosition[p].size(); ++i)
      ZS_CHECK_NEAR(after.perPosition[p][i].activation, before.perPosition[p][i].activation, 1e-6);
  }
}

ZS_TEST(aFailedReloadLeavesEverythingAsItWas) {
  ZS_REQUIRE_SHARED(shared);
  const Fixture& f = fixture(shared);
  Engine e;
  e.loadModel(f.model, "cpu");
  e.loadSae(f.sae);
  ZS_CHECK_THROWS(e.reloadModel("tpu"), UsageError);
  ZS_CHECK_EQ(e.saes().size(), size_t(1));
  ZS_CHECK_EQ(e.model().device, std::string("cpu"));
}
