// safetensors reader (mmap, read-only) and atomic writer. The validation
// mirrors the reference Rust parser (huggingface/safetensors): a file that it
// would reject is rejected here too, with a message naming the file and the
// problem, so that a corrupt download never reaches the model code.
#include "core/io/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "core/base/error.h"

namespace zs::st {
namespace {

// Plain json (std::map, O(log n) lookups): ordered_json searches linearly and
// makes a 10k-tensor header quadratic. Header order is recorded separately.
using ojson = nlohmann::json;

// Same cap as the reference parser: a header larger than this is not a
// plausible safetensors file and would only make us allocate a lot.
constexpr uint64_t kMaxHeaderSize = 100'000'000;

std::string sysError(const std::string& what) { return what + ": " + std::strerror(errno); }

// Strict UTF-8 check (no overlongs, no surrogates, max U+10FFFF), like Rust's from_utf8.
bool validUtf8(const uint8_t* s, size_t n) {
  size_t i = 0;
  while (i < n) {
    uint8_t c = s[i];
    if (c < 0x80) { ++i; continue; }
    size_t len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07; }
    else return false;
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) return false;
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

// A JSON value that is a non-negative integer (not 2.0, not -1, not "3").
bool asU64(const ojson& v, uint64_t* out) {
  if (v.is_number_unsigned()) { *out = v.get<uint64_t>(); return true; }
  if (v.is_number_integer() && v.get<int64_t>() >= 0) { *out = static_cast<uint64_t>(v.get<int64_t>()); return true; }
  return false;
}

// A light SAX pass before building the DOM. nlohmann keeps only one of two
// duplicate keys silently, so duplicates are caught here; it also records the
// header order of the top-level keys (std::map sorts them) and refuses deep
// nesting: a real header is 3 levels deep, and a hostile 100 MB "[[[[..." should
// fail in microseconds, not cost seconds and hundreds of MB. (nlohmann's
// parse-callback API would do the same but is quadratic in the entry count.)
template <class Fail>
struct HeaderScan {
  const Fail& fail;
  std::vector<std::set<std::string>> keys;  // one set per open object
  std::vector<std::string> order;           // top-level keys in header order
  size_t depth = 0;

