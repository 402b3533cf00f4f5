// libFuzzer: the JSON configs: a model's config.json, an SAE's cfg.json, a training config.
#include "core/model/model_config.h"
#include "core/sae/sae.h"
#include "core/train/train_model.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  zs::fuzz::expectInputErrorsOnly([&] { (void)zs::Gpt2Config::fromJsonText(text, "config.json"); });
  zs::fuzz::expectInputErrorsOnly([&] {
    auto c = zs::SaeConfig::fromJsonText(text, "cfg.json");
    (void)c.toJsonText();
  });
  zs::fuzz::expectInputErrorsOnly([&] { (void)zs::TrainConfig::fromJsonText(text, "train.json"); });
  return 0;
}
