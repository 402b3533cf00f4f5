#pragma once
// What `zscope-cli run` does: one forward pass of a session's model, the
// captured activations written as safetensors under TransformerLens names (F32,
// leading batch dimension of 1). With SAE folders, also each SAE's
// HookedSAETransformer hook points: <hook>.hook_sae_input, _acts_pre,
// _acts_post, _recons ([1, pos, d_in|d_sae]), _output and _error (the hook's own
// shape). Torch-free header.
#include <memory>
#include <string>
#include <vector>

namespace zs {

class Session;
struct Sae;

class ActivationRun {
 public:
  // Checks everything before any work: each pattern must name an activation
  // site of the model (UsageError), each SAE must fit it (InputError), and `out`
  // must be a writable regular-file path (InputError for a device, FIFO or folder).
  ActivationRun(const Session& session, std::vector<std::string> patterns, const std::vector<std::string>& saeDirs,
                std::string out);
  ~ActivationRun();
  // Runs the model on `ids` (Session::checkIds already applied) and writes the
  // file atomically: the captured sites (and SAE hook points) in order, then
  // `logits` when not captured and `input_ids`.
  struct Written {
    std::vector<std::string> sites;  // captured sites and SAE hook points, in order
    size_t tensors = 0;              // everything in the file
  };
  Written write(const std::vector<int64_t>& ids) const;

 private:
  const Session& session_;
  std::vector<std::string> patterns_;
  std::vector<std::shared_ptr<Sae>> saes_;
  std::string out_;
};

}  // namespace zs
