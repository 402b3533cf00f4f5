// zscope-cli labels export|import: labels as CSV or JSONL (Neuronpedia field names).
#include <fstream>
#include <iostream>
#include <sstream>

#include "app/cli/command.h"
#include "app/cli/common.h"
#include "core/db/db.h"
#include "core/db/labels.h"
#include "core/base/error.h"

namespace zs::cli {
namespace {

std::string formatOf(const Args& a, const std::string& path) {
  std::string f = a.get("format");
  if (f.empty()) f = path.size() > 4 && path.substr(path.size() - 4) == ".csv" ? "csv" : "jsonl";
  if (f != "csv" && f != "jsonl") throw UsageError("--format must be csv or jsonl");
  return f;
}

int runExport(const Args& a) {
  auto d = openExistingDb(a);
  const std::string out = a.get("out", "-");
  db::ExportOptions eo;
  eo.modelId = a.get("model-id");
  const std::string text = formatOf(a, out) == "csv" ? db::exportLabelsCsv(*d, eo) : db::exportLabelsJsonl(*d, eo);
  if (out == "-") {
    std::cout << text;
    return 0;
  }
  // Written beside the target and renamed: a crash never leaves half a file.
  const std::string tmp = out + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary);
    if (!f) throw InputError(out, "cannot write");
    f << text;
    if (!f.flush()) throw InputError(out, "write failed");
  }
  if (std::rename(tmp.c_str(), out.c_str()) != 0) throw InputError(out, "cannot rename the temporary file");
  std::cerr << "exported " << db::listLabels(*d).size() << " labels to " << out << "\n";
  return 0;
}

int runImport(const Args& a) {
  auto d = openExistingDb(a);
  const std::string in = a.require("in");
  std::ifstream f(in, std::ios::binary);
  if (!f) throw InputError(in, "cannot open");
  std::ostringstream ss;
  ss << f.rdbuf();
  const int n = formatOf(a, in) == "csv" ? db::importLabelsCsv(*d, ss.str(), in)
                                         : db::importLabelsJsonl(*d, ss.str(), in);
  std::cout << "imported " << n << " labels (unchanged ones skipped)\n";
  return 0;
}

Registrar regE({"labels export", "--db FILE [--format csv|jsonl] [--out FILE|-] [--model-id ID]",
                "Export labels as CSV or JSONL with Neuronpedia's explanation field names", {}, &runExport});
Registrar regI({"labels import", "--db FILE [--format csv|jsonl] --in FILE",
                "Import labels exported by `labels export` (round trip without loss)", {}, &runImport});

}  // namespace
}  // namespace zs::cli
