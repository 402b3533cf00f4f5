#pragma once
// Checks the model & SAE manager runs before asking the worker to load
// anything, so that a wrong folder gives a clear message and changes nothing.
// Torch-free: reads config.json / cfg.json directly (the worker's Engine checks
// again when it loads).
#include <QString>
#include <QStringList>

#include <cstdint>

namespace zs::gui {

struct ModelShape {
  QString dir;
  int nLayer = 0, nHead = 0;
  int64_t dModel = 0, nCtx = 0;
  bool valid() const { return nLayer > 0 && nHead > 0; }
  int64_t dIn() const { return dModel; }  // hook_z flattened: n_heads * d_head = d_model
};

enum class PathKind { Unknown, Model, Sae, SaeTree, Database };

// What a dropped or opened path is: a Hugging Face GPT-2 folder (config.json +
// model.safetensors), an SAELens folder (cfg.json + sae_weights.safetensors), a
// folder whose sub-folders are SAELens folders, or a feature database file.
PathKind classifyPath(const QString& path);
// SAELens sub-folders of a tree folder, sorted.
QStringList saeFoldersUnder(const QString& dir);

// Reads a model folder's shape; empty string on success, else the message.
QString readModelShape(const QString& dir, ModelShape& out);

struct SaeShape {
  QString dir, hookName;
  int layer = -1;
  int64_t dIn = 0, dSae = 0;
};
// Reads an SAELens cfg.json (old and new key names) and checks it against the
// model: hook_z of an existing layer, d_in = n_heads * d_head, weights present.
// Empty string when compatible, else a message naming the folder and the problem.
QString checkSaeAgainstModel(const QString& saeDir, const ModelShape& model, SaeShape* out = nullptr);

}  // namespace zs::gui
