// libFuzzer: the one JSON parse every reader uses (nesting cap, NUL, trailing garbage).
#include "core/base/json_util.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  zs::fuzz::expectInputErrorsOnly([&] {
    nlohmann::json j = zs::parseJson(text, "fuzz.json", "input");
    nlohmann::json copy = j;  // copy, dump and compare recurse: they must stay within the cap
    (void)copy.dump();
    (void)(copy == j);
  });
  return 0;
}
