// Torch bridge for safetensors files: loading by name with shape checks, and
// saving torch tensors of any supported dtype.
#include "core/io/tensor_io.h"

#include <cstring>

#include "core/base/error.h"

namespace zs {
namespace {

torch::ScalarType toTorch(st::DType t) {
  switch (t) {
    case st::DType::F64: return torch::kFloat64;
    case st::DType::F32: return torch::kFloat32;
    case st::DType::F16: return torch::kFloat16;
    case st::DType::BF16: return torch::kBFloat16;
    case st::DType::I64: return torch::kInt64;
    case st::DType::I32: return torch::kInt32;
    case st::DType::I16: return torch::kInt16;
    case st::DType::I8: return torch::kInt8;
    case st::DType::U8: return torch::kUInt8;
    case st::DType::BOOL: return torch::kBool;
  }
  return torch::kFloat32;
}

bool fromTorch(torch::ScalarType t, st::DType* out) {
  switch (t) {
    case torch::kFloat64: *out = st::DType::F64; return true;
    case torch::kFloat32: *out = st::DType::F32; return true;
    case torch::kFloat16: *out = st::DType::F16; return true;
    case torch::kBFloat16: *out = st::DType::BF16; return true;
    case torch::kInt64: *out = st::DType::I64; return true;
    case torch::kInt32: *out = st::DType::I32; return true;
    case torch::kInt16: *out = st::DType::I16; return true;
    case torch::kInt8: *out = st::DType::I8; return true;
    case torch::kUInt8: *out = st::DType::U8; return true;
    case torch::kBool: *out = st::DType::BOOL; return true;
    default: return false;
  }
}

std::string shapeStr(const std::vector<int64_t>& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

}  // namespace

torch::Tensor loadTensorRaw(const st::File& f, const std::string& name) {
  const st::TensorInfo& t = f.get(name);
  // Copy rather than from_blob: the mapping may be unmapped before the tensor
  // dies, and the data section need not be aligned for the element type.
  torch::Tensor out = torch::empty(t.shape, torch::TensorOptions().dtype(toTorch(t.dtype)));
  const size_t bytes = t.end - t.begin;
  if (bytes) std::memcpy(out.data_ptr(), f.data(t), bytes);
  return out;
}

torch::Tensor loadTensor(const st::File& f, const std::string& name, const std::vector<int64_t>& expectShape,
                         torch::Device device) {
  const st::TensorInfo& t = f.get(name);
  if (!expectShape.empty() && t.shape != expectShape)
    throw InputError(f.path(), "tensor '" + name + "' has shape " + shapeStr(t.shape) + ", expected " +
                                   shapeStr(expectShape));
  torch::Tensor raw = loadTensorRaw(f, name);
  return raw.to(device, torch::kFloat32);
}

void saveTensors(const std::string& path, const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                 const std::map<std::string, std::string>& metadata) {
  // Keep the CPU-contiguous copies alive until the write is done.
  std::vector<torch::Tensor> keep;
  std::vector<st::WriteTensor> w;
  keep.reserve(tensors.size());
  w.reserve(tensors.size());
  for (const auto& [name, tensor] : tensors) {
    if (!tensor.defined()) throw InputError(path, "tensor '" + name + "' is undefined");
    st::WriteTensor wt;
    wt.name = name;
    if (!fromTorch(tensor.scalar_type(), &wt.dtype))
      throw InputError(path, "tensor '" + name + "' has dtype " + std::string(c10::toString(tensor.scalar_type())) +
                                 ", which safetensors does not support here");
    keep.push_back(tensor.detach().to(torch::kCPU).contiguous());
    wt.shape = keep.back().sizes().vec();
    wt.data = keep.back().data_ptr();
    w.push_back(std::move(wt));
  }
  st::write(path, w, metadata);
}

}  // namespace zs
