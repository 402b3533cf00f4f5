#pragma once
// Locating shipped data wherever Zscope runs from (source tree or install prefix).
#include <string>

namespace zs::paths {

// The data folder: $ZSCOPE_DATA_DIR, else <exe>/../share/zscope/data, else the
// source tree's data/ (compiled in). Empty when none exists.
std::string dataDir();
// Name of the shipped default model (folder under data/models/).
std::string defaultModelName();
// "default" -> the shipped model's folder; anything else is returned unchanged.
std::string resolveModel(const std::string& arg);
// Folder holding the shipped SAEs for a model folder (data/saes/<model name>), empty if none.
std::string shippedSaeDir(const std::string& modelDir);

}  // namespace zs::paths
