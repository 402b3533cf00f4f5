// .npy / .npz reading (and a small writer for tests and tools). The zip reader
// follows the central directory (with zip64 extensions), checks every offset
// and size against the file length, inflates deflated members with zlib and
// verifies their CRC-32.
#include "core/io/npy.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>

#include "core/base/error.h"

namespace zs::npy {
namespace {

uint16_t le16(const unsigned char* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t le32(const unsigned char* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) | (static_cast<uint32_t>(p[2]) << 16) |
         (static_cast<uint32_t>(p[3]) << 24);
}
uint64_t le64(const unsigned char* p) { return static_cast<uint64_t>(le32(p)) | (static_cast<uint64_t>(le32(p + 4)) << 32); }

size_t itemSize(const std::string& descr) {
  if (descr.size() < 3) return 0;
  const std::string t = descr.substr(1);
  if (t == "f2") return 2;
  if (t == "f4" || t == "i4") return 4;
  if (t == "f8" || t == "i8") return 8;
  return 0;
}

// The value of `key` in the header dict text: the characters after "'key':".
std::string headerField(const std::string& h, const std::string& key, const std::string& name) {
  for (const char q : {'\'', '"'}) {
    const std::string k = std::string(1, q) + key + std::string(1, q);
    size_t i = h.find(k);
    if (i == std::string::npos) continue;
    i = h.find(':', i + k.size());
    if (i == std::string::npos) break;
    ++i;
    while (i < h.size() && h[i] == ' ') ++i;
    return h.substr(i);
  }
  throw InputError(name, "the .npy header has no '" + key + "'");
}

float halfToFloat(uint16_t h) {
  const uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) bits = sign;
    else {  // subnormal
      float f = std::ldexp(static_cast<float>(mant), -24);
      return (h & 0x8000u) ? -f : f;
    }
  } else if (exp == 31) bits = sign | 0x7f800000u | (mant << 13);
  else bits = sign | ((exp + 112) << 23) | (mant << 13);
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

}  // namespace

int64_t Array::numel() const {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return n;
}

Array parse(const std::string& b, const std::string& name) {
  static const char magic[] = "\x93NUMPY";
  if (b.size() < 10 || b.compare(0, 6, magic, 6) != 0) throw InputError(name, "not a .npy array (bad magic)");
  const auto* u = reinterpret_cast<const unsigned char*>(b.data());
  const int major = u[6];
  size_t hlen, hstart;
  if (major == 1) {
    hlen = le16(u + 8);
    hstart = 10;
  } else if (major == 2 || major == 3) {
    if (b.size() < 12) throw InputError(name, "truncated .npy header");
    hlen = le32(u + 8);
    hstart = 12;
  } else {
    throw InputError(name, ".npy format version " + std::to_string(major) + " is not supported");
  }
  if (hlen > b.size() - hstart) throw InputError(name, "truncated .npy header");
  const std::string h = b.substr(hstart, hlen);
  Array a;
  // descr
  std::string d = headerField(h, "descr", name);
  if (d.empty() || (d[0] != '\'' && d[0] != '"')) throw InputError(name, "unsupported .npy dtype (a structured array?)");
  size_t e = d.find(d[0], 1);
  if (e == std::string::npos) throw InputError(name, "malformed .npy header");
  a.descr = d.substr(1, e - 1);
  if (a.descr.size() == 3 && a.descr[0] == '=') a.descr[0] = '<';
  if (itemSize(a.descr) == 0 || (a.descr[0] != '<' && a.descr[0] != '>' && a.descr[0] != '|'))
    throw InputError(name, "dtype '" + a.descr + "' is not supported (float16/32/64, int32/64)");
  // fortran_order
  std::string f = headerField(h, "fortran_order", name);
  if (f.rfind("True", 0) == 0) a.fortranOrder = true;
  else if (f.rfind("False", 0) == 0) a.fortranOrder = false;
  else throw InputError(name, "malformed fortran_order in the .npy header");
  // shape
  std::string s = headerField(h, "shape", name);
  if (s.empty() || s[0] != '(') throw InputError(name, "malformed shape in the .npy header");
  size_t close = s.find(')');
  if (close == std::string::npos) throw InputError(name, "malformed shape in the .npy header");
  std::string inner = s.substr(1, close - 1);
  size_t i = 0;
  while (i < inner.size()) {
    while (i < inner.size() && (inner[i] == ' ' || inner[i] == ',')) ++i;
    if (i >= inner.size()) break;
    size_t j = i;
    while (j < inner.size() && inner[j] >= '0' && inner[j] <= '9') ++j;
    if (j == i || j - i > 15) throw InputError(name, "malformed shape in the .npy header");
    a.shape.push_back(std::stoll(inner.substr(i, j - i)));
    i = j;
    while (i < inner.size() && inner[i] == 'L') ++i;  // Python 2 longs
  }
  // size
  const size_t isz = itemSize(a.descr);
  unsigned __int128 bytes = isz;
  for (int64_t dim : a.shape) bytes *= static_cast<uint64_t>(dim);
  const size_t dataStart = hstart + hlen;
  if (bytes != static_cast<unsigned __int128>(b.size() - dataStart))
    throw InputError(name, "holds " + std::to_string(b.size() - dataStart) + " data bytes, its header (shape " +
                               std::to_string(a.shape.size()) + "-D, dtype " + a.descr + ") needs " +
                               std::to_string(static_cast<uint64_t>(bytes)) + " (truncated?)");
  a.bytes = b.substr(dataStart);
  return a;
}

