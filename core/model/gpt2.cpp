#include "core/model/gpt2.h"
#include "core/base/output_file.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/base/error.h"
#include "core/io/safetensors.h"
#include "core/io/tensor_io.h"

namespace fs = std::filesystem;

namespace zs {

std::vector<std::string> Gpt2::hookNames() const {
  std::vector<std::string> n = {"hook_embed", "hook_pos_embed"};
  for (int64_t l = 0; l < cfg_.n_layer; ++l) {
    std::string b = "blocks." + std::to_string(l) + ".";
    for (const char* s : {"hook_resid_pre", "ln1.hook_scale", "attn.hook_q", "attn.hook_k", "attn.hook_v",
                          "attn.hook_pattern", "attn.hook_z", "hook_attn_out", "hook_resid_mid", "ln2.hook_scale",
                          "mlp.hook_pre", "mlp.hook_post", "hook_mlp_out", "hook_resid_post"})
      n.push_back(b + s);
  }
  n.push_back("ln_final.hook_scale");
  n.push_back("logits");
  return n;
}

ModelSpec Gpt2::specOf(const Gpt2Config& c) {
  ModelSpec s;
  s.architecture = "gpt2";
  s.nLayer = c.n_layer;
  s.nHead = s.nKvHead = c.n_head;
  s.dHead = c.d_head();
  s.dModel = c.n_embd;
  s.dMlp = c.d_mlp();
  s.vocab = c.vocab_size;
  s.nCtx = c.n_positions;
  s.norm = NormKind::LayerNorm;
  s.learnedPositions = true;
  s.bosTokenId = c.bos_token_id;
  s.eosTokenId = c.eos_token_id;
  return s;
}

// ---------------------------------------------------------------- loading

std::unique_ptr<Gpt2> Gpt2::loadDir(const std::string& dir, torch::Device device) {
  if (!fs::is_directory(dir)) throw InputError(dir, "model folder does not exist or is not a folder");
  const std::string cfgPath = (fs::path(dir) / "config.json").string();
  if (!fs::exists(cfgPath)) throw InputError(dir, "no config.json in model folder");
  std::string weightsPath = (fs::path(dir) / "model.safetensors").string();
  if (!fs::exists(weightsPath)) {
    if (fs::exists(fs::path(dir) / "pytorch_model.bin"))
      throw InputError(dir, "only model.safetensors is supported (found pytorch_model.bin; convert it with "
                            "Hugging Face's `save_pretrained(..., safe_serialization=True)`)");
    throw InputError(dir, "no model.safetensors in model folder");
  }
  std::unique_ptr<Gpt2> m(new Gpt2());
  m->cfg_ = Gpt2Config::fromFile(cfgPath);
  const Gpt2Config& c = m->cfg_;
  auto file = st::File::open(weightsPath);
  std::string prefix = file->find("transformer.wte.weight") ? "transformer." : "";
  if (!file->find(prefix + "wte.weight"))
    throw InputError(weightsPath, "no 'wte.weight' or 'transformer.wte.weight': not a GPT-2 checkpoint");
  const int64_t d = c.n_embd, V = c.vocab_size, P = c.n_positions, M = c.d_mlp();
  auto L = [&](const std::string& name, std::vector<int64_t> shape) {
    return loadTensor(*file, prefix + name, shape, device);
  };
  Gpt2Weights& w = m->w_;
  w.wte = L("wte.weight", {V, d});
  w.wpe = L("wpe.weight", {P, d});
  w.lnf_w = L("ln_f.weight", {d});
  w.lnf_b = L("ln_f.bias", {d});
  for (int64_t l = 0; l < c.n_layer; ++l) {
    std::string h = "h." + std::to_string(l) + ".";
    Gpt2LayerWeights lw;
    lw.ln1_w = L(h + "ln_1.weight", {d});
    lw.ln1_b = L(h + "ln_1.bias", {d});
    lw.c_attn_w = L(h + "attn.c_attn.weight", {d, 3 * d});
    lw.c_attn_b = L(h + "attn.c_attn.bias", {3 * d});
    lw.c_proj_w = L(h + "attn.c_proj.weight", {d, d});
    lw.c_proj_b = L(h + "attn.c_proj.bias", {d});
    lw.ln2_w = L(h + "ln_2.weight", {d});
    lw.ln2_b = L(h + "ln_2.bias", {d});
    lw.fc_w = L(h + "mlp.c_fc.weight", {d, M});
    lw.fc_b = L(h + "mlp.c_fc.bias", {M});
    lw.mlp_proj_w = L(h + "mlp.c_proj.weight", {M, d});
    lw.mlp_proj_b = L(h + "mlp.c_proj.bias", {d});
    w.layers.push_back(std::move(lw));
  }
  if (file->find("lm_head.weight")) {
    w.lm_head = loadTensor(*file, "lm_head.weight", {V, d}, device);
  } else if (!c.tie_word_embeddings) {
    throw InputError(weightsPath, "config says tie_word_embeddings=false but there is no lm_head.weight");
  }
  if (file->find(prefix + "h." + std::to_string(c.n_layer) + ".ln_1.weight"))
    throw InputError(weightsPath, "checkpoint has more layers than config.json's n_layer=" + std::to_string(c.n_layer));
  m->device_ = device;
  m->makeSpec();
  return m;
}

std::unique_ptr<Gpt2> Gpt2::init(const Gpt2Config& cfg, uint64_t seed, torch::Device device) {
  cfg.validate("model config");
  std::unique_ptr<Gpt2> m(new Gpt2());
  m->cfg_ = cfg;
  torch::NoGradGuard ng;
  auto gen = at::detail::createCPUGenerator(seed);
  const int64_t d = cfg.n_embd, M = cfg.d_mlp();
  const double stdv = 0.02, stdProj = 0.02 / std::sqrt(2.0 * cfg.n_layer);
  auto normal = [&](std::vector<int64_t> shape, double s) {
    return at::normal(0.0, s, shape, gen).to(device);
  };
  auto zeros = [&](std::vector<int64_t> shape) { return torch::zeros(shape, torch::TensorOptions().device(device)); };
  auto ones = [&](std::vector<int64_t> shape) { return torch::ones(shape, torch::TensorOptions().device(device)); };
  Gpt2Weights& w = m->w_;
  w.wte = normal({cfg.vocab_size, d}, stdv);
  w.wpe = normal({cfg.n_positions, d}, 0.01);
  for (int64_t l = 0; l < cfg.n_layer; ++l) {
    Gpt2LayerWeights lw;
    lw.ln1_w = ones({d});
    lw.ln1_b = zeros({d});
    lw.c_attn_w = normal({d, 3 * d}, stdv);
    lw.c_attn_b = zeros({3 * d});
    lw.c_proj_w = normal({d, d}, stdProj);
    lw.c_proj_b = zeros({d});
    lw.ln2_w = ones({d});
    lw.ln2_b = zeros({d});
    lw.fc_w = normal({d, M}, stdv);
    lw.fc_b = zeros({M});
    lw.mlp_proj_w = normal({M, d}, stdProj);
    lw.mlp_proj_b = zeros({d});
    w.layers.push_back(std::move(lw));
  }
  w.lnf_w = ones({d});
  w.lnf_b = zeros({d});
  m->device_ = device;
  m->makeSpec();
  return m;
}

void Gpt2::saveDir(const std::string& dir) const {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (!fs::is_directory(dir)) throw std::runtime_error("cannot create folder " + dir + ": " + ec.message());
  saveTensors((fs::path(dir) / "model.safetensors").string(), namedParameters(), {{"format", "pt"}});
  writeFileAtomic((fs::path(dir) / "config.json").string(), cfg_.toJsonText());
}

void Gpt2::to(torch::Device device) {
  auto mv = [&](torch::Tensor& t) {
    if (t.defined()) t = t.to(device);
  };
  mv(w_.wte), mv(w_.wpe), mv(w_.lnf_w), mv(w_.lnf_b), mv(w_.lm_head);
  for (auto& l : w_.layers) {
    for (torch::Tensor* t : {&l.ln1_w, &l.ln1_b, &l.c_attn_w, &l.c_attn_b, &l.c_proj_w, &l.c_proj_b, &l.ln2_w,
                             &l.ln2_b, &l.fc_w, &l.fc_b, &l.mlp_proj_w, &l.mlp_proj_b})
      mv(*t);
  }
  device_ = device;
}

std::vector<std::pair<std::string, torch::Tensor>> Gpt2::namedParameters() const {
  std::vector<std::pair<std::string, torch::Tensor>> p;
  const std::string t = "transformer.";
  p.emplace_back(t + "wte.weight", w_.wte);
  p.emplace_back(t + "wpe.weight", w_.wpe);
  for (size_t l = 0; l < w_.layers.size(); ++l) {
    const auto& lw = w_.layers[l];
    std::string h = t + "h." + std::to_string(l) + ".";
    p.emplace_back(h + "ln_1.weight", lw.ln1_w);
    p.emplace_back(h + "ln_1.bias", lw.ln1_b);
    p.emplace_back(h + "attn.c_attn.weight", lw.c_attn_w);
    p.emplace_back(h + "attn.c_attn.bias", lw.c_attn_b);
    p.emplace_back(h + "attn.c_proj.weight", lw.c_proj_w);
    p.emplace_back(h + "attn.c_proj.bias", lw.c_proj_b);
    p.emplace_back(h + "ln_2.weight", lw.ln2_w);
    p.emplace_back(h + "ln_2.bias", lw.ln2_b);
    p.emplace_back(h + "mlp.c_fc.weight", lw.fc_w);
    p.emplace_back(h + "mlp.c_fc.bias", lw.fc_b);
    p.emplace_back(h + "mlp.c_proj.weight", lw.mlp_proj_w);
    p.emplace_back(h + "mlp.c_proj.bias", lw.mlp_proj_b);
  }
  p.emplace_back(t + "ln_f.weight", w_.lnf_w);
  p.emplace_back(t + "ln_f.bias", w_.lnf_b);
  if (w_.lm_head.defined()) p.emplace_back("lm_head.weight", w_.lm_head);
  return p;
}

std::vector<torch::Tensor> Gpt2::parameters() const {
  std::vector<torch::Tensor> out;
  for (auto& kv : namedParameters()) out.push_back(kv.second);
  return out;
}

void Gpt2::setRequiresGrad(bool on) {
  for (auto& kv : namedParameters()) kv.second.requires_grad_(on);
}

// ---------------------------------------------------------------- maths

torch::Tensor Gpt2::geluNew(const torch::Tensor& x) {
  const double c = std::sqrt(2.0 / M_PI);
  return 0.5 * x * (1.0 + torch::tanh(c * (x + 0.044715 * torch::pow(x, 3))));
}

torch::Tensor Gpt2::layerNorm(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b,
                              torch::Tensor* scaleOut) const {
  torch::Tensor centred = x - x.mean(-1, true);
  torch::Tensor scale = (centred.pow(2).mean(-1, true) + cfg_.layer_norm_epsilon).sqrt();
  if (scaleOut) *scaleOut = scale;
  return centred / scale * w + b;
}

std::pair<const torch::Tensor*, const torch::Tensor*> Gpt2::normWeights(const std::string& site) const {
  if (site == "ln_final") return {&w_.lnf_w, &w_.lnf_b};
  const std::string pre = "blocks.";
  if (site.rfind(pre, 0) == 0) {
    const size_t dot = site.find('.', pre.size());
    if (dot != std::string::npos) {
      const std::string num = site.substr(pre.size(), dot - pre.size()), which = site.substr(dot + 1);
      if (!num.empty() && num.size() < 7 && num.find_first_not_of("0123456789") == std::string::npos) {
        const auto& lw = w_.layers.at(std::stoul(num));
        if (which == "ln1") return {&lw.ln1_w, &lw.ln1_b};
        if (which == "ln2") return {&lw.ln2_w, &lw.ln2_b};
      }
    }
  }
  throw std::invalid_argument("GPT-2 has no norm site '" + site + "'");
}

torch::Tensor Gpt2::normWeight(const std::string& site) const { return *normWeights(site).first; }

torch::Tensor Gpt2::normBias(const std::string& site) const { return *normWeights(site).second; }

torch::Tensor Gpt2::W_Q(int64_t l) const {
  const int64_t d = cfg_.n_embd, H = cfg_.n_head, dh = cfg_.d_head();
  return w_.layers.at(l).c_attn_w.narrow(1, 0, d).view({d, H, dh}).permute({1, 0, 2});
}
torch::Tensor Gpt2::W_K(int64_t l) const {
  const int64_t d = cfg_.n_embd, H = cfg_.n_head, dh = cfg_.d_head();
  return w_.layers.at(l).c_attn_w.narrow(1, d, d).reshape({d, H, dh}).permute({1, 0, 2});
}
torch::Tensor Gpt2::W_V(int64_t l) const {
  const int64_t d = cfg_.n_embd, H = cfg_.n_head, dh = cfg_.d_head();
  return w_.layers.at(l).c_attn_w.narrow(1, 2 * d, d).reshape({d, H, dh}).permute({1, 0, 2});
}
torch::Tensor Gpt2::b_Q(int64_t l) const {
  return w_.layers.at(l).c_attn_b.narrow(0, 0, cfg_.n_embd).view({cfg_.n_head, cfg_.d_head()});
}
torch::Tensor Gpt2::b_K(int64_t l) const {
  return w_.layers.at(l).c_attn_b.narrow(0, cfg_.n_embd, cfg_.n_embd).view({cfg_.n_head, cfg_.d_head()});
}
torch::Tensor Gpt2::b_V(int64_t l) const {
  return w_.layers.at(l).c_attn_b.narrow(0, 2 * cfg_.n_embd, cfg_.n_embd).view({cfg_.n_head, cfg_.d_head()});
}
torch::Tensor Gpt2::W_O(int64_t l) const {
  return w_.layers.at(l).c_proj_w.view({cfg_.n_head, cfg_.d_head(), cfg_.n_embd});
}
torch::Tensor Gpt2::b_O(int64_t l) const { return w_.layers.at(l).c_proj_b; }
torch::Tensor Gpt2::W_U() const { return (w_.lm_head.defined() ? w_.lm_head : w_.wte).t(); }

// ---------------------------------------------------------------- forward

ForwardResult Gpt2::forward(const torch::Tensor& idsIn, const ForwardOptions& opts) const {
  using namespace torch::indexing;
  if (idsIn.dim() != 2) throw InputError("input ids", "expected shape [batch, pos]");
  const int64_t B = idsIn.size(0), T = idsIn.size(1);
  const int64_t d = cfg_.n_embd, H = cfg_.n_head, dh = cfg_.d_head();
  if (T < 1) throw InputError("input ids", "no tokens to run");
  if (T > cfg_.n_positions)
    throw InputError("input ids", std::to_string(T) + " tokens exceed the model's context of " +
                                      std::to_string(cfg_.n_positions));
  torch::Tensor ids = idsIn.to(device_, torch::kLong);
  {
    torch::NoGradGuard ng;
    if (ids.numel() > 0 && (ids.min().item<int64_t>() < 0 || ids.max().item<int64_t>() >= cfg_.vocab_size))
      throw InputError("input ids", "token id out of range 0.." + std::to_string(cfg_.vocab_size - 1));
  }
  ForwardResult res;
  const Capture& cap = opts.capture;
  auto keep = [&](const std::string& name, const torch::Tensor& t) {
    if (!cap.empty() && cap.wants(name)) res.cache[name] = t;
  };

  torch::Tensor embed = w_.wte.index_select(0, ids.reshape({-1})).view({B, T, d});
  torch::Tensor pos = w_.wpe.narrow(0, 0, T).unsqueeze(0).expand({B, T, d});
  keep("hook_embed", embed);
  keep("hook_pos_embed", pos);
  torch::Tensor resid = embed + pos;
  torch::Tensor mask = torch::ones({T, T}, torch::TensorOptions().dtype(torch::kBool).device(device_)).triu(1);
  const double invScale = cfg_.scale_attn_weights ? 1.0 / std::sqrt(static_cast<double>(dh)) : 1.0;

  for (int64_t l = 0; l < cfg_.n_layer; ++l) {
    const auto& lw = w_.layers[l];
    const std::string b = "blocks." + std::to_string(l) + ".";
    keep(b + "hook_resid_pre", resid);
    torch::Tensor scale1;
    torch::Tensor x = layerNorm(resid, lw.ln1_w, lw.ln1_b, &scale1);
    keep(b + "ln1.hook_scale", scale1);
    torch::Tensor qkv = torch::addmm(lw.c_attn_b, x.reshape({B * T, d}), lw.c_attn_w).view({B, T, 3, H, dh});
    torch::Tensor q = qkv.select(2, 0), k = qkv.select(2, 1), v = qkv.select(2, 2);  // [B, T, H, dh]
    keep(b + "attn.hook_q", q);
    keep(b + "attn.hook_k", k);
    keep(b + "attn.hook_v", v);
    torch::Tensor qh = q.permute({0, 2, 1, 3}), kh = k.permute({0, 2, 1, 3}), vh = v.permute({0, 2, 1, 3});
    // transformers: scores / sqrt(dh) (scale_attn_weights), / (l + 1) (scale_attn_by_inverse_layer_idx).
    const double layerScale = cfg_.scale_attn_by_inverse_layer_idx ? 1.0 / static_cast<double>(l + 1) : 1.0;
    torch::Tensor scores = torch::matmul(qh, kh.transpose(-1, -2)) * (invScale * layerScale);  // [B, H, Tq, Tk]
    scores = scores.masked_fill(mask, -std::numeric_limits<float>::infinity());
    torch::Tensor pattern = torch::softmax(scores, -1);
    keep(b + "attn.hook_pattern", pattern);
    torch::Tensor z = torch::matmul(pattern, vh).permute({0, 2, 1, 3});  // [B, T, H, dh]
    z = applyZHook(opts, l, z);
    keep(b + "attn.hook_z", z);
    if (opts.stopAfterZOfLayer == l) return res;
    torch::Tensor attnOut =
        torch::addmm(lw.c_proj_b, z.reshape({B * T, d}), lw.c_proj_w).view({B, T, d});
    keep(b + "hook_attn_out", attnOut);
    resid = resid + attnOut;
    keep(b + "hook_resid_mid", resid);
    torch::Tensor scale2;
    torch::Tensor x2 = layerNorm(resid, lw.ln2_w, lw.ln2_b, &scale2);
    keep(b + "ln2.hook_scale", scale2);
    const int64_t M = lw.fc_w.size(1);
    torch::Tensor pre = torch::addmm(lw.fc_b, x2.reshape({B * T, d}), lw.fc_w).view({B, T, M});
    keep(b + "mlp.hook_pre", pre);
    torch::Tensor post;
    const std::string& act = cfg_.activation_function;
    if (act == "gelu") post = torch::gelu(pre);
    else if (act == "relu") post = torch::relu(pre);
    else post = geluNew(pre);
    keep(b + "mlp.hook_post", post);
    torch::Tensor mlpOut = torch::addmm(lw.mlp_proj_b, post.reshape({B * T, M}), lw.mlp_proj_w).view({B, T, d});
    keep(b + "hook_mlp_out", mlpOut);
    resid = resid + mlpOut;
    keep(b + "hook_resid_post", resid);
  }
  torch::Tensor scaleF;
  torch::Tensor xf = layerNorm(resid, w_.lnf_w, w_.lnf_b, &scaleF);
  keep("ln_final.hook_scale", scaleF);
  const torch::Tensor& U = w_.lm_head.defined() ? w_.lm_head : w_.wte;  // [V, d]
  res.logits = torch::matmul(xf, U.t());
  keep("logits", res.logits);
  return res;
}

}  // namespace zs
