// libFuzzer: corpora: the same bytes as a text file and as JSONL, read to the end.
#include "core/data/corpus.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  for (const char* fmt : {"text", "jsonl"}) {
    const std::string path = zs::fuzz::writeScratch(std::string("corpus.") + (fmt[0] == 't' ? "txt" : "jsonl"), data, size);
    zs::fuzz::expectInputErrorsOnly([&] {
      auto r = zs::DocumentReader::open(path, fmt);
      zs::Document d;
      for (int i = 0; i < 100000 && r->next(d); ++i) {
      }
    });
  }
  return 0;
}
