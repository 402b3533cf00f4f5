#pragma once
// Small torch-free helpers shared across core.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace zs {

// The whole file as bytes; InputError(path, "cannot open" + hint) when it cannot be read.
std::string readWholeFile(const std::string& path, const std::string& hint = {});

// 64-bit FNV-1a over n bytes, continuing from h (chain calls to hash several pieces).
constexpr uint64_t kFnv1aOffset = 1469598103934665603ULL;
uint64_t fnv1a(const void* data, size_t n, uint64_t h = kFnv1aOffset);
inline uint64_t fnv1a(const std::string& s, uint64_t h = kFnv1aOffset) { return fnv1a(s.data(), s.size(), h); }

// Converts "1,2,3" into ids; throws UsageError on bad syntax.
std::vector<int64_t> parseIdList(const std::string& s);

}  // namespace zs
