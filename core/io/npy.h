#pragma once
// NumPy .npy arrays and .npz archives (a zip of .npy files, stored or deflated),
// read defensively: every length, offset and size is checked against the file
// before it is used, and anything malformed is an InputError naming the file
// and the entry. No torch in this header.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace zs::npy {

struct Array {
  std::string descr;            // NumPy dtype string, e.g. "<f4"
  bool fortranOrder = false;
  std::vector<int64_t> shape;
  std::string bytes;            // raw element data, prod(shape) * itemsize bytes

  int64_t numel() const;
  // The values as float32 in C (row-major) order; InputError (naming
  // nameForErrors) for dtypes other than float16/32/64 and int32/64 (either byte order).
  std::vector<float> toFloat32(const std::string& nameForErrors) const;
};

// One .npy file's bytes -> array.
Array parse(const std::string& bytes, const std::string& nameForErrors);

// Every member of a .npz archive, keyed by name without the ".npy" suffix.
// Throws InputError for a missing, truncated or corrupt archive (CRC checked).
std::map<std::string, Array> readNpz(const std::string& path);

// Writers (tests and tools): a .npy file's bytes for float32 data, and a .npz
// archive (compress = deflated like np.savez_compressed, else stored like np.savez).
std::string toNpyBytes(const std::vector<int64_t>& shape, const float* data);
void writeNpz(const std::string& path, const std::vector<std::pair<std::string, std::string>>& members,
              bool compress);

}  // namespace zs::npy
