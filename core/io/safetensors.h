#pragma once
// safetensors reader and writer, no torch: raw bytes, dtype and shape.
// The reader memory-maps the file and validates it the way the reference
// parser does (header length capped at 100 MB, valid JSON object, known dtypes,
// shape x dtype size == byte range, ranges inside the file, contiguous and
// non-overlapping, no duplicate names). Every failure throws zs::InputError
// naming the file and the problem.
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace zs::st {

enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL };

size_t dtypeSize(DType t);
const char* dtypeName(DType t);          // "F32", ...
bool parseDType(const std::string& s, DType* out);

struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // byte offsets relative to the data section
  int64_t numel() const;
};

class File {
 public:
  // Opens and validates; throws zs::InputError.
  static std::unique_ptr<File> open(const std::string& path);
  ~File();
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  const std::string& path() const { return path_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }  // in file order
  const TensorInfo* find(const std::string& name) const;               // nullptr if absent
  const TensorInfo& get(const std::string& name) const;                // throws InputError if absent
  const uint8_t* data(const TensorInfo& t) const;                      // pointer into the mapping
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  // Copies a tensor converted to float32 (from F64/F32/F16/BF16/I64/I32/I16/I8/U8/BOOL).
  std::vector<float> toFloat(const TensorInfo& t) const;

 private:
  File() = default;
  std::string path_;
  void* map_ = nullptr;
  size_t mapSize_ = 0;
  const uint8_t* dataStart_ = nullptr;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

struct WriteTensor {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const void* data = nullptr;  // numel * dtypeSize bytes, little-endian, row-major
};

// Writes atomically (temporary file in the same folder, fsync, rename).
// Throws zs::InputError on invalid input (duplicate names, ...) and
// std::runtime_error on I/O failure (disk full), leaving no partial file behind.
void write(const std::string& path, const std::vector<WriteTensor>& tensors,
           const std::map<std::string, std::string>& metadata = {});

// Half-precision helpers (also used by the torch bridge).
float halfToFloat(uint16_t h);
float bf16ToFloat(uint16_t h);
uint16_t floatToHalf(float f);
uint16_t floatToBf16(float f);

}  // namespace zs::st
