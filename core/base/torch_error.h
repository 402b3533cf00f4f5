#pragma once
// Recognising LibTorch's errors without torch headers (for the CLI's exit codes).
#include <exception>

namespace zs {

// True for an error thrown by LibTorch (c10::Error and its subclasses: bad shapes,
// sizes, dtypes). Such errors come from shapes and sizes read from files, so the
// CLI treats them as input errors (exit 3).
bool isLibTorchError(const std::exception& e);

}  // namespace zs
