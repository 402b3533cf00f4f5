// SentencePiece tokenizer.model through libsentencepiece: a small model is
// trained here (libsentencepiece_train), then loaded through loadDir like a
// checkpoint folder that has no tokenizer.json.
#include <filesystem>
#include <fstream>

#include "core/base/error.h"
#include "core/text/sentencepiece_api.h"
#include "core/text/tokenizer_config.h"
#include "core/text/tokenizer.h"
#include "tests/support/check.h"

namespace {

const std::string kMeta = "\xE2\x96\x81";  // ▁

// A folder with tokenizer.model (trained once per process) and an optional config.
std::string modelDir(const std::string& name, const std::string& config) {
  static std::string trained;
  const std::string tmp = zs::test::tempDir();
  if (trained.empty()) {
    std::ofstream corpus(tmp + "/corpus.txt");
    const char* lines[] = {"Hello world, hello there.", "The quick brown fox jumps over the lazy dog.",
                           "Our little robot waters the tomato plants every morning.",
                           "Numbers 1 2 3 and 42 and 2024.", "Caf\xC3\xA9 na\xC3\xAFve r\xC3\xA9sum\xC3\xA9."};
    for (int i = 0; i < 200; ++i) corpus << lines[i % 5] << " " << i << "\n";
    corpus.close();
    std::string err;
    bool ok = zs::spm::train(
        "--input=" + tmp + "/corpus.txt --model_prefix=" + tmp + "/sp --vocab_size=320 --model_type=bpe "
        "--byte_fallback=true --character_coverage=1.0 --minloglevel=2 --bos_id=1 --eos_id=2 --unk_id=0", &err);
    if (!ok) throw std::runtime_error("training SentencePiece failed: " + err);
    trained = tmp + "/sp.model";
  }
  const std::string dir = tmp + "/" + name;
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(trained, dir + "/tokenizer.model", std::filesystem::copy_options::overwrite_existing);
  if (!config.empty()) std::ofstream(dir + "/tokenizer_config.json") << config;
  return dir;
}

}  // namespace

ZS_TEST(loadsAndMatchesSentencePiece) {
  const std::string dir = modelDir("plain", "");
  auto t = zs::Tokenizer::loadDir(dir);
  ZS_CHECK_EQ(t->format(), std::string("sentencepiece"));
  auto sp = zs::spm::newModel();  // the library itself, as the reference
  std::string err;
  ZS_CHECK(sp->load(dir + "/tokenizer.model", &err));
  for (std::string text : {"Hello world", "The quick brown fox, 42 times.", "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80", "", "  two  spaces "}) {
    std::vector<int> want;
    ZS_CHECK(sp->encode(text, &want, &err));
    auto got = t->encode(text, false);
    ZS_CHECK_EQ(got, std::vector<int64_t>(want.begin(), want.end()));
    ZS_CHECK_EQ(int64_t(t->encode(text, true).front()), int64_t(1));  // add_bos_token defaults to true (LlamaTokenizer)
    std::string back;
    ZS_CHECK(sp->decode(want, &back, &err));
    ZS_CHECK_EQ(t->decode(got, false), back);
  }
  ZS_CHECK_EQ(t->bosId(), int64_t(1));
  ZS_CHECK_EQ(t->eosId(), int64_t(2));
  ZS_CHECK(t->encodeAddsBos());
  ZS_CHECK(t->isSpecial(1) && t->isSpecial(2));
  ZS_CHECK_EQ(t->vocabSize(), int64_t(320));
  // Special tokens typed in the text map to their id; decode can skip them.
  auto ids = t->encode("Hello</s>", false);
  ZS_CHECK_EQ(ids.back(), int64_t(2));
  ZS_CHECK_EQ(t->decode(ids, true), std::string("Hello"));
  ZS_CHECK_EQ(t->decode(ids, false), std::string("Hello</s>"));
  // Display: '▁' as '·', byte-fallback <0x0A> as '↵'.
  int64_t hello = t->tokenToId(kMeta + "Hello");
  if (hello >= 0) ZS_CHECK_EQ(t->displayString(hello), std::string("\xC2\xB7" "Hello"));
  ZS_CHECK_EQ(t->displayString(t->tokenToId("<0x0A>")), std::string("\xE2\x86\xB5"));
  ZS_CHECK_EQ(t->tokenToId("surely not a piece"), int64_t(-1));
  ZS_CHECK_THROWS(t->decode({1, 320}, false), zs::InputError);
}

ZS_TEST(configControlsBosEos) {
  auto t = zs::Tokenizer::loadDir(modelDir("noBos", R"({"add_bos_token": false, "add_eos_token": true,
      "bos_token": {"content": "<s>"}, "eos_token": "</s>", "tokenizer_class": "LlamaTokenizer"})"));
  ZS_CHECK(!t->encodeAddsBos());
  ZS_CHECK(t->config().present);
  ZS_CHECK_EQ(*t->config().bosToken, std::string("<s>"));
  auto ids = t->encode("Hello", true);
  ZS_CHECK(ids.front() != 1);
  ZS_CHECK_EQ(ids.back(), int64_t(2));
  ZS_CHECK_EQ(int64_t(t->encodeWithBos("Hello").front()), int64_t(1));
}

ZS_TEST(corruptModelIsInputError) {
  const std::string dir = zs::test::tempDir() + "/corrupt";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/tokenizer.model") << "not a protobuf at all";
  ZS_CHECK_THROWS(zs::Tokenizer::loadDir(dir), zs::InputError);
  ZS_CHECK_THROWS(zs::Tokenizer::loadDir(zs::test::tempDir() + "/empty-nothing-here"), zs::InputError);
  std::filesystem::create_directories(zs::test::tempDir() + "/emptydir");
  ZS_CHECK_THROWS(zs::Tokenizer::loadDir(zs::test::tempDir() + "/emptydir"), zs::InputError);
}
