// libFuzzer: safetensors files (header, offsets, dtypes) and converting every tensor.
#include "core/io/safetensors.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = zs::fuzz::writeScratch("in.safetensors", data, size);
  zs::fuzz::expectInputErrorsOnly([&] {
    auto f = zs::st::File::open(path);
    for (const auto& t : f->tensors()) {
      if (t.end - t.begin <= (64u << 20)) (void)f->toFloat(t);
    }
  });
  return 0;
}
