// zscope-cli tokenize: text -> token ids (or a JSONL batch of encode/decode
// requests) with a folder's tokenizer: tokenizer.json, tokenizer.model or
// GPT-2's vocab.json + merges.txt (nothing else in the folder is needed).
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "app/cli/command.h"
#include "core/base/input_file.h"
#include "core/base/error.h"
#include "core/base/paths.h"
#include "core/text/tokenize_batch.h"
#include "core/text/tokenizer.h"

namespace zs::cli {
namespace {

std::string readTextFile(const std::string& path) {
  return readInputFile(path, InputKind::Prompt, " (the text file)");
}

int runTokenize(const Args& a) {
  if (!a.positional().empty()) throw UsageError("unexpected argument '" + a.positional()[0] + "'");
  a.requireOneOf({"text", "text-file", "batch"});
  const std::string dir = paths::resolveModel(a.require("model"));
  if (a.has("batch")) {
    std::ifstream in(a.get("batch"), std::ios::binary);
    if (!in) throw InputError(a.get("batch"), "cannot open batch file");
    auto tok = Tokenizer::loadDir(dir);
    const int failed = tokenizeBatch(*tok, in, std::cout);
    if (failed > 0) {
      std::cerr << "error: " << failed << " line(s) of " << a.get("batch") << " failed (see their \"error\")\n";
      return 3;
    }
    return 0;
  }
  const std::string text = a.has("text") ? a.get("text") : readTextFile(a.get("text-file"));
  auto tok = Tokenizer::loadDir(dir);
  const bool special = !a.has("no-special-tokens");
  std::vector<int64_t> ids = tok->encode(text, special);
  if (a.has("json")) {
    nlohmann::json j;
    j["ids"] = ids;
    j["tokens"] = nlohmann::json::array();
    j["display"] = nlohmann::json::array();
    for (int64_t id : ids) {
      j["tokens"].push_back(tok->tokenString(id));  // partial UTF-8 is printed as U+FFFD
      j["display"].push_back(tok->displayString(id));
    }
    j["count"] = ids.size();
    j["add_special_tokens"] = special;
    j["format"] = tok->format();
    printJson(j);
    return 0;
  }
  std::cout << ids.size() << " tokens\n";
  std::cout << "  pos      id  token\n";
  for (size_t i = 0; i < ids.size(); ++i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%5zu  %6lld  ", i, static_cast<long long>(ids[i]));
    std::cout << buf << tok->displayString(ids[i]) << "\n";
  }
  return 0;
}

Registrar reg({"tokenize",
               "--model DIR (--text TEXT | --text-file FILE | --batch FILE.jsonl) [--no-special-tokens] [--json]",
               "Tokenize with a folder's tokenizer (tokenizer.json, tokenizer.model or vocab.json + merges.txt); "
               "--batch: one JSON request per line ({\"text\":...} or {\"ids\":[...]}), one JSON answer per line",
               {"json", "no-special-tokens"}, &runTokenize});

}  // namespace
}  // namespace zs::cli
