// zs::Session: the one place for the BOS rule, prompt -> ids and "does this SAE
// fit this model" (issue 12), on the shared tiny-gpt2 checkpoint.
#include <filesystem>
#include <fstream>

#include "core/base/error.h"
#include "core/model/model.h"
#include "core/sae/sae.h"
#include "core/session/session.h"
#include "core/text/tokenizer.h"
#include "tests/core/sae_fixture.h"
#include "tests/support/check.h"

using namespace zs;
namespace fs = std::filesystem;

namespace {
std::string tinyGpt2(const std::string& shared) { return shared + "/testdata/tiny-gpt2"; }

// A copy of tiny-gpt2 with config.json edited by `edit` (text replacement).
std::string editedCopy(const std::string& shared, const std::string& name, const std::string& from,
                       const std::string& to) {
  const std::string dir = test::tempDir() + "/" + name;
  fs::create_directories(dir);
  for (const char* f : {"model.safetensors", "vocab.json", "merges.txt"})
    fs::copy_file(tinyGpt2(shared) + "/" + f, dir + "/" + f, fs::copy_options::overwrite_existing);
  std::ifstream in(tinyGpt2(shared) + "/config.json");
  std::string cfg((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t at = cfg.find(from);
  if (at == std::string::npos) throw std::runtime_error("config.json has no " + from);
  cfg.replace(at, from.size(), to);
  std::ofstream(dir + "/config.json") << cfg;
  return dir;
}
}  // namespace

ZS_TEST(bosComesFromTheConfigAndIsPrependedOnce) {
  ZS_REQUIRE_SHARED(shared);
  auto s = Session::open(tinyGpt2(shared));
  ZS_CHECK_EQ(s->bosId(), int64_t(376));  // config bos_token_id
  const auto withBos = s->encodePrompt("hello world", true);
  const auto without = s->encodePrompt("hello world", false);
  ZS_CHECK_EQ(withBos.size(), without.size() + 1);
  ZS_CHECK_EQ(withBos.front(), int64_t(376));
  ZS_CHECK(std::equal(without.begin(), without.end(), withBos.begin() + 1));
}

ZS_TEST(bosFallsBackToTheTokenizersEndOfText) {
  ZS_REQUIRE_SHARED(shared);
  const std::string dir = editedCopy(shared, "nobos", "\"bos_token_id\": 376,", "");
  auto s = Session::open(dir);
  ZS_CHECK_EQ(s->spec().bosTokenId, int64_t(-1));
  ZS_CHECK_EQ(s->bosId(), s->tokenizer()->bosId());
  ZS_CHECK(s->bosId() >= 0);
}

ZS_TEST(idsAreCheckedAgainstVocabularyAndContext) {
  ZS_REQUIRE_SHARED(shared);
  auto s = Session::open(tinyGpt2(shared));
  ZS_CHECK_THROWS(s->checkIds({}), InputError);
  ZS_CHECK_THROWS(s->checkIds({1, 377}), InputError);  // vocab is 377
  ZS_CHECK_THROWS(s->checkIds({-1}), InputError);
  std::vector<int64_t> longIds(65, 5);  // context is 64
  ZS_CHECK_THROWS(s->checkIds(longIds), InputError);
  size_t from = 0;
  const auto cut = s->checkIds(longIds, true, &from);
  ZS_CHECK_EQ(cut.size(), size_t(64));
  ZS_CHECK_EQ(from, size_t(65));
  ZS_CHECK_EQ(s->checkIds({1, 2, 3}).size(), size_t(3));
}

ZS_TEST(tokensWithoutATokenizer) {
  ZS_REQUIRE_SHARED(shared);
  const std::string dir = test::tempDir() + "/notok";
  fs::create_directories(dir);
  for (const char* f : {"model.safetensors", "config.json"})
    fs::copy_file(tinyGpt2(shared) + "/" + f, dir + "/" + f, fs::copy_options::overwrite_existing);
  auto s = Session::open(dir);
  ZS_CHECK(s->tokenizer() == nullptr);
  ZS_CHECK_EQ(s->checkIds({376, 5, 6}).size(), size_t(3));
  ZS_CHECK_THROWS(s->encodePrompt("text", true), InputError);
  SessionOptions o;
  o.needTokenizer = true;
  ZS_CHECK_THROWS(Session::open(dir, o), InputError);
  ZS_CHECK_EQ(s->tokenLabels({5}).front(), std::string("#5"));
}

ZS_TEST(saesMustFitTheModelOnePerLayer) {
  ZS_REQUIRE_SHARED(shared);
  auto s = Session::open(tinyGpt2(shared));
  const std::string standard = test::writeSae(test::tempDir() + "/fit-L1", 1, 64, 32, 1);
  s->loadSaes({standard});
  ZS_CHECK_EQ(s->saes().size(), size_t(1));
  ZS_CHECK_EQ(s->saes()[0]->layer(), int64_t(1));
  // Two SAEs for layer 1: refused, and what was loaded stays.
  ZS_CHECK_THROWS(s->loadSaes({standard, standard}), InputError);
  ZS_CHECK_EQ(s->saes().size(), size_t(1));
  // An SAE whose d_in does not match the model.
  SaeConfig c;
  c.d_in = 32;
  c.d_sae = 8;
  c.hook_name = "blocks.0.attn.hook_z";
  c.hook_layer = 0;
  std::shared_ptr<Sae> wrong(Sae::init(c, 1).release());
  ZS_CHECK_THROWS(s->setSaes({wrong}), InputError);
  // A layer the model does not have.
  c.d_in = 64;
  c.hook_name = "blocks.5.attn.hook_z";
  c.hook_layer = 5;
  std::shared_ptr<Sae> deep(Sae::init(c, 1).release());
  ZS_CHECK_THROWS(s->setSaes({deep}), InputError);
  ZS_CHECK_EQ(s->saes().size(), size_t(1));
}

ZS_TEST(aFolderOfSaeFoldersStandsForEach) {
  ZS_REQUIRE_SHARED(shared);
  const std::string dir = test::tempDir() + "/sae-tree";
  fs::create_directories(dir);
  test::writeSae(dir + "/b", 1, 64, 32, 2);
  fs::create_directories(dir + "/not-an-sae");
  const auto found = Session::saeFolders({dir});
  ZS_CHECK_EQ(found.size(), size_t(1));
  ZS_CHECK_EQ(fs::path(found[0]).filename().string(), std::string("b"));
  fs::create_directories(test::tempDir() + "/empty-tree");
  ZS_CHECK_THROWS(Session::saeFolders({test::tempDir() + "/empty-tree"}), InputError);
}

ZS_TEST(hookNamesGiveTheirLayer) {
  ZS_CHECK_EQ(hookLayer("blocks.7.attn.hook_z"), int64_t(7));
  ZS_CHECK_EQ(hookLayer("blocks.12.hook_resid_pre"), int64_t(12));
  ZS_CHECK_EQ(hookLayer("hook_embed"), int64_t(-1));
  ZS_CHECK_EQ(hookLayer("blocks.x.attn.hook_z"), int64_t(-1));
  ZS_CHECK_EQ(hookLayer("blocks.7"), int64_t(-1));
  ZS_CHECK_EQ(hookLayer("blocks.99999999.attn.hook_z"), int64_t(-1));
  ZS_CHECK_EQ(hookLayer("blocks.01.attn.hook_z"), int64_t(-1));
}
