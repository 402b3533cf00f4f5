#pragma once
// Error types shared by every part of core. The CLI maps them to exit codes:
// UsageError -> 2, InputError -> 3, anything else -> 1.
#include <stdexcept>
#include <string>

namespace zs {

// A problem with the way a command was invoked (bad flag, missing argument).
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Unreadable or malformed input: a file, a config, a prompt, a shape mismatch.
// The message names the file (when there is one) and what is wrong.
struct InputError : std::runtime_error {
  using std::runtime_error::runtime_error;
  InputError(const std::string& file, const std::string& what)
      : std::runtime_error(file + ": " + what) {}
};

// The user asked to stop (Ctrl+C, cancel button). Not an error to report loudly.
struct Cancelled : std::runtime_error {
  Cancelled() : std::runtime_error("cancelled") {}
};

}  // namespace zs
