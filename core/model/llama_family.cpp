#include "core/model/llama_family.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>

#include "core/base/error.h"
#include "core/model/rotary.h"
#include "core/model/sharded_weights.h"

namespace fs = std::filesystem;

namespace zs {
namespace {

constexpr double kAutoBf16Bytes = 4.0 * 1024 * 1024 * 1024;  // float32 weights above this: bfloat16

// A bfloat16 weight as float32. Without autograd the copy goes into a scratch
// buffer reused across layers and calls (one per shape and device): fresh
// 85 MB allocations per matmul cost as much in page faults as the matmul
// itself. With autograd each call gets its own copy (backward keeps it).
torch::Tensor upcast(const torch::Tensor& w) {
  if (w.scalar_type() == torch::kFloat32) return w;
  if (torch::GradMode::is_enabled()) return w.to(torch::kFloat32);
  thread_local std::map<std::pair<std::vector<int64_t>, std::string>, torch::Tensor> scratch;
  torch::Tensor& buf = scratch[{w.sizes().vec(), w.device().str()}];
  if (!buf.defined()) buf = torch::empty(w.sizes(), w.options().dtype(torch::kFloat32));
  return buf.copy_(w);
}

// y = x W^T + b with the weight upcast to float32 (a no-op for float32 storage).
torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
  const torch::Tensor bf = !b.defined() || b.scalar_type() == torch::kFloat32 ? b : b.to(torch::kFloat32);
  return torch::linear(x, upcast(w), bf);
}

torch::Tensor softcap(const torch::Tensor& x, double cap) { return torch::tanh(x / cap) * cap; }

}  // namespace

// ---------------------------------------------------------------- loading

std::string LlamaFamily::resolveDtype(const LlamaFamilyConfig& c, const std::string& dtype) {
  if (dtype == "auto") return c.parameterCount() * 4.0 > kAutoBf16Bytes ? "bfloat16" : "float32";
  if (dtype != "float32" && dtype != "bfloat16")
    throw UsageError("--dtype must be auto, float32 or bfloat16, got '" + dtype + "'");
  return dtype;
}

ModelSpec LlamaFamily::specOf(const LlamaFamilyConfig& c, const std::string& dtype) {
  ModelSpec s;
  s.architecture = c.modelType;
  s.nLayer = c.numLayers;
  s.nHead = c.numHeads;
  s.nKvHead = c.numKvHeads;
  s.dHead = c.headDim;
  s.dModel = c.hiddenSize;
  s.dMlp = c.intermediateSize;
  s.vocab = c.vocabSize;
  // Dynamic NTK scaling exists to run past max_position_embeddings: accept up to factor times it.
  s.nCtx = c.rope.type == "dynamic" && c.rope.factor > 1
               ? static_cast<int64_t>(std::floor(static_cast<double>(c.maxPositions) * c.rope.factor))
               : c.maxPositions;
  s.norm = NormKind::RMSNorm;
  s.learnedPositions = false;
  s.postAttnNorm = c.postNorms;
  s.dtype = resolveDtype(c, dtype);
  s.bosTokenId = c.bosTokenId;
  s.eosTokenId = c.eosTokenId;
  return s;
}

