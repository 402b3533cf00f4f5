#include "app/cli/common.h"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "core/base/error.h"
#include "core/base/util.h"
#include "core/text/tokenizer.h"

namespace zs::cli {

std::vector<int64_t> promptIds(const Args& a, const Session& session) {
  a.requireOneOf({"prompt", "tokens", "prompt-file"});
  std::vector<int64_t> ids;
  if (a.has("tokens")) {
    ids = parseIdList(a.get("tokens"));
  } else {
    std::string text;
    if (a.has("prompt")) {
      text = a.get("prompt");
    } else {
      const std::string path = a.get("prompt-file");
      std::error_code ec;
      if (!std::filesystem::is_regular_file(path, ec)) throw InputError(path, "not a readable file");
      text = readWholeFile(path, " (the prompt file)");
    }
    ids = session.encodePrompt(text, !a.has("no-bos"));
  }
  size_t from = 0;
  ids = session.checkIds(std::move(ids), a.has("truncate"), &from);
  if (from) std::cerr << "zscope-cli: prompt truncated from " << from << " to " << ids.size() << " tokens\n";
  return ids;
}

SessionOptions sessionOptions(const Args& a) {
  SessionOptions o;
  o.device = a.get("device", "auto");
  o.dtype = a.get("dtype", "auto");
  return o;
}

std::unique_ptr<db::Db> openExistingDb(const Args& a) {
  db::OpenOptions oo;
  oo.create = false;
  return db::Db::open(a.require("db"), oo);
}

std::pair<int, int64_t> requireLayerFeature(const Args& a) {
  const int layer = static_cast<int>(a.getInt("layer", -1));
  const int64_t feature = a.getInt("feature", -1);
  if (layer < 0 || feature < 0) throw UsageError("give --layer L and --feature F (both >= 0)");
  return {layer, feature};
}

}  // namespace zs::cli
