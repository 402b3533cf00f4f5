#pragma once
// Helpers shared by CLI commands (no torch): turning --prompt/--tokens into ids.
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/commands/command.h"
#include "core/db/db.h"
#include "core/model_config.h"

namespace zs::cli {

// The BOS id of a model folder: config bos_token_id, else the tokenizer's
// <|endoftext|>, else -1.
int64_t bosId(const Gpt2Config& cfg, const std::string& modelDir);

// Ids from --prompt TEXT (tokenized with the model folder's tokenizer, BOS
// prepended unless --no-bos), --text-file, or --tokens 1,2,3 (used exactly).
// Too many tokens for the context: InputError, or with --truncate keep the first
// n_positions tokens and say so on stderr. Empty input: InputError.
std::vector<int64_t> promptIds(const Args& a, const Gpt2Config& cfg, const std::string& modelDir);

// Opens the existing feature database named by --db (never creates one).
std::unique_ptr<db::Db> openExistingDb(const Args& a);

// --layer L and --feature F, both required and >= 0 (UsageError otherwise).
std::pair<int, int64_t> requireLayerFeature(const Args& a);

}  // namespace zs::cli
