#pragma once
// Loading what the attribution commands need (model folder, SAE folders,
// tokenizer) and turning --prompt / --tokens into ids. Torch-free header.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/tokenizer.h"

namespace zs {

class Gpt2;
struct Sae;

struct AttributionSetup {
  std::string modelDir;
  std::shared_ptr<Gpt2> model;
  std::vector<std::shared_ptr<Sae>> saes;  // sorted by layer
  std::unique_ptr<Tokenizer> tokenizer;    // null when the model folder has none and none was needed

  // modelArg: a folder or "default" (zs::paths::resolveModel). Each SAE is
  // checked against the model (hook_z of an existing layer, d_in); two SAEs
  // for one layer are an InputError. needTokenizer: InputError when the model
  // folder has no vocab.json/merges.txt.
  static AttributionSetup load(const std::string& modelArg, const std::vector<std::string>& saeDirs,
                               bool needTokenizer);

  std::vector<const Sae*> saePtrs() const;
  // BOS id: config bos_token_id, else the tokenizer's <|endoftext|>; -1 if neither.
  int64_t bosId() const;
  // Text (tokenized) or "1,2,3" ids; BOS prepended when `bos`. InputError when
  // longer than the model's context, empty, or BOS is asked for but unknown.
  std::vector<int64_t> tokensFromPrompt(const std::string& text, bool bos) const;
  std::vector<int64_t> tokensFromIds(const std::string& ids, bool bos) const;
  // Display strings for labels (token ids when there is no tokenizer).
  std::vector<std::string> tokenLabels(const std::vector<int64_t>& ids) const;
  int64_t contextLength() const;
};

}  // namespace zs
