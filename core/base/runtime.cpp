#include "core/base/runtime.h"

#include <torch/torch.h>

#include <fstream>
#include <iostream>
#include <set>
#include <thread>

#include "core/base/error.h"

namespace zs::runtime {

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
                  ", CUDA " + (cudaAvailable() ? "available" : "not available");
  if (blasIsReference())
    s += "\nWARNING: LibTorch is using the slow reference BLAS (" + lib +
         "); matrix products run ~25x slower. Install libopenblas0-openmp "
         "(apt-get install libopenblas0-openmp) to fix it.";
  return s;
}

void initialise(int n, bool quiet) {
  setThreads(n);
  if (blasIsReference()) {
    std::cerr << startupReport() << std::endl;
  } else if (!quiet && std::getenv("ZSCOPE_VERBOSE")) {
    std::cerr << startupReport() << std::endl;
  }
}

}  // namespace zs::runtime
