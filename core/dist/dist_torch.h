#pragma once
// Tensor collectives of a zs::dist::Group (internal to core, torch): what
// data-parallel training all-reduces. CPU tensors go through Gloo; CUDA tensors
// through NCCL when LibTorch has it (ZSCOPE_WITH_NCCL), else through Gloo on a
// CPU copy.
#include <torch/torch.h>

#include <vector>

#include "core/dist/dist.h"

namespace zs::dist {

// In place; every rank gets the same bits. Throws PeerFailure when a rank is gone.
void allReduceSum(Group& g, torch::Tensor& t);
// root's values into t on every rank (t must have the same shape and dtype everywhere).
void broadcast(Group& g, torch::Tensor& t, int root = 0);

}  // namespace zs::dist
