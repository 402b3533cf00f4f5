// loadTokenizerDir: picks the tokenizer format from the files in a folder.
#include <filesystem>

#include "core/base/error.h"
#include "core/text/hf_tokenizer.h"
#include "core/text/sentencepiece_tokenizer.h"
#include "core/text/tokenizer.h"

namespace zs {

bool hasTokenizerFiles(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path d(dir);
  return fs::is_regular_file(d / "tokenizer.json", ec) || fs::is_regular_file(d / "tokenizer.model", ec) ||
         (fs::is_regular_file(d / "vocab.json", ec) && fs::is_regular_file(d / "merges.txt", ec));
}

std::unique_ptr<Tokenizer> loadTokenizerDir(const std::string& dir) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(dir))
    throw InputError(dir, "not a folder (expected tokenizer.json, tokenizer.model or vocab.json + merges.txt in it)");
  const fs::path d(dir);
  const std::string config = (d / "tokenizer_config.json").string();
  if (fs::exists(d / "tokenizer.json")) return loadHfTokenizerFiles((d / "tokenizer.json").string(), config);
  if (fs::exists(d / "tokenizer.model")) return loadSentencePieceTokenizer((d / "tokenizer.model").string(), config);
  if (!fs::exists(d / "vocab.json") && !fs::exists(d / "merges.txt"))
    throw InputError(dir, "no tokenizer in this folder (expected tokenizer.json, tokenizer.model or vocab.json + merges.txt)");
  return Tokenizer::load((d / "vocab.json").string(), (d / "merges.txt").string());
}

}  // namespace zs
