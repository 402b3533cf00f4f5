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

// Keeps freed tensor buffers in the process heap instead of returning them to the kernel (glibc only): by
// default glibc maps each buffer above its mmap threshold afresh and trims the heap top after a free, so every
// batch of a forward pass page-faults its activations in again. Measured on zscope-4l, batch 16 x 128, one
// thread: 1,200 -> 6,100 tokens/s. Leaves malloc alone when GLIBC_TUNABLES or MALLOC_*_ already tune it, or
// when ZSCOPE_MALLOC=default. Returns whether it changed anything.
bool tuneAllocator();
bool allocatorTuned();
// Whether the environment tunes glibc malloc itself or asks for its defaults (ZSCOPE_MALLOC=default).
bool mallocTunedByEnvironment();

// Call once at start-up: tunes the allocator, sets threads, checks BLAS (warning on stderr when slow).
void initialise(int threads, bool quiet = false);

bool cudaAvailable();
// "auto" | "cpu" | "cuda" -> "cpu" or "cuda"; throws UsageError for bad names
// and InputError when cuda is asked for but not available.
std::string resolveDevice(const std::string& name);

}  // namespace zs::runtime
