// Checkpoints of a training run: weights, AdamW state, step and clock in one
// torch archive, written to a temporary file and renamed so that a kill during
// the write leaves the previous checkpoint intact.
#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/base/error.h"
#include "core/base/output_file.h"
#include "core/model/gpt2.h"
#include "core/train/train_internal.h"

namespace fs = std::filesystem;

namespace zs {
namespace {

torch::Tensor stringTensor(const std::string& s) {
  torch::Tensor t = torch::empty({static_cast<int64_t>(s.size())}, torch::kUInt8);
  if (!s.empty()) std::memcpy(t.data_ptr<uint8_t>(), s.data(), s.size());
  return t;
}

std::string tensorString(const torch::Tensor& t) {
  torch::Tensor c = t.contiguous().to(torch::kCPU, torch::kUInt8);
  return std::string(reinterpret_cast<const char*>(c.data_ptr<uint8_t>()), static_cast<size_t>(c.numel()));
}

// A run's identity: its configuration, corpus and tokenizer, less the schedule's length (train.tokens,
// train.stop_at_step, train.schedule_history), which may change on resume to lengthen or shorten a run.
nlohmann::json runIdentity(const std::string& configJson) {
  nlohmann::json j = nlohmann::json::parse(configJson, nullptr, /*allow_exceptions=*/false);
  if (j.is_object() && j.contains("config") && j["config"].contains("train")) {
    j["config"]["train"].erase("tokens");
    j["config"]["train"].erase("stop_at_step");
    j["config"]["train"].erase("schedule_history");
  }
  return j;
}

std::string savedConfig(const std::string& configJson) {
  const nlohmann::json j = nlohmann::json::parse(configJson, nullptr, false);
  if (!j.is_object() || !j.contains("config")) return "{}";
  return j["config"].dump();
}

}  // namespace

void saveCheckpoint(const std::string& path, const Gpt2& model, torch::optim::Optimizer& opt,
                    const CheckpointState& st) {
  torch::serialize::OutputArchive ar;
  for (const auto& [name, t] : model.namedParameters()) ar.write("model/" + name, t.detach().cpu());
  torch::serialize::OutputArchive optAr;
  opt.save(optAr);
  ar.write("optimizer", optAr);
  ar.write("step", torch::tensor(st.step, torch::kLong));
  ar.write("seconds", torch::tensor(st.seconds, torch::kDouble));
  ar.write("loss_sum", torch::tensor(st.lossSum, torch::kDouble));
  ar.write("loss_count", torch::tensor(st.lossCount, torch::kLong));
  ar.write("config", stringTensor(st.configJson));
  fs::create_directories(fs::path(path).parent_path());
  resolveOutputPath(path);  // never replace a device or FIFO
  const std::string tmp = path + ".tmp";
  ar.save_to(tmp);
  fs::rename(tmp, path);
}

void loadCheckpoint(const std::string& path, Gpt2& model, torch::optim::Optimizer& opt, CheckpointState& st) {
  try {
    torch::serialize::InputArchive ar;
    ar.load_from(path);
    torch::Tensor cfg;
    ar.read("config", cfg);
    const std::string saved = tensorString(cfg);
    if (saved != st.configJson && runIdentity(saved) != runIdentity(st.configJson))
      throw InputError(path, "checkpoint belongs to a run with another configuration, corpus or tokenizer; "
                             "delete the checkpoint folder or use another --out");
    {
      torch::NoGradGuard ng;
      for (auto& [name, t] : model.namedParameters()) {
        torch::Tensor v;
        ar.read("model/" + name, v);
        if (v.sizes() != t.sizes()) throw InputError(path, "tensor " + name + " has another shape");
        t.copy_(v);
      }
    }
    torch::serialize::InputArchive optAr;
    ar.read("optimizer", optAr);
    opt.load(optAr);
    // A fresh tensor per read: InputArchive::read set_()s a defined tensor, which
    // would reinterpret a double as the previous read's int64.
    auto scalar = [&](const char* key) {
      torch::Tensor v;
      ar.read(key, v);
      return v;
    };
    st.step = scalar("step").item<int64_t>();
    st.seconds = scalar("seconds").item<double>();
    st.lossSum = scalar("loss_sum").item<double>();
    st.lossCount = scalar("loss_count").item<int64_t>();
    st.savedConfigJson = savedConfig(saved);
  } catch (const InputError&) {
    throw;
  } catch (const std::exception& e) {
    throw InputError(path, std::string("unreadable checkpoint: ") + e.what());
  }
}

}  // namespace zs
