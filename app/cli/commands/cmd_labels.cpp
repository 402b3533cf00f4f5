// zscope-cli labels export|import: labels as CSV or JSONL (Neuronpedia field names).
#include <fstream>
#include <iostream>
#include <sstream>

#include "app/cli/command.h"
#include "app/cli/common.h"
#include "core/db/db.h"
#include "core/db/labels.h"
#include "core/base/error.h"
#include "core/base/input_file.h"
#include "core/base/output_file.h"

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
  // A uniquely named temporary beside the target, fsynced and renamed: a crash
  // never leaves half a file, a failure leaves nothing, and a device or FIFO at
  // the path is refused rather than replaced.
  writeFileAtomic(out, text);
  std::cerr << "exported " << db::listLabels(*d).size() << " labels to " << out << "\n";
  return 0;
}

int runImport(const Args& a) {
  const std::string in = a.require("in");
  const std::string text = readInputFile(in, InputKind::Labels, " (the labels file)");
  const std::string fmt = formatOf(a, in);
  auto d = openExistingDb(a, true);
  const int n = fmt == "csv" ? db::importLabelsCsv(*d, text, in) : db::importLabelsJsonl(*d, text, in);
  std::cout << "imported " << n << " labels (unchanged ones skipped)\n";
  return 0;
}

Registrar regE({"labels export", "--db FILE [--format csv|jsonl] [--out FILE|-] [--model-id ID]",
                "Export labels as CSV or JSONL with Neuronpedia's explanation field names", {}, &runExport});
Registrar regI({"labels import", "--db FILE [--format csv|jsonl] --in FILE",
                "Import labels exported by `labels export` (round trip without loss)", {}, &runImport});

}  // namespace
}  // namespace zs::cli
