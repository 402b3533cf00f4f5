// zscope-cli tokenize: text -> GPT-2 token ids with the model folder's
// vocab.json + merges.txt (nothing else in the folder is needed).
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "app/cli/command.h"
#include "core/base/error.h"
#include "core/base/paths.h"
#include "core/text/tokenizer.h"

namespace zs::cli {
namespace {

std::string readTextFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw InputError(path, "cannot open text file");
  std::ostringstream ss;
  ss << f.rdbuf();
  if (f.bad()) throw InputError(path, "read error");
  return ss.str();
}

int runTokenize(const Args& a) {
  if (!a.positional().empty()) throw UsageError("unexpected argument '" + a.positional()[0] + "'");
  a.requireOneOf({"text", "text-file"});
  const std::string dir = paths::resolveModel(a.require("model"));
  const std::string text = a.has("text") ? a.get("text") : readTextFile(a.get("text-file"));
  auto tok = Tokenizer::loadDir(dir);
  std::vector<int64_t> ids = tok->encode(text);
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

Registrar reg({"tokenize", "--model DIR (--text TEXT | --text-file FILE) [--json]",
               "Tokenize text with a model folder's GPT-2 tokenizer (vocab.json + merges.txt)", {"json"},
               &runTokenize});

}  // namespace
}  // namespace zs::cli
