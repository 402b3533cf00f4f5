// libFuzzer: label imports (JSONL and CSV) into an in-memory feature database.
#include "core/db/db.h"
#include "core/db/labels.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  static auto db = zs::db::Db::open(":memory:");
  zs::fuzz::expectInputErrorsOnly([&] { (void)zs::db::importLabelsJsonl(*db, text, "fuzz.jsonl"); });
  zs::fuzz::expectInputErrorsOnly([&] { (void)zs::db::importLabelsCsv(*db, text, "fuzz.csv"); });
  return 0;
}