std::vector<float> Array::toFloat32(const std::string& name) const {
  const size_t isz = itemSize(descr);
  const int64_t n = numel();
  if (isz == 0 || static_cast<size_t>(n) * isz != bytes.size()) throw InputError(name, "malformed array");
  const bool swap = descr[0] == '>';
  const char kind = descr[1];
  std::vector<float> out(static_cast<size_t>(n));
  unsigned char tmp[8];
  for (int64_t i = 0; i < n; ++i) {
    std::memcpy(tmp, bytes.data() + i * isz, isz);
    if (swap)
      for (size_t k = 0; k < isz / 2; ++k) std::swap(tmp[k], tmp[isz - 1 - k]);
    float v;
    if (kind == 'f' && isz == 4) std::memcpy(&v, tmp, 4);
    else if (kind == 'f' && isz == 8) {
      double d;
      std::memcpy(&d, tmp, 8);
      v = static_cast<float>(d);
    } else if (kind == 'f' && isz == 2) {
      uint16_t hv;
      std::memcpy(&hv, tmp, 2);
      v = halfToFloat(hv);
    } else if (kind == 'i' && isz == 4) {
      int32_t x;
      std::memcpy(&x, tmp, 4);
      v = static_cast<float>(x);
    } else if (kind == 'i' && isz == 8) {
      int64_t x;
      std::memcpy(&x, tmp, 8);
      v = static_cast<float>(x);
    } else {
      throw InputError(name, "dtype '" + descr + "' is not supported");
    }
    out[static_cast<size_t>(i)] = v;
  }
  if (fortranOrder && shape.size() > 1) {
    // Column-major -> row-major.
    std::vector<float> c(out.size());
    const size_t nd = shape.size();
    std::vector<int64_t> idx(nd, 0);
    for (int64_t lin = 0; lin < n; ++lin) {
      // idx is the row-major index of element lin; its column-major offset:
      int64_t off = 0, stride = 1;
      for (size_t k = 0; k < nd; ++k) {
        off += idx[k] * stride;
        stride *= shape[k];
      }
      c[static_cast<size_t>(lin)] = out[static_cast<size_t>(off)];
      for (size_t k = nd; k-- > 0;) {
        if (++idx[k] < shape[k]) break;
        idx[k] = 0;
      }
    }
    out.swap(c);
  }
  return out;
}