  bool open() {
    if (++depth > 16) fail("header JSON is nested too deeply");
    return true;
  }
  bool start_object(size_t) { keys.emplace_back(); return open(); }
  bool end_object() { keys.pop_back(); --depth; return true; }
  bool start_array(size_t) { return open(); }
  bool end_array() { --depth; return true; }
  bool key(std::string& k) {
    if (!keys.back().insert(k).second) fail("header has a duplicate key '" + k + "'");
    if (depth == 1) order.push_back(k);
    return true;
  }
  bool null() { return true; }
  bool boolean(bool) { return true; }
  bool number_integer(int64_t) { return true; }
  bool number_unsigned(uint64_t) { return true; }
  bool number_float(double, const std::string&) { return true; }
  bool string(std::string&) { return true; }
  bool binary(ojson::binary_t&) { return true; }
  bool parse_error(size_t, const std::string&, const nlohmann::detail::exception& e) {
    fail(std::string("header is not valid JSON: ") + e.what());
    return false;
  }
};

std::string shapeStr(const std::vector<int64_t>& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

// numel * elemSize without overflow; false on overflow.
bool byteSize(const std::vector<int64_t>& shape, size_t elemSize, uint64_t* out) {
  uint64_t n = elemSize;
  for (int64_t d : shape) {
    if (d < 0 || __builtin_mul_overflow(n, static_cast<uint64_t>(d), &n)) return false;
  }
  *out = n;
  return true;
}

// Parses one tensor entry of the header; `fail` throws InputError.
template <class Fail>
TensorInfo parseEntry(const std::string& name, const ojson& v, const Fail& fail) {
  const std::string where = "tensor '" + name + "'";
  if (!v.is_object()) fail(where + ": header entry is not an object");
  TensorInfo t;
  t.name = name;
  auto dt = v.find("dtype");
  if (dt == v.end() || !dt->is_string()) fail(where + ": missing or non-string \"dtype\"");
  if (!parseDType(dt->get<std::string>(), &t.dtype)) fail(where + ": unknown dtype '" + dt->get<std::string>() + "'");
  auto sh = v.find("shape");
  if (sh == v.end() || !sh->is_array()) fail(where + ": missing or non-array \"shape\"");
  for (const auto& d : *sh) {
    uint64_t u;
    if (!asU64(d, &u) || u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      fail(where + ": shape entry " + d.dump() + " is not a non-negative integer");
    t.shape.push_back(static_cast<int64_t>(u));
  }
  auto off = v.find("data_offsets");
  if (off == v.end() || !off->is_array() || off->size() != 2 || !asU64((*off)[0], &t.begin) ||
      !asU64((*off)[1], &t.end))
    fail(where + ": \"data_offsets\" must be [begin, end] with non-negative integers");
  if (t.begin > t.end)
    fail(where + ": invalid offsets: begin " + std::to_string(t.begin) + " > end " + std::to_string(t.end));
  uint64_t bytes;
  if (!byteSize(t.shape, dtypeSize(t.dtype), &bytes))
    fail(where + ": shape " + shapeStr(t.shape) + " overflows the byte size");
  if (bytes != t.end - t.begin)
    fail(where + ": shape/size mismatch: shape " + shapeStr(t.shape) + " x " + dtypeName(t.dtype) + " needs " +
         std::to_string(bytes) + " bytes but data_offsets span " + std::to_string(t.end - t.begin));
  return t;
}

}  // namespace

size_t dtypeSize(DType t) {
  switch (t) {
    case DType::F64: case DType::I64: return 8;
    case DType::F32: case DType::I32: return 4;
    case DType::F16: case DType::BF16: case DType::I16: return 2;
    case DType::I8: case DType::U8: case DType::BOOL: return 1;
  }
  return 0;
}

const char* dtypeName(DType t) {
  switch (t) {
    case DType::F64: return "F64";
    case DType::F32: return "F32";
    case DType::F16: return "F16";
    case DType::BF16: return "BF16";
    case DType::I64: return "I64";
    case DType::I32: return "I32";
    case DType::I16: return "I16";
    case DType::I8: return "I8";
    case DType::U8: return "U8";
    case DType::BOOL: return "BOOL";
  }
  return "?";
}

bool parseDType(const std::string& s, DType* out) {
  static const DType all[] = {DType::F64, DType::F32, DType::F16, DType::BF16, DType::I64,
                              DType::I32, DType::I16, DType::I8,  DType::U8,   DType::BOOL};
  for (DType t : all) {
    if (s == dtypeName(t)) { *out = t; return true; }
  }
  return false;
}

int64_t TensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;  // validated against overflow when read
  return n;
}

std::unique_ptr<File> File::open(const std::string& path) {
  std::unique_ptr<File> f(new File());
  f->path_ = path;
  auto fail = [&](const std::string& what) { throw InputError(path, what); };

  // O_NONBLOCK: opening a FIFO by mistake must not hang (it is refused below).
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) fail(sysError("cannot open safetensors file"));
  struct stat stt {};
  if (::fstat(fd, &stt) != 0 || !S_ISREG(stt.st_mode)) {
    ::close(fd);
    fail("not a regular file");
  }
  const uint64_t fileSize = static_cast<uint64_t>(stt.st_size);
  if (fileSize < 8) {
    ::close(fd);
    fail("file is too small (" + std::to_string(fileSize) + " bytes) to hold the 8-byte header length");
  }
  void* m = ::mmap(nullptr, fileSize, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);  // the mapping keeps the file alive
  if (m == MAP_FAILED) fail(sysError("cannot memory-map file"));
  f->map_ = m;
  f->mapSize_ = fileSize;  // from here on ~File() unmaps on any throw
  const auto* bytes = static_cast<const uint8_t*>(m);

  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[i];  // little-endian on any host
  if (n > kMaxHeaderSize)
    fail("header length " + std::to_string(n) + " exceeds the 100 MB limit (corrupt or not a safetensors file)");
  if (n > fileSize - 8)
    fail("header length " + std::to_string(n) + " runs past the end of the file (" + std::to_string(fileSize) +
         " bytes); file truncated?");
  const uint8_t* hdr = bytes + 8;
  if (!validUtf8(hdr, n)) fail("header is not valid UTF-8");

  const char* hb = reinterpret_cast<const char*>(hdr);
  HeaderScan<decltype(fail)> scan{fail, {}, {}, 0};
  ojson h;
  try {
    ojson::sax_parse(hb, hb + n, &scan);  // throws InputError, parse errors included
    h = ojson::parse(hb, hb + n);
  } catch (const nlohmann::json::exception& e) {
    fail(std::string("header is not valid JSON: ") + e.what());
  }
  if (!h.is_object()) fail(std::string("header is not a JSON object (found ") + h.type_name() + ")");

  for (const std::string& key : scan.order) {
    const ojson& v = h.at(key);
    if (key == "__metadata__") {
      if (v.is_null()) continue;
      if (!v.is_object()) fail("\"__metadata__\" is not an object of strings");
      for (auto m2 = v.begin(); m2 != v.end(); ++m2) {
        if (!m2->is_string()) fail("\"__metadata__\" value for '" + m2.key() + "' is not a string");
        f->metadata_[m2.key()] = m2->get<std::string>();
      }
      continue;
    }
    f->tensors_.push_back(parseEntry(key, v, fail));
  }