std::unique_ptr<LlamaFamily> LlamaFamily::loadDir(const std::string& dir, const ModelLoadOptions& opts) {
  if (!fs::is_directory(dir)) throw InputError(dir, "model folder does not exist or is not a folder");
  const std::string cfgPath = (fs::path(dir) / "config.json").string();
  if (!fs::exists(cfgPath)) throw InputError(dir, "no config.json in model folder");
  std::unique_ptr<LlamaFamily> m(new LlamaFamily());
  m->cfg_ = LlamaFamilyConfig::fromFile(cfgPath);
  const LlamaFamilyConfig& c = m->cfg_;

  m->spec_ = specOf(c, opts.dtype);
  const std::string& dtype = m->spec_.dtype;
  const torch::ScalarType store = dtype == "bfloat16" ? torch::kBFloat16 : torch::kFloat32;

  auto files = ShardedWeights::open(dir);
  const std::string prefix = files->has("model.embed_tokens.weight") ? "model." : "";
  if (!files->has(prefix + "embed_tokens.weight"))
    throw InputError(files->describe(), "no 'model.embed_tokens.weight': not a " + c.modelType + " checkpoint");

  const int64_t d = c.hiddenSize, V = c.vocabSize, M = c.intermediateSize;
  const int64_t qd = c.numHeads * c.headDim, kvd = c.numKvHeads * c.headDim;
  const torch::Device dev = opts.device;
  auto W = [&](const std::string& name, std::vector<int64_t> shape) {
    return files->load(prefix + name, shape, store).to(dev);
  };
  auto B = [&](const std::string& name, int64_t n) { return files->load(prefix + name, {n}, torch::kFloat32).to(dev); };
  // Norm weights as applied: Gemma multiplies by (1 + w), computed in float32 as transformers does.
  auto N = [&](const std::string& name) {
    torch::Tensor w = files->load(prefix + name, {d}, torch::kFloat32);
    return (c.gemmaNorm ? 1.0 + w : w).to(dev);
  };

  LlamaWeights& w = m->w_;
  w.embed = W("embed_tokens.weight", {V, d});
  for (int64_t l = 0; l < c.numLayers; ++l) {
    const std::string p = "layers." + std::to_string(l) + ".";
    LlamaLayerWeights lw;
    lw.ln1 = N(p + "input_layernorm.weight");
    lw.q_w = W(p + "self_attn.q_proj.weight", {qd, d});
    lw.k_w = W(p + "self_attn.k_proj.weight", {kvd, d});
    lw.v_w = W(p + "self_attn.v_proj.weight", {kvd, d});
    lw.o_w = W(p + "self_attn.o_proj.weight", {d, qd});
    if (c.qkvBias) {
      lw.q_b = B(p + "self_attn.q_proj.bias", qd);
      lw.k_b = B(p + "self_attn.k_proj.bias", kvd);
      lw.v_b = B(p + "self_attn.v_proj.bias", kvd);
    }
    if (c.oBias) lw.o_b = B(p + "self_attn.o_proj.bias", d);
    if (c.postNorms) {
      lw.ln1_post = N(p + "post_attention_layernorm.weight");
      lw.ln2 = N(p + "pre_feedforward_layernorm.weight");
      lw.ln2_post = N(p + "post_feedforward_layernorm.weight");
    } else {
      lw.ln2 = N(p + "post_attention_layernorm.weight");
    }
    lw.gate_w = W(p + "mlp.gate_proj.weight", {M, d});
    lw.up_w = W(p + "mlp.up_proj.weight", {M, d});
    lw.down_w = W(p + "mlp.down_proj.weight", {d, M});
    if (c.mlpBias) {
      lw.gate_b = B(p + "mlp.gate_proj.bias", M);
      lw.up_b = B(p + "mlp.up_proj.bias", M);
      lw.down_b = B(p + "mlp.down_proj.bias", d);
    }
    w.layers.push_back(std::move(lw));
  }
  w.norm = N("norm.weight");
  // Tied: transformers shares the embedding (a stored lm_head.weight is ignored).
  if (!c.tieWordEmbeddings) {
    if (!files->has("lm_head.weight"))
      throw InputError(files->describe(), "config says tie_word_embeddings=false but there is no lm_head.weight");
    w.lm_head = files->load("lm_head.weight", {V, d}, store).to(dev);
  }
  if (files->has(prefix + "layers." + std::to_string(c.numLayers) + ".input_layernorm.weight"))
    throw InputError(files->describe(), "checkpoint has more layers than config.json's num_hidden_layers=" +
                                            std::to_string(c.numLayers));

  m->device_ = dev;
  return m;
}

void LlamaFamily::to(torch::Device device) {
  auto mv = [&](torch::Tensor& t) {
    if (t.defined()) t = t.to(device);
  };
  mv(w_.embed), mv(w_.norm), mv(w_.lm_head);
  for (auto& l : w_.layers)
    for (torch::Tensor* t : {&l.ln1, &l.q_w, &l.q_b, &l.k_w, &l.k_b, &l.v_w, &l.v_b, &l.o_w, &l.o_b, &l.ln1_post,
                             &l.ln2, &l.gate_w, &l.gate_b, &l.up_w, &l.up_b, &l.down_w, &l.down_b, &l.ln2_post})
      mv(*t);
  device_ = device;
}

