#pragma once
// Interventions on one SAE feature (issue 18): zero-ablate, scale or clamp
// feature F of the layer-L SAE at one position or at all, by replacing hook_z
// of layer L with the SAE's reconstruction of the edited activations plus its
// error term:
//
//   z' = output(f') + (z - output(f)) = z + (f'_F - f_F) * d output / d f_F
//
// (output is affine in f; Sae::decoderDirection). With f' = f the hook returns
// z itself, so "no intervention" reproduces the clean run exactly. Reports the
// clean and intervened next-token predictions at one position, the per-token
// loss of both runs and their difference, the feature's activations before and
// after, and the feature's direct effect on the logits. Maths: docs/attribution.md,
// "Interventions". Torch-free header: the CLI (`zscope-cli intervene`) and the
// Engine (the GUI's Intervene panel) call it with plain structs.
#include <cstdint>
#include <string>
#include <vector>

namespace zs {

class Session;

enum class InterventionMode { Zero, Scale, Clamp };
// "zero" | "scale" | "clamp" (InputError naming the choices otherwise), and back.
InterventionMode parseInterventionMode(const std::string& name);
std::string interventionModeName(InterventionMode mode);

struct Intervention {
  int layer = 0;
  int64_t feature = 0;
  InterventionMode mode = InterventionMode::Zero;
  double value = 1;   // scale: the factor; clamp: the activation set; zero: unused
  int position = -1;  // the position edited; -1: every position
};

// A token in either run's top-k at the prediction position, with its probability in both runs.
struct PredictionChange {
  int64_t id = 0;
  std::string display;
  float clean = 0, intervened = 0;
  int cleanRank = -1, intervenedRank = -1;  // 0-based rank in each run's top-k; -1: not in it
};

struct LogitEffectToken {
  int64_t id = 0;
  std::string display;
  float value = 0;
};

struct InterventionResult {
  Intervention intervention;
  int predictPosition = 0;            // where predictions are read (the next token after it)
  std::vector<std::string> tokens;    // display strings of the prompt
  // Both runs' top-k at predictPosition merged: clean top-k first (by clean
  // probability), then the intervened run's newcomers (by theirs).
  std::vector<PredictionChange> predictions;
  // Per position t: -log p(token t | tokens before) in nats; NaN at t = 0.
  std::vector<float> lossClean, lossIntervened, lossDiff;  // diff = intervened - clean
  std::vector<float> actsBefore, actsAfter;  // the feature's activation at each position; after = as edited
  std::vector<float> maxLogitChange;         // per position: max over the vocabulary of |logit' - logit|
  // The feature's direct effect on the logits at predictPosition, per unit of
  // its activation: decoderDirection through W_O (and a post-attention norm,
  // frozen), the residual stream, the final norm frozen at the clean run's scale,
  // and W_U (before any final soft-capping). Largest and smallest k.
  std::vector<LogitEffectToken> directTop, directBottom;
  float actAtPredict = 0;  // the clean activation at predictPosition (its direct effect = act x per unit)
};

// Checks the request against the session and prompt (InputError with one clear
// line: a layer without an SAE, a feature outside 0..d_sae-1, a position outside
// the prompt, a value that is not finite), then runs the clean and the
// intervened forward pass. predictPosition < 0: the edited position, or the last
// token when every position is edited. ids: Session::checkIds already applied.
InterventionResult runIntervention(const Session& session, const std::vector<int64_t>& ids, const Intervention& iv,
                                   int predictPosition = -1, int topK = 10);

}  // namespace zs