  // Sorted by begin, the byte ranges must tile the data section exactly:
  // no gap, no overlap, nothing left over (reference: InvalidOffset /
  // MetadataIncompleteBuffer). Stable sort keeps header order for empty tensors.
  std::stable_sort(f->tensors_.begin(), f->tensors_.end(),
                   [](const TensorInfo& a, const TensorInfo& b) { return a.begin < b.begin; });
  const uint64_t dataSize = fileSize - 8 - n;
  uint64_t pos = 0;
  for (const TensorInfo& t : f->tensors_) {
    if (t.begin < pos)
      fail("tensor '" + t.name + "': data_offsets [" + std::to_string(t.begin) + ", " + std::to_string(t.end) +
           "] overlap the previous tensor (which ends at " + std::to_string(pos) + ")");
    if (t.begin > pos)
      fail("tensor '" + t.name + "': gap in the data section: begins at " + std::to_string(t.begin) +
           " but the previous tensor ends at " + std::to_string(pos));
    if (t.end > dataSize)
      fail("tensor '" + t.name + "': data_offsets end " + std::to_string(t.end) + " is out of range: data section has " +
           std::to_string(dataSize) + " bytes (file truncated?)");
    pos = t.end;
  }
  if (pos != dataSize)
    fail("data section has " + std::to_string(dataSize) + " bytes but the tensors cover only " + std::to_string(pos) +
         " (trailing bytes or missing tensor entries)");

  for (size_t i = 0; i < f->tensors_.size(); ++i) f->index_[f->tensors_[i].name] = i;
  f->dataStart_ = hdr + n;
  return f;
}

File::~File() {
  if (map_) ::munmap(map_, mapSize_);
}

const TensorInfo* File::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

const TensorInfo& File::get(const std::string& name) const {
  const TensorInfo* t = find(name);
  if (!t) throw InputError(path_, "no tensor named '" + name + "'");
  return *t;
}

const uint8_t* File::data(const TensorInfo& t) const { return dataStart_ + t.begin; }

std::vector<float> File::toFloat(const TensorInfo& t) const {
  const size_t n = static_cast<size_t>(t.numel());
  std::vector<float> out(n);
  const uint8_t* p = data(t);
  // memcpy per element: the data section need not be aligned for the type.
  auto conv = [&](auto zero, auto fn) {
    using T = decltype(zero);
    for (size_t i = 0; i < n; ++i) {
      T v;
      std::memcpy(&v, p + i * sizeof(T), sizeof(T));
      out[i] = fn(v);
    }
  };
  auto cast = [](auto v) { return static_cast<float>(v); };
  switch (t.dtype) {
    case DType::F64: conv(double{}, cast); break;
    case DType::F32: if (n) std::memcpy(out.data(), p, n * 4); break;
    case DType::F16: conv(uint16_t{}, halfToFloat); break;
    case DType::BF16: conv(uint16_t{}, bf16ToFloat); break;
    case DType::I64: conv(int64_t{}, cast); break;
    case DType::I32: conv(int32_t{}, cast); break;
    case DType::I16: conv(int16_t{}, cast); break;
    case DType::I8: conv(int8_t{}, cast); break;
    case DType::U8: conv(uint8_t{}, cast); break;
    case DType::BOOL: conv(uint8_t{}, [](uint8_t v) { return v ? 1.0f : 0.0f; }); break;
  }
  return out;
}

// ---------------------------------------------------------------- writer

namespace {

// Writes everything or throws; retries short writes and EINTR.
void writeAll(int fd, const void* buf, size_t n, const std::string& tmp) {
  const auto* p = static_cast<const uint8_t*>(buf);
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) throw std::runtime_error(sysError(tmp + ": write failed"));
    p += w;
    n -= static_cast<size_t>(w);
  }
}

}  // namespace