// ---------------------------------------------------------------- names and weights

std::vector<std::string> LlamaFamily::hookNames() const {
  std::vector<std::string> n = {"hook_embed"};
  for (int64_t l = 0; l < cfg_.numLayers; ++l) {
    const std::string b = "blocks." + std::to_string(l) + ".";
    for (const char* s : {"hook_resid_pre", "ln1.hook_scale", "attn.hook_q", "attn.hook_k", "attn.hook_v",
                          "attn.hook_rot_q", "attn.hook_rot_k", "attn.hook_pattern", "attn.hook_z"})
      n.push_back(b + s);
    if (cfg_.postNorms) n.push_back(b + "ln1_post.hook_scale");
    for (const char* s : {"hook_attn_out", "hook_resid_mid", "ln2.hook_scale", "mlp.hook_pre", "mlp.hook_pre_linear",
                          "mlp.hook_post"})
      n.push_back(b + s);
    if (cfg_.postNorms) n.push_back(b + "ln2_post.hook_scale");
    n.push_back(b + "hook_mlp_out");
    n.push_back(b + "hook_resid_post");
  }
  n.push_back("ln_final.hook_scale");
  n.push_back("logits");
  return n;
}

torch::Tensor LlamaFamily::W_E() const { return w_.embed.to(torch::kFloat32); }

torch::Tensor LlamaFamily::W_V(int64_t l) const {
  const auto& lw = w_.layers.at(l);
  return lw.v_w.to(torch::kFloat32).view({cfg_.numKvHeads, cfg_.headDim, cfg_.hiddenSize}).permute({0, 2, 1});
}

torch::Tensor LlamaFamily::b_V(int64_t l) const {
  const auto& lw = w_.layers.at(l);
  return lw.v_b.defined() ? lw.v_b.view({cfg_.numKvHeads, cfg_.headDim}) : torch::Tensor();
}

torch::Tensor LlamaFamily::W_O(int64_t l) const {
  const auto& lw = w_.layers.at(l);
  return lw.o_w.to(torch::kFloat32).t().reshape({cfg_.numHeads, cfg_.headDim, cfg_.hiddenSize});
}

torch::Tensor LlamaFamily::b_O(int64_t l) const { return w_.layers.at(l).o_b; }

torch::Tensor LlamaFamily::W_U() const {
  return (w_.lm_head.defined() ? w_.lm_head : w_.embed).to(torch::kFloat32).t();
}

torch::Tensor LlamaFamily::normWeight(const std::string& site) const {
  if (site == "ln_final") return w_.norm;
  // "blocks.L.ln1", "blocks.L.ln2", "blocks.L.ln1_post", "blocks.L.ln2_post"
  const size_t dot = site.find('.', 7);
  if (site.rfind("blocks.", 0) == 0 && dot != std::string::npos) {
    int64_t l = -1;
    try {
      l = std::stoll(site.substr(7, dot - 7));
    } catch (const std::exception&) {
    }
    if (l >= 0 && l < cfg_.numLayers) {
      const auto& lw = w_.layers[l];
      const std::string which = site.substr(dot + 1);
      if (which == "ln1") return lw.ln1;
      if (which == "ln2") return lw.ln2;
      if (which == "ln1_post" && lw.ln1_post.defined()) return lw.ln1_post;
      if (which == "ln2_post" && lw.ln2_post.defined()) return lw.ln2_post;
    }
  }
  throw std::invalid_argument("'" + site + "' is not a norm of this " + cfg_.modelType + " model");
}

torch::Tensor LlamaFamily::normBias(const std::string& site) const {
  normWeight(site);  // the same sites; RMSNorm has no bias
  return {};
}

// ---------------------------------------------------------------- maths

// x * rsqrt(mean(x^2) + eps) * w, in float32 (transformers' LlamaRMSNorm /
// GemmaRMSNorm); hook_scale = sqrt(mean(x^2) + eps).
torch::Tensor LlamaFamily::rmsNorm(const torch::Tensor& x, const torch::Tensor& w, torch::Tensor* scaleOut) const {
  torch::Tensor var = x.pow(2).mean(-1, true) + cfg_.rmsNormEps;
  if (scaleOut) *scaleOut = var.sqrt();
  return x * torch::rsqrt(var) * w;
}

