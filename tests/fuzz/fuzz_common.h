#pragma once
// Shared by the libFuzzer targets (issue 19): the input written to a file of
// this process (the readers take paths), and "an InputError is a correct
// answer; anything else escaping is a finding".
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "core/base/error.h"

namespace zs::fuzz {

inline std::string scratchDir() {
  static const std::string d = [] {
    const char* t = std::getenv("TMPDIR");
    std::string base = t && *t ? t : "/tmp";
    std::string dir = base + "/zscope-fuzz-" + std::to_string(::getpid());
    std::string cmd = "mkdir -p '" + dir + "'";
    if (std::system(cmd.c_str()) != 0) std::abort();
    return dir;
  }();
  return d;
}

inline std::string writeScratch(const std::string& name, const uint8_t* data, size_t size) {
  const std::string p = scratchDir() + "/" + name;
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return p;
}

// Runs fn; InputError and UsageError are the readers' documented answers to bad
// input. Any other exception is reported (libFuzzer treats abort as a crash).
template <class Fn>
void expectInputErrorsOnly(Fn&& fn) {
  try {
    fn();
  } catch (const zs::InputError&) {
  } catch (const zs::UsageError&) {
  } catch (const std::exception& e) {
    std::fprintf(stderr, "unexpected exception: %s\n", e.what());
    std::abort();
  }
}

}  // namespace zs::fuzz