std::map<std::string, Array> readNpz(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path, "cannot open the .npz file");
  in.seekg(0, std::ios::end);
  const uint64_t fileSize = static_cast<uint64_t>(in.tellg());
  auto readAt = [&](uint64_t off, uint64_t len, const std::string& what) {
    if (off > fileSize || len > fileSize - off) throw InputError(path, "truncated .npz (" + what + " lies past the end of the file)");
    std::string buf(static_cast<size_t>(len), '\0');
    in.seekg(static_cast<std::streamoff>(off));
    in.read(buf.data(), static_cast<std::streamsize>(len));
    if (!in) throw InputError(path, "cannot read " + what);
    return buf;
  };
  if (fileSize < 22) throw InputError(path, "truncated .npz (not a zip archive: too short)");
  // End of central directory: the last 22..(22+65535) bytes.
  const uint64_t tailLen = std::min<uint64_t>(fileSize, 22 + 65535);
  const std::string tail = readAt(fileSize - tailLen, tailLen, "the end record");
  const auto* t = reinterpret_cast<const unsigned char*>(tail.data());
  int64_t eocd = -1;
  for (int64_t i = static_cast<int64_t>(tailLen) - 22; i >= 0; --i)
    if (le32(t + i) == 0x06054b50u) {
      eocd = i;
      break;
    }
  if (eocd < 0) throw InputError(path, "truncated or corrupt .npz (no zip end-of-central-directory record)");
  uint64_t nEntries = le16(t + eocd + 10), cdSize = le32(t + eocd + 12), cdOffset = le32(t + eocd + 16);
  const uint64_t eocdPos = fileSize - tailLen + static_cast<uint64_t>(eocd);
  if (nEntries == 0xffff || cdSize == 0xffffffffu || cdOffset == 0xffffffffu) {
    // Zip64 end record, located by the locator just before the end record.
    if (eocdPos < 20) throw InputError(path, "corrupt .npz (zip64 locator missing)");
    const std::string loc = readAt(eocdPos - 20, 20, "the zip64 locator");
    const auto* l = reinterpret_cast<const unsigned char*>(loc.data());
    if (le32(l) != 0x07064b50u) throw InputError(path, "corrupt .npz (zip64 locator missing)");
    const std::string z = readAt(le64(l + 8), 56, "the zip64 end record");
    const auto* zz = reinterpret_cast<const unsigned char*>(z.data());
    if (le32(zz) != 0x06064b50u) throw InputError(path, "corrupt .npz (bad zip64 end record)");
    nEntries = le64(zz + 32);
    cdSize = le64(zz + 40);
    cdOffset = le64(zz + 48);
  }
  if (nEntries > 100000) throw InputError(path, "corrupt .npz (implausible entry count)");
  const std::string cd = readAt(cdOffset, cdSize, "the central directory");
  const auto* c = reinterpret_cast<const unsigned char*>(cd.data());
  std::map<std::string, Array> out;
  uint64_t p = 0;
  for (uint64_t e = 0; e < nEntries; ++e) {
    if (p + 46 > cdSize || le32(c + p) != 0x02014b50u) throw InputError(path, "corrupt .npz central directory");
    const uint16_t flags = le16(c + p + 8), method = le16(c + p + 10);
    const uint32_t crc = le32(c + p + 16);
    uint64_t csize = le32(c + p + 20), usize = le32(c + p + 24);
    const uint16_t nameLen = le16(c + p + 28), extraLen = le16(c + p + 30), commentLen = le16(c + p + 32);
    uint64_t localOff = le32(c + p + 42);
    if (p + 46 + nameLen + extraLen + commentLen > cdSize) throw InputError(path, "corrupt .npz central directory");
    std::string name(reinterpret_cast<const char*>(c + p + 46), nameLen);
    // Zip64 extra field: the 64-bit values of the fields that read 0xffffffff, in order.
    const unsigned char* x = c + p + 46 + nameLen;
    for (uint32_t q = 0; q + 4 <= extraLen;) {
      const uint16_t id = le16(x + q), len = le16(x + q + 2);
      if (q + 4 + len > extraLen) break;
      if (id == 0x0001) {
        uint32_t r = q + 4;
        auto take = [&](uint64_t& v) {
          if (v != 0xffffffffu) return;
          if (r + 8 > q + 4u + len) throw InputError(path, "corrupt .npz (short zip64 field for " + name + ")");
          v = le64(x + r);
          r += 8;
        };
        take(usize);
        take(csize);
        take(localOff);
      }
      q += 4u + len;
    }
    p += 46ull + nameLen + extraLen + commentLen;
    if (flags & 1u) throw InputError(path, "member " + name + " is encrypted");
    if (method != 0 && method != 8)
      throw InputError(path, "member " + name + " uses zip compression method " + std::to_string(method) +
                                 " (only stored and deflate are supported)");
    const std::string lh = readAt(localOff, 30, "the local header of " + name);
    const auto* L = reinterpret_cast<const unsigned char*>(lh.data());
    if (le32(L) != 0x04034b50u) throw InputError(path, "corrupt .npz (bad local header for " + name + ")");
    const uint64_t dataOff = localOff + 30 + le16(L + 26) + le16(L + 28);
    if (usize > (uint64_t{1} << 40)) throw InputError(path, "member " + name + " is implausibly large");
    const std::string comp = readAt(dataOff, csize, "member " + name);
    std::string data;
    if (method == 0) {
      if (csize != usize) throw InputError(path, "corrupt .npz (stored member " + name + " has two sizes)");
      data = comp;
    } else {
      data.assign(static_cast<size_t>(usize), '\0');
      z_stream zs{};
      if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) throw std::runtime_error("zlib: inflateInit2 failed");
      zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(comp.data()));
      zs.avail_in = static_cast<uInt>(comp.size());  // members over 4 GiB compressed are not expected
      zs.next_out = reinterpret_cast<Bytef*>(data.data());
      zs.avail_out = static_cast<uInt>(data.size());
      int rc = Z_OK;
      while (rc == Z_OK) rc = inflate(&zs, Z_FINISH);
      const uint64_t got = zs.total_out;
      inflateEnd(&zs);
      if (rc != Z_STREAM_END || got != usize)
        throw InputError(path, "corrupt or truncated .npz (member " + name + " does not inflate to its size)");
    }
    uLong crcv = crc32(0L, Z_NULL, 0);
    for (size_t off = 0; off < data.size(); off += (1u << 30)) {
      const size_t n = std::min<size_t>(data.size() - off, 1u << 30);
      crcv = crc32(crcv, reinterpret_cast<const Bytef*>(data.data() + off), static_cast<uInt>(n));
    }
    if (static_cast<uint32_t>(crcv) != crc) throw InputError(path, "corrupt .npz (CRC mismatch in member " + name + ")");
    std::string key = name;
    if (key.size() > 4 && key.compare(key.size() - 4, 4, ".npy") == 0) key.resize(key.size() - 4);
    out[key] = parse(data, path + ":" + name);
  }
  return out;
}

