#pragma once
// One open model as the CLI commands and the GUI worker use it: the model, its
// tokenizer, the SAEs that fit it, THE BOS rule and prompt -> ids. Every
// command and the Engine go through it, so these rules exist once. Torch-free
// header (the model and SAEs are opaque here; core code includes their headers).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/base/progress.h"
#include "core/model/model_spec.h"

namespace zs {

class Model;
class Tokenizer;

struct Sae;

struct SessionOptions {
  std::string device = "auto";  // auto | cpu | cuda
  std::string dtype = "auto";   // auto | float32 | bfloat16 (see core/model/load.h)
  bool needTokenizer = false;   // InputError when the folder has no tokenizer files
};

class Session {
 public:
  // modelArg: a folder or "default" (paths::resolveModel). Reports its stages to
  // `progress`; throws Cancelled when it is cancelled, InputError for bad input.
  static std::unique_ptr<Session> open(const std::string& modelArg, const SessionOptions& opts = {},
                                       const Progress& progress = {});
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  const std::string& modelDir() const;
  const std::string& device() const;  // "cpu" or "cuda"
  const Model& model() const;
  std::shared_ptr<const Model> sharedModel() const;
  const ModelSpec& spec() const;
  const Tokenizer* tokenizer() const;          // null when the folder has none
  const Tokenizer& requireTokenizer() const;   // InputError naming the folder

  // Reads an SAE folder onto the model's device and checks that it fits this
  // model (hook_z of an existing layer, d_in = n_heads * d_head): InputError otherwise.
  std::shared_ptr<Sae> readSae(const std::string& dir) const;
  // Replaces the loaded SAEs (each checked; at most one per layer; kept sorted by layer).
  void setSaes(std::vector<std::shared_ptr<Sae>> saes);
  // readSae for each folder, then setSaes: all or nothing. A folder without
  // cfg.json stands for every SAE folder directly below it (saeFolders).
  void loadSaes(const std::vector<std::string>& dirs, const Progress& progress = {});
  static std::vector<std::string> saeFolders(const std::vector<std::string>& dirs);
  const std::vector<std::shared_ptr<Sae>>& saes() const;
  std::vector<const Sae*> saePtrs() const;
  const Sae* saeOfLayer(int64_t layer) const;  // null when no SAE is loaded for it

  // The BOS rule: config.json's bos_token_id, else the tokenizer's BOS
  // (GPT-2: <|endoftext|>), else -1.
  int64_t bosId() const;
  // Text -> ids. With `bos`: a tokenizer with its own template (tokenizer.json
  // post-processor, add_bos_token) adds what the model expects; otherwise bosId()
  // is prepended (InputError when there is none). Then checkIds.
  std::vector<int64_t> encodePrompt(const std::string& text, bool bos) const;
  // Non-empty, every id below the vocabulary size, and at most contextLength()
  // ids (InputError naming the problem). With truncate, longer prompts are cut
  // to the context instead, and *truncatedFrom gets the original length.
  std::vector<int64_t> checkIds(std::vector<int64_t> ids, bool truncate = false,
                                size_t* truncatedFrom = nullptr) const;
  // Display strings for token chips and labels ("#id" without a tokenizer).
  std::vector<std::string> tokenLabels(const std::vector<int64_t>& ids) const;
  int64_t contextLength() const;

 private:
  Session();
  struct Impl;
  std::unique_ptr<Impl> d_;
};

}  // namespace zs
