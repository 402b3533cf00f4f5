#include "core/base/runtime.h"

#include <torch/torch.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <fstream>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <set>
#include <thread>

#include "core/base/error.h"

namespace zs::runtime {

namespace {
bool g_allocatorTuned = false;
}  // namespace

bool mallocTunedByEnvironment() {
  const char* t = std::getenv("GLIBC_TUNABLES");
  if (t && std::strstr(t, "glibc.malloc.")) return true;
  for (const char* v : {"MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_"})
    if (std::getenv(v)) return true;
  const char* z = std::getenv("ZSCOPE_MALLOC");
  return z && std::string(z) == "default";
}

bool tuneAllocator() {
#if defined(__GLIBC__)
  if (g_allocatorTuned || mallocTunedByEnvironment()) return false;
  // Buffers up to 256 MiB (zscope-4l's logits for 16 x 128 tokens are 100 MiB) come from the heap and are
  // reused by the next batch; larger ones still get their own mapping. Trimming only above 1 GiB of free heap
  // top keeps the pages of the previous batch. Setting either disables glibc's dynamic threshold.
  const int mmapOk = mallopt(M_MMAP_THRESHOLD, 256 * 1024 * 1024);
  const int trimOk = mallopt(M_TRIM_THRESHOLD, 1024 * 1024 * 1024);
  g_allocatorTuned = mmapOk == 1 && trimOk == 1;
  return g_allocatorTuned;
#else
  return false;
#endif
}

bool allocatorTuned() { return g_allocatorTuned; }

void setThreads(int n) {
  if (n <= 0) n = hardwareThreads();
  torch::set_num_threads(n);
}

int threads() { return torch::get_num_threads(); }

int hardwareThreads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

std::string blasLibrary() {
  // The BLAS LibTorch calls is whatever libblas.so.3 the dynamic linker mapped
  // (Debian's alternatives pick reference BLAS, OpenBLAS, BLIS or MKL). Read the
  // resolved path from our own memory map.
  std::ifstream maps("/proc/self/maps");
  std::string line, found;
  std::set<std::string> seen;
  while (std::getline(maps, line)) {
    auto slash = line.find('/');
    if (slash == std::string::npos) continue;
    std::string path = line.substr(slash);
    if (seen.count(path)) continue;
    seen.insert(path);
    auto base = path.substr(path.rfind('/') + 1);
    if (base.rfind("libopenblas", 0) == 0 || base.rfind("libmkl", 0) == 0 || base.rfind("libblis", 0) == 0)
      return path;  // an optimised implementation is loaded
    if (base.rfind("libblas.so", 0) == 0 && found.empty()) found = path;
  }
  return found;
}

bool blasIsReference() {
  std::string lib = blasLibrary();
  if (lib.empty()) return false;  // statically linked / MKL build: not the Debian reference one
  return lib.find("openblas") == std::string::npos && lib.find("blis") == std::string::npos &&
         lib.find("mkl") == std::string::npos && lib.find("atlas") == std::string::npos;
}

bool cudaAvailable() { return torch::cuda::is_available(); }

std::string resolveDevice(const std::string& name) {
  if (name.empty() || name == "auto") return cudaAvailable() ? "cuda" : "cpu";
  if (name == "cpu") return "cpu";
  if (name == "cuda") {
    if (!cudaAvailable())
      throw InputError("--device cuda", "CUDA is not available (this LibTorch build or machine has no GPU); "
                                        "use --device cpu or auto");
    return "cuda";
  }
  throw UsageError("--device must be auto, cpu or cuda, got '" + name + "'");
}

std::string startupReport() {
  std::string lib = blasLibrary();
  std::string s = "zscope: " + std::to_string(threads()) + " threads, BLAS " + (lib.empty() ? "(built in)" : lib) +
                  ", CUDA " + (cudaAvailable() ? "available" : "not available") +
                  (allocatorTuned() ? ", malloc tuned" : ", malloc default");
  if (blasIsReference())
    s += "\nWARNING: LibTorch is using the slow reference BLAS (" + lib +
         "); matrix products run ~25x slower. Install libopenblas0-openmp "
         "(apt-get install libopenblas0-openmp) to fix it.";
  return s;
}

void initialise(int n, bool quiet) {
  tuneAllocator();
  setThreads(n);
  if (blasIsReference()) {
    std::cerr << startupReport() << std::endl;
  } else if (!quiet && std::getenv("ZSCOPE_VERBOSE")) {
    std::cerr << startupReport() << std::endl;
  }
}

}  // namespace zs::runtime