std::string toNpyBytes(const std::vector<int64_t>& shape, const float* data) {
  std::string shp = "(";
  int64_t n = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    shp += std::to_string(shape[i]);
    shp += (shape.size() == 1 || i + 1 < shape.size()) ? "," : "";
    if (i + 1 < shape.size()) shp += " ";
    n *= shape[i];
  }
  shp += ")";
  std::string h = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shp + ", }";
  while ((10 + h.size() + 1) % 64 != 0) h += ' ';
  h += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(h.size() & 0xff);
  out += static_cast<char>((h.size() >> 8) & 0xff);
  out += h;
  out.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n) * 4);
  return out;
}

void writeNpz(const std::string& path, const std::vector<std::pair<std::string, std::string>>& members, bool compress) {
  auto put16 = [](std::string& s, uint32_t v) {
    s += static_cast<char>(v & 0xff);
    s += static_cast<char>((v >> 8) & 0xff);
  };
  auto put32 = [&](std::string& s, uint32_t v) {
    put16(s, v & 0xffff);
    put16(s, v >> 16);
  };
  std::string file, cd;
  for (const auto& [key, data] : members) {
    const std::string name = key + ".npy";
    std::string comp = data;
    if (compress) {
      z_stream zs{};
      deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
      comp.assign(deflateBound(&zs, static_cast<uLong>(data.size())), '\0');
      zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
      zs.avail_in = static_cast<uInt>(data.size());
      zs.next_out = reinterpret_cast<Bytef*>(comp.data());
      zs.avail_out = static_cast<uInt>(comp.size());
      deflate(&zs, Z_FINISH);
      comp.resize(zs.total_out);
      deflateEnd(&zs);
    }
    const uint32_t crc = static_cast<uint32_t>(
        crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
    const uint32_t off = static_cast<uint32_t>(file.size());
    const uint16_t method = compress ? 8 : 0;
    put32(file, 0x04034b50u);
    put16(file, 20), put16(file, 0), put16(file, method), put16(file, 0), put16(file, 0x21);
    put32(file, crc), put32(file, static_cast<uint32_t>(comp.size())), put32(file, static_cast<uint32_t>(data.size()));
    put16(file, static_cast<uint32_t>(name.size())), put16(file, 0);
    file += name;
    file += comp;
    put32(cd, 0x02014b50u);
    put16(cd, 20), put16(cd, 20), put16(cd, 0), put16(cd, method), put16(cd, 0), put16(cd, 0x21);
    put32(cd, crc), put32(cd, static_cast<uint32_t>(comp.size())), put32(cd, static_cast<uint32_t>(data.size()));
    put16(cd, static_cast<uint32_t>(name.size())), put16(cd, 0), put16(cd, 0), put16(cd, 0), put16(cd, 0);
    put32(cd, 0), put32(cd, off);
    cd += name;
  }
  const uint32_t cdOff = static_cast<uint32_t>(file.size());
  file += cd;
  put32(file, 0x06054b50u);
  put16(file, 0), put16(file, 0), put16(file, static_cast<uint32_t>(members.size())),
      put16(file, static_cast<uint32_t>(members.size()));
  put32(file, static_cast<uint32_t>(cd.size())), put32(file, cdOff), put16(file, 0);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(file.data(), static_cast<std::streamsize>(file.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

}  // namespace zs::npy
