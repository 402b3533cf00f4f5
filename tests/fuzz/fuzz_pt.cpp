// libFuzzer: the restricted torch.save (.pt) reader: zip directory, pickle machine, tensor views.
#include "core/io/pt_reader.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = zs::fuzz::writeScratch("in.pt", data, size);
  zs::fuzz::expectInputErrorsOnly([&] { (void)zs::loadTorchStateDict(path); });
  return 0;
}