torch::Tensor LlamaFamily::activation(const torch::Tensor& x) const {
  const std::string& a = cfg_.activation;
  if (a == "silu" || a == "swish") return torch::silu(x);
  if (a == "gelu") return torch::gelu(x);
  if (a == "gelu_pytorch_tanh") return torch::gelu(x, "tanh");
  if (a == "gelu_new") return 0.5 * x * (1.0 + torch::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * torch::pow(x, 3))));
  if (a == "gelu_fast") return 0.5 * x * (1.0 + torch::tanh(x * 0.7978845608 * (1.0 + 0.044715 * x * x)));
  if (a == "quick_gelu") return x * torch::sigmoid(1.702 * x);
  if (a == "relu") return torch::relu(x);
  if (a == "tanh") return torch::tanh(x);
  throw InputError("config", "activation '" + a + "' is not supported");
}

// x [B, T, d] -> logits [B, T, V] float32. bfloat16 heads are upcast 8192 rows
// of the vocabulary at a time so the float32 copy stays small.
torch::Tensor LlamaFamily::unembed(const torch::Tensor& x) const {
  const torch::Tensor& U = w_.lm_head.defined() ? w_.lm_head : w_.embed;
  if (U.scalar_type() == torch::kFloat32) return torch::matmul(x, U.t());
  const int64_t V = U.size(0), chunk = 8192;
  std::vector<torch::Tensor> parts;
  for (int64_t v0 = 0; v0 < V; v0 += chunk)
    parts.push_back(torch::matmul(x, upcast(U.narrow(0, v0, std::min(chunk, V - v0))).t()));
  return torch::cat(parts, -1);
}

// ---------------------------------------------------------------- forward

