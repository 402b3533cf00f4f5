#pragma once
// Process-wide runtime settings that matter for speed. No torch in this header.
#include <string>

namespace zs::runtime {

// Sets LibTorch's intra-op thread count; n <= 0 means all cores.
void setThreads(int n);
int threads();
int hardwareThreads();

// The BLAS library LibTorch's CPU matmuls end up in (resolved path of the
// loaded libblas.so.3), and whether it is the slow reference implementation.
std::string blasLibrary();
bool blasIsReference();
// One start-up line: threads, BLAS, device; a WARNING when BLAS is the reference one.
// Also logged to stderr by initialise().
std::string startupReport();

// Call once at start-up: sets threads, checks BLAS (warning on stderr when slow).
void initialise(int threads, bool quiet = false);

bool cudaAvailable();
// "auto" | "cpu" | "cuda" -> "cpu" or "cuda"; throws UsageError for bad names
// and InputError when cuda is asked for but not available.
std::string resolveDevice(const std::string& name);

}  // namespace zs::runtime
