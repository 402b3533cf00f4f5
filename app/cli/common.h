#pragma once
// Helpers shared by CLI commands (no torch): turning --prompt/--tokens into ids.
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "app/cli/command.h"
#include "core/db/db.h"
#include "core/session/session.h"

namespace zs::cli {

// Ids from --prompt TEXT or --prompt-file F (Session::encodePrompt: BOS unless
// --no-bos), or --tokens 1,2,3 (used exactly). Too many tokens for the context:
// InputError, or with --truncate keep the first ones and say so on stderr.
// Empty input: InputError.
std::vector<int64_t> promptIds(const Args& a, const Session& session);

// Session options from --device and --dtype.
SessionOptions sessionOptions(const Args& a);

// Opens the existing feature database named by --db (never creates one, and
// refuses a file that is not a Zscope database). Read-only unless `write`
// (a database in a read-only install tree stays viewable).
std::unique_ptr<db::Db> openExistingDb(const Args& a, bool write = false);

// --layer L and --feature F, both required and >= 0 (UsageError otherwise).
std::pair<int, int64_t> requireLayerFeature(const Args& a);

}  // namespace zs::cli

namespace zs::cli {

// --nproc N with N > 1, in a process that is not already a rank (no RANK /
// WORLD_SIZE in the environment): runs this same command as N local ranks
// (zs::dist::launchLocal; --threads, when not given, becomes cores / N per
// rank) and returns their exit code. Otherwise -1: go on in this process.
// UsageError for --nproc inside a torchrun/Slurm rank.
int launchRanksIfAsked(const Args& a);

}  // namespace zs::cli