ForwardResult LlamaFamily::forward(const torch::Tensor& idsIn, const ForwardOptions& opts) const {
  if (idsIn.dim() != 2) throw InputError("input ids", "expected shape [batch, pos]");
  const int64_t Bn = idsIn.size(0), T = idsIn.size(1);
  const int64_t d = cfg_.hiddenSize, H = cfg_.numHeads, K = cfg_.numKvHeads, dh = cfg_.headDim;
  if (T < 1 || Bn < 1) throw InputError("input ids", "no tokens to run");
  torch::Tensor ids = idsIn.to(device_, torch::kLong);
  {
    torch::NoGradGuard ng;
    if (ids.min().item<int64_t>() < 0 || ids.max().item<int64_t>() >= cfg_.vocabSize)
      throw InputError("input ids", "token id out of range 0.." + std::to_string(cfg_.vocabSize - 1));
  }
  ForwardResult res;
  const Capture& cap = opts.capture;
  auto keep = [&](const std::string& name, const torch::Tensor& t) {
    if (!cap.empty() && cap.wants(name)) res.cache[name] = t;
  };

  torch::Tensor resid = w_.embed.index_select(0, ids.reshape({-1})).view({Bn, T, d}).to(torch::kFloat32);
  if (cfg_.embedScale)  // Gemma: the normaliser is a tensor in the activation dtype (float32)
    resid = resid * torch::scalar_tensor(static_cast<float>(std::sqrt(static_cast<double>(d))),
                                         torch::TensorOptions().dtype(torch::kFloat32).device(device_));
  keep("hook_embed", resid);

  // Masks (true = hidden): causal, and causal plus the sliding window (key j <= query i - W).
  const auto boolOpts = torch::TensorOptions().dtype(torch::kBool).device(device_);
  const torch::Tensor causal = torch::ones({T, T}, boolOpts).triu(1);
  torch::Tensor windowed;
  if (cfg_.slidingWindow > 0)
    windowed = causal.logical_or(torch::ones({T, T}, boolOpts).tril(-cfg_.slidingWindow));
  const RopeTables rope = ropeTables(cfg_.rope, dh, T, device_);
  const float negInf = -std::numeric_limits<float>::infinity();

  for (int64_t l = 0; l < cfg_.numLayers; ++l) {
    const LlamaLayerWeights& lw = w_.layers[l];
    const std::string b = "blocks." + std::to_string(l) + ".";
    keep(b + "hook_resid_pre", resid);

    // Attention.
    torch::Tensor scale1;
    torch::Tensor x = rmsNorm(resid, lw.ln1, &scale1);
    keep(b + "ln1.hook_scale", scale1);
    torch::Tensor q = linear(x, lw.q_w, lw.q_b).view({Bn, T, H, dh});
    torch::Tensor k = linear(x, lw.k_w, lw.k_b).view({Bn, T, K, dh});
    torch::Tensor v = linear(x, lw.v_w, lw.v_b).view({Bn, T, K, dh});
    keep(b + "attn.hook_q", q);
    keep(b + "attn.hook_k", k);
    keep(b + "attn.hook_v", v);
    torch::Tensor rq = applyRope(q, rope), rk = applyRope(k, rope);
    keep(b + "attn.hook_rot_q", rq);
    keep(b + "attn.hook_rot_k", rk);
    torch::Tensor qh = rq.permute({0, 2, 1, 3});                                // [B, H, T, dh]
    torch::Tensor kh = rk.permute({0, 2, 1, 3}), vh = v.permute({0, 2, 1, 3});  // [B, K, T, dh]
    if (K != H) {  // query head h reads key/value head h / (H / K)
      kh = kh.repeat_interleave(H / K, 1);
      vh = vh.repeat_interleave(H / K, 1);
    }
    torch::Tensor scores = torch::matmul(qh, kh.transpose(-1, -2)) * cfg_.attnScale;  // [B, H, Tq, Tk]
    if (cfg_.attnSoftcap > 0) scores = softcap(scores, cfg_.attnSoftcap);
    const bool sliding = cfg_.slidingLayers[l];
    scores = scores.masked_fill(sliding ? windowed : causal, negInf);
    torch::Tensor pattern = torch::softmax(scores, -1);
    keep(b + "attn.hook_pattern", pattern);
    torch::Tensor z = torch::matmul(pattern, vh).permute({0, 2, 1, 3});  // [B, T, H, dh]
    z = applyZHook(opts, l, z);
    keep(b + "attn.hook_z", z);
    if (opts.stopAfterZOfLayer == l) return res;
    torch::Tensor attnOut = linear(z.reshape({Bn, T, H * dh}), lw.o_w, lw.o_b);
    if (cfg_.postNorms) {
      torch::Tensor s;
      attnOut = rmsNorm(attnOut, lw.ln1_post, &s);
      keep(b + "ln1_post.hook_scale", s);
    }
    keep(b + "hook_attn_out", attnOut);
    resid = resid + attnOut;
    keep(b + "hook_resid_mid", resid);

    // MLP: down(act(gate(x)) * up(x)).
    torch::Tensor scale2;
    torch::Tensor x2 = rmsNorm(resid, lw.ln2, &scale2);
    keep(b + "ln2.hook_scale", scale2);
    torch::Tensor gate = linear(x2, lw.gate_w, lw.gate_b);
    keep(b + "mlp.hook_pre", gate);
    torch::Tensor up = linear(x2, lw.up_w, lw.up_b);
    keep(b + "mlp.hook_pre_linear", up);
    torch::Tensor post = activation(gate) * up;
    keep(b + "mlp.hook_post", post);
    torch::Tensor mlpOut = linear(post, lw.down_w, lw.down_b);
    if (cfg_.postNorms) {
      torch::Tensor s;
      mlpOut = rmsNorm(mlpOut, lw.ln2_post, &s);
      keep(b + "ln2_post.hook_scale", s);
    }
    keep(b + "hook_mlp_out", mlpOut);
    resid = resid + mlpOut;
    keep(b + "hook_resid_post", resid);
  }
  torch::Tensor scaleF;
  torch::Tensor xf = rmsNorm(resid, w_.norm, &scaleF);
  keep("ln_final.hook_scale", scaleF);
  res.logits = unembed(xf);
  if (cfg_.finalSoftcap > 0) res.logits = softcap(res.logits, cfg_.finalSoftcap);
  keep("logits", res.logits);
  return res;
}

}  // namespace zs
