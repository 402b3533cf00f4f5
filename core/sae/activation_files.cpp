// Harvested activations: the index (JSON) and the reader the SAE trainer uses.
#include "core/sae/activation_files.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/base/error.h"
#include "core/base/input_file.h"
#include "core/base/json_util.h"
#include "core/base/output_file.h"
#include "core/base/util.h"
#include "core/io/safetensors.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace zs {

std::string ActivationIndex::toJsonText() const {
  json shardsJ = json::array();
  for (const auto& s : shards)
    shardsJ.push_back({{"file", s.file}, {"first_window", s.firstWindow}, {"windows", s.windows}, {"tokens", s.tokens}});
  json j = {{"format", kActivationFormat},
            {"version", kActivationFormatVersion},
            {"hook", "hook_z"},
            {"bos_excluded", true},
            {"model_name", modelName},
            {"model_dir", modelDir},
            {"model_fingerprint", modelFingerprint},
            {"corpus", corpus},
            {"corpus_format", corpusFormat},
            {"context", context},
            {"eval_windows", evalWindows},
            {"seed", seed},
            {"shuffle", shuffle},
            {"windows_per_forward", windowsPerForward},
            {"layers", layers},
            {"d_in", dIn},
            {"n_heads", nHeads},
            {"d_head", dHead},
            {"dtype", dtype},
            {"tokens", tokens},
            {"windows", windows},
            {"complete", complete},
            {"shards", shardsJ}};
  return j.dump(2) + "\n";
}

void writeActivationIndex(const ActivationIndex& index) {
  writeFileAtomic((fs::path(index.dir) / "index.json").string(), index.toJsonText());
}

ActivationIndex readActivationIndex(const std::string& dir) {
  const std::string path = (fs::path(dir) / "index.json").string();
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw InputError(dir, "no such activations folder");
  if (!fs::exists(path, ec)) throw InputError(path, "missing: not a folder written by zscope-cli harvest");
  const json j = parseJsonObject(readInputFile(path, InputKind::Config), path, "activations index");
  ActivationIndex x;
  x.dir = dir;
  try {
    if (j.value("format", std::string()) != kActivationFormat)
      throw InputError(path, std::string("is not an activations index (format is not \"") + kActivationFormat + "\")");
    const int64_t version = jsonInteger(j, "version", path);
    if (version != kActivationFormatVersion)
      throw InputError(path, "has format version " + std::to_string(version) + "; this Zscope reads version " +
                                 std::to_string(kActivationFormatVersion));
    x.modelName = j.at("model_name").get<std::string>();
    x.modelDir = j.at("model_dir").get<std::string>();
    x.modelFingerprint = j.at("model_fingerprint").get<std::string>();
    x.corpus = j.at("corpus").get<std::string>();
    x.corpusFormat = j.at("corpus_format").get<std::string>();
    x.context = jsonInteger(j, "context", path);
    x.evalWindows = jsonInteger(j, "eval_windows", path);
    x.seed = j.at("seed").get<uint64_t>();
    x.shuffle = j.at("shuffle").get<bool>();
    x.windowsPerForward = jsonInteger(j, "windows_per_forward", path);
    x.layers = j.at("layers").get<std::vector<int64_t>>();
    x.dIn = jsonInteger(j, "d_in", path);
    x.nHeads = jsonInteger(j, "n_heads", path);
    x.dHead = jsonInteger(j, "d_head", path);
    x.dtype = j.at("dtype").get<std::string>();
    x.tokens = jsonInteger(j, "tokens", path);
    x.windows = jsonInteger(j, "windows", path);
    x.complete = j.at("complete").get<bool>();
    for (const auto& s : j.at("shards")) {
      ActivationShard sh;
      sh.file = s.at("file").get<std::string>();
      sh.firstWindow = jsonInteger(s, "first_window", path);
      sh.windows = jsonInteger(s, "windows", path);
      sh.tokens = jsonInteger(s, "tokens", path);
      x.shards.push_back(sh);
    }
  } catch (const nlohmann::json::exception& e) {
    throw InputError(path, std::string("has a missing or mistyped field: ") + e.what());
  }
  if (x.context < 2 || x.dIn < 1 || x.windowsPerForward < 1 || x.layers.empty() || x.evalWindows < 0)
    throw InputError(path, "has an invalid context, d_in, windows_per_forward, eval_windows or layer list");
  if (x.dtype != "F32" && x.dtype != "F16" && x.dtype != "BF16")
    throw InputError(path, "has dtype '" + x.dtype + "' (F32, F16 or BF16 expected)");
  int64_t windows = 0;
  for (const auto& s : x.shards) {
    if (s.file.empty() || s.file.find('/') != std::string::npos || s.file.find("..") != std::string::npos)
      throw InputError(path, "names a shard file outside the folder ('" + s.file + "')");
    if (s.windows < 1 || s.tokens != s.windows * (x.context - 1) || s.firstWindow != windows)
      throw InputError(path, "shard " + s.file + " has inconsistent window/token counts");
    windows += s.windows;
  }
  if (windows != x.windows || x.tokens != windows * (x.context - 1))
    throw InputError(path, "its totals do not match its shards");
  return x;
}

