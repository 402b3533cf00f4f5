#pragma once
// The hook_z edit behind runIntervention (intervention.h), for core code and
// tests that run the model themselves. Internal to core (torch).
#include <torch/torch.h>

#include "core/intervention/intervention.h"
#include "core/model/model.h"

namespace zs {

struct Sae;

struct FeatureEdit {
  torch::Tensor before, after;  // [B, T]: feature iv.feature's activation, clean and as edited
  torch::Tensor deltaZ;         // z's shape: (after - before) * decoderDirection, zero where nothing changes
};

// The edit of iv on z [B, T, H, dh] (hook_z of the SAE's layer). InputError when
// iv.position or iv.feature is out of range.
FeatureEdit editFeature(const Sae& sae, const Intervention& iv, const torch::Tensor& z);
// A ZHook returning z + editFeature(...).deltaZ (z itself, bit for bit, when
// the edit changes nothing). `sae` must outlive the forward pass.
ZHook interventionHook(const Sae& sae, const Intervention& iv);

}  // namespace zs
