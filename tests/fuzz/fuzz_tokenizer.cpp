// libFuzzer: tokenizer files. The input is split at its first NUL byte into
// vocab.json and merges.txt (GPT-2 byte-level BPE); the same bytes are also
// tried as tokenizer.json. Whatever loads must encode and decode a text.
#include <filesystem>

#include "core/text/tokenizer.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string all(reinterpret_cast<const char*>(data), size);
  const size_t cut = all.find('\0');
  const std::string vocab = all.substr(0, cut), merges = cut == std::string::npos ? "" : all.substr(cut + 1);
  const std::string dir = zs::fuzz::scratchDir() + "/tok";
  std::filesystem::create_directories(dir);
  const std::string v = zs::fuzz::writeScratch("tok/vocab.json", reinterpret_cast<const uint8_t*>(vocab.data()), vocab.size());
  const std::string m = zs::fuzz::writeScratch("tok/merges.txt", reinterpret_cast<const uint8_t*>(merges.data()), merges.size());
  auto exercise = [](const zs::Tokenizer& t) {
    const auto ids = t.encode("Hello world, the cat sat on the mat. \xc3\xa9\xe2\x82\xac <|endoftext|>");
    (void)t.decode(ids);
  };
  zs::fuzz::expectInputErrorsOnly([&] { exercise(*zs::Tokenizer::load(v, m)); });
  // tokenizer.json, when the folder loader knows it.
  const std::string jdir = zs::fuzz::scratchDir() + "/tokjson";
  std::filesystem::create_directories(jdir);
  zs::fuzz::writeScratch("tokjson/tokenizer.json", data, size);
  zs::fuzz::expectInputErrorsOnly([&] { exercise(*zs::Tokenizer::loadDir(jdir)); });
  return 0;
}