void checkHarvestLayers(const ActivationIndex& index, const std::vector<int64_t>& layers) {
  for (int64_t l : layers)
    if (std::find(index.layers.begin(), index.layers.end(), l) == index.layers.end()) {
      std::string have;
      for (int64_t h : index.layers) have += (have.empty() ? "" : ",") + std::to_string(h);
      throw InputError(index.dir, "holds activations of layer(s) " + have + ", not layer " + std::to_string(l));
    }
}

ActivationFileSource::ActivationFileSource(const ActivationIndex& index, std::vector<int64_t> layers,
                                           int64_t chunkRows, int rank, int world, bool loop)
    : index_(index), layers_(std::move(layers)), chunk_(std::max<int64_t>(1, chunkRows)), loop_(loop) {
  const std::string where = (fs::path(index_.dir) / "index.json").string();
  if (world < 1 || rank < 0 || rank >= world) throw UsageError("bad rank/world for the activation reader");
  if (layers_.empty()) throw UsageError("no layer given");
  checkHarvestLayers(index_, layers_);
  st::DType want = st::DType::F32;
  if (index_.dtype == "F16") {
    want = st::DType::F16;
    dtype_ = torch::kHalf;
  } else if (index_.dtype == "BF16") {
    want = st::DType::BF16;
    dtype_ = torch::kBFloat16;
  }
  for (size_t i = 0; i < index_.shards.size(); ++i) {
    if (static_cast<int>(i % static_cast<size_t>(world)) != rank) continue;
    const ActivationShard& s = index_.shards[i];
    const std::string path = (fs::path(index_.dir) / s.file).string();
    std::error_code ec;
    if (!fs::exists(path, ec)) throw InputError(path, "missing (listed in " + where + ")");
    Shard sh;
    sh.file = st::File::open(path);  // validates the header and byte ranges (a truncated file fails here)
    sh.rows = s.tokens;
    const auto& md = sh.file->metadata();
    auto mdIs = [&](const char* k, const std::string& v) {
      auto it = md.find(k);
      return it != md.end() && it->second == v;
    };
    if (!mdIs("format", kActivationFormat) || !mdIs("model_fingerprint", index_.modelFingerprint) ||
        !mdIs("context", std::to_string(index_.context)))
      throw InputError(path, "comes from another harvest than " + where + " (its metadata differ)");
    for (int64_t l : layers_) {
      const std::string name = index_.hookName(l);
      const st::TensorInfo* t = sh.file->find(name);
      if (!t) throw InputError(path, "lacks the tensor " + name);
      if (t->shape != std::vector<int64_t>{s.tokens, index_.dIn}) {
        std::string shape;
        for (int64_t d : t->shape) shape += (shape.empty() ? "" : ", ") + std::to_string(d);
        throw InputError(path, name + " has shape [" + shape + "], expected [" + std::to_string(s.tokens) + ", " +
                                   std::to_string(index_.dIn) + "] (tokens, d_in)");
      }
      if (t->dtype != want)
        throw InputError(path, name + " is " + st::dtypeName(t->dtype) + ", the index says " + index_.dtype);
      sh.data.push_back(sh.file->data(*t));
    }
    rowsPerPass_ += sh.rows;
    shards_.push_back(std::move(sh));
  }
  if (shards_.empty())
    throw InputError(index_.dir, "has " + std::to_string(index_.shards.size()) + " shard(s): none for rank " +
                                     std::to_string(rank) + " of " + std::to_string(world));
}