void write(const std::string& path, const std::vector<WriteTensor>& tensors,
           const std::map<std::string, std::string>& metadata) {
  // Header first: validate names and shapes before touching the disk. Built
  // piece by piece to keep the given order without ordered_json's linear lookups.
  auto utf8 = [](const std::string& x) { return validUtf8(reinterpret_cast<const uint8_t*>(x.data()), x.size()); };
  for (const auto& [k, v] : metadata)
    if (!utf8(k) || !utf8(v)) throw InputError(path, "metadata entry '" + k + "' is not valid UTF-8");
  std::string header = "{";
  if (!metadata.empty()) header += "\"__metadata__\":" + ojson(metadata).dump();
  std::set<std::string> seen;
  std::vector<uint64_t> sizes;
  uint64_t pos = 0;
  for (const WriteTensor& t : tensors) {
    if (t.name == "__metadata__") throw InputError(path, "tensor name '__metadata__' is reserved");
    if (!utf8(t.name)) throw InputError(path, "tensor name '" + t.name + "' is not valid UTF-8");
    if (!seen.insert(t.name).second) throw InputError(path, "duplicate tensor name '" + t.name + "'");
    uint64_t bytes;
    if (!byteSize(t.shape, dtypeSize(t.dtype), &bytes))
      throw InputError(path, "tensor '" + t.name + "': invalid shape " + shapeStr(t.shape));
    if (bytes > 0 && !t.data) throw InputError(path, "tensor '" + t.name + "': no data");
    const ojson e = {{"dtype", dtypeName(t.dtype)}, {"shape", t.shape}, {"data_offsets", {pos, pos + bytes}}};
    if (header.size() > 1) header += ',';
    header += ojson(t.name).dump() + ":" + e.dump();
    sizes.push_back(bytes);
    pos += bytes;
  }
  header += '}';
  header.append((8 - header.size() % 8) % 8, ' ');  // data section 8-byte aligned, as the reference does
  uint8_t len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(static_cast<uint64_t>(header.size()) >> (8 * i));

  // Temporary file next to the target so that rename() is atomic.
  static std::atomic<unsigned> counter{0};
  const auto slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  std::string tmp;
  int fd = -1;
  for (int attempt = 0; fd < 0; ++attempt) {
    tmp = dir + "/." + base + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && (errno != EEXIST || attempt > 100))
      throw InputError(path, sysError("cannot create file in folder '" + dir + "'"));
  }
  try {
    writeAll(fd, len, 8, tmp);
    writeAll(fd, header.data(), header.size(), tmp);
    for (size_t i = 0; i < tensors.size(); ++i)
      if (sizes[i]) writeAll(fd, tensors[i].data, sizes[i], tmp);
    if (::fsync(fd) != 0) throw std::runtime_error(sysError(tmp + ": fsync failed"));
    if (::close(fd) != 0) { fd = -1; throw std::runtime_error(sysError(tmp + ": close failed")); }
    fd = -1;
    if (::rename(tmp.c_str(), path.c_str()) != 0)
      throw std::runtime_error(sysError(path + ": cannot replace file"));
  } catch (...) {
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  // Make the rename itself durable; failure here is not worth an error.
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) { ::fsync(dfd); ::close(dfd); }
}

// ---------------------------------------------------------------- half floats

float halfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  const uint32_t exp = (h >> 10) & 0x1F, man = h & 0x3FF;
  uint32_t bits;
  if (exp == 0x1F) {
    bits = sign | 0x7F800000u | (man << 13);  // inf / NaN (payload kept)
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (man << 13);  // rebias 15 -> 127
  } else {
    // zero or subnormal: man * 2^-24, exact in float
    float v = static_cast<float>(man) * 5.9604644775390625e-8f;
    std::memcpy(&bits, &v, 4);
    bits |= sign;
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

float bf16ToFloat(uint16_t h) {
  uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t floatToHalf(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000);
  const uint32_t ax = x & 0x7FFFFFFFu;
  if (ax >= 0x7F800000u)  // inf or NaN (NaN stays quiet NaN)
    return sign | (ax > 0x7F800000u ? 0x7E00 : 0x7C00);
  if (ax >= 0x477FF000u) return sign | 0x7C00;  // >= 65520 rounds to inf
  if (ax < 0x38800000u) {
    // Result is subnormal or zero: value / 2^-24 rounded to nearest even.
    if (ax < 0x33000000u) return sign;  // < 2^-25: rounds to zero (2^-25 itself ties to even 0)
    const uint32_t e = ax >> 23, m = (ax & 0x7FFFFF) | 0x800000;
    const uint32_t shift = 126 - e;  // bits to drop so that the unit is 2^-24
    uint32_t r = m >> shift;
    const uint32_t rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (r & 1))) ++r;
    return sign | static_cast<uint16_t>(r);
  }
  // Normal: rebias and round the 13 dropped mantissa bits to nearest even;
  // a carry into the exponent is the correct result (up to inf at 65520).
  uint32_t r = ax - 0x38000000u;
  r += 0x0FFF + ((r >> 13) & 1);
  return sign | static_cast<uint16_t>(r >> 13);
}

uint16_t floatToBf16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>((x >> 16) | 0x40);  // quiet NaN
  x += 0x7FFF + ((x >> 16) & 1);  // round to nearest even
  return static_cast<uint16_t>(x >> 16);
}

}  // namespace zs::st
