#pragma once
// A restricted reader for PyTorch's torch.save zip files holding a flat
// {name: tensor} dict or OrderedDict (internal to core, torch).
//
// LibTorch 1.13's torch::pickle_load cannot read an OrderedDict (what
// state_dict() returns) and would accept any pickle. This reader runs a small
// pickle machine that only knows the opcodes torch.save emits and only the
// globals a tensor state dict needs (collections.OrderedDict,
// torch._utils._rebuild_tensor_v2 / _rebuild_parameter, torch.*Storage).
// Anything else -> InputError. Nothing is ever executed.
#include <torch/torch.h>

#include <map>
#include <string>

namespace zs {

// Throws InputError naming the file and the problem (not a zip, compressed
// entries, legacy non-zip format, foreign globals, bad offsets, ...).
std::map<std::string, torch::Tensor> loadTorchStateDict(const std::string& path);

}  // namespace zs