ActivationFileSource::~ActivationFileSource() = default;

bool ActivationFileSource::next(std::vector<torch::Tensor>& perLayer, torch::Device storage) {
  std::vector<std::vector<torch::Tensor>> pieces(layers_.size());
  int64_t need = chunk_;
  while (need > 0) {
    if (pos_ >= shards_[cur_].rows) {
      pos_ = 0;
      if (++cur_ == shards_.size()) {
        cur_ = 0;
        ++passes_;
        if (!loop_) {
          cur_ = shards_.size() - 1;
          pos_ = shards_[cur_].rows;
          --passes_;
          break;
        }
      }
      continue;
    }
    const Shard& sh = shards_[cur_];
    const int64_t n = std::min(need, sh.rows - pos_);
    const size_t elt = torch::elementSize(dtype_);
    for (size_t i = 0; i < layers_.size(); ++i) {
      const auto* base = static_cast<const uint8_t*>(sh.data[i]) + static_cast<size_t>(pos_ * index_.dIn) * elt;
      torch::Tensor view = torch::from_blob(const_cast<uint8_t*>(base), {n, index_.dIn}, torch::TensorOptions(dtype_));
      pieces[i].push_back(dtype_ == torch::kFloat && storage.is_cpu() ? view.clone() : view.to(storage, torch::kFloat));
    }
    pos_ += n;
    need -= n;
  }
  if (need == chunk_) return false;
  perLayer.clear();
  for (auto& p : pieces) perLayer.push_back(p.size() == 1 ? p[0] : torch::cat(p));
  served_ += chunk_ - need;
  return true;
}

void ActivationFileSource::skipRows(int64_t n) {
  served_ += n;
  if (rowsPerPass_ == 0) return;
  passes_ += n / rowsPerPass_;
  n %= rowsPerPass_;
  cur_ = 0;
  pos_ = 0;
  // From the start of a pass: whole shards, then the rest inside one.
  int64_t rest = pos_ + n;
  while (rest >= shards_[cur_].rows && cur_ + 1 < shards_.size()) {
    rest -= shards_[cur_].rows;
    ++cur_;
  }
  pos_ = rest;
}

std::string harvestModelFingerprint(const Model& model, const std::vector<int64_t>& layers) {
  torch::InferenceMode guard;
  const ModelSpec& s = model.spec();
  const int64_t sizes[] = {s.nLayer, s.nHead, s.nKvHead, s.dHead, s.dModel, s.vocab, s.nCtx};
  uint64_t h = fnv1a(sizes, sizeof sizes);
  for (int64_t l : layers)
    for (const torch::Tensor& t : {model.W_V(l), model.b_V(l), model.W_O(l)}) {
      if (!t.defined()) continue;
      torch::Tensor c = t.to(torch::kCPU, torch::kFloat32).contiguous();
      h = fnv1a(c.data_ptr<float>(), static_cast<size_t>(c.numel()) * sizeof(float), h);
    }
  char buf[32];
  std::snprintf(buf, sizeof buf, "fnv1a64:%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace zs
