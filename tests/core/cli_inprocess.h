#pragma once
// Runs zscope-cli in-process (the core tests link the commands): exit code, and
// stdout captured into *out when given. `quiet` appends --quiet.
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "app/cli/command.h"

namespace zs::test {

inline int runCli(std::vector<std::string> args, std::string* out = nullptr, bool quiet = true) {
  args.insert(args.begin(), "zscope-cli");
  if (quiet) args.push_back("--quiet");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  std::ostringstream captured;
  std::streambuf* old = out ? std::cout.rdbuf(captured.rdbuf()) : nullptr;
  const int rc = zs::cli::runMain(static_cast<int>(argv.size()), argv.data());
  if (out) {
    std::cout.rdbuf(old);
    *out = captured.str();
  }
  return rc;
}

}  // namespace zs::test
