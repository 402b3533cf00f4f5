#pragma once
// Shared by the explorer tests: a random attention SAE (SAELens layout) for
// ../shared/testdata/tiny-gpt2, written without torch, with its weights kept
// so tests can compute head attribution independently.
#include <QDir>
#include <QFile>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/db/builder.h"
#include "core/io/safetensors.h"

namespace zs::test {

struct RandomSae {
  std::string dir;
  int layer = 0, dIn = 64, dSae = 32, nHead = 4;
  std::vector<float> W_enc, W_dec, b_enc, b_dec;  // [dIn,dSae], [dSae,dIn], [dSae], [dIn]

  // Head fractions of feature f (ATTRIBUTION.md): norms of the head blocks of W_dec[f], normalised.
  std::vector<float> headFractions(int f) const {
    const int dh = dIn / nHead;
    std::vector<double> n(nHead, 0.0);
    double total = 0;
    for (int h = 0; h < nHead; ++h) {
      double s = 0;
      for (int k = 0; k < dh; ++k) s += double(W_dec[size_t(f) * dIn + h * dh + k]) * W_dec[size_t(f) * dIn + h * dh + k];
      n[h] = std::sqrt(s);
      total += n[h];
    }
    std::vector<float> out;
    for (double v : n) out.push_back(float(v / total));
    return out;
  }
};

// Writes <root>/blocks.<layer>.attn.hook_z/{cfg.json,sae_weights.safetensors}.
inline RandomSae writeRandomSae(const std::string& root, int layer, int dIn, int dSae, int nHead, unsigned seed) {
  RandomSae s;
  s.layer = layer;
  s.dIn = dIn;
  s.dSae = dSae;
  s.nHead = nHead;
  s.dir = root + "/blocks." + std::to_string(layer) + ".attn.hook_z";
  QDir().mkpath(QString::fromStdString(s.dir));
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.f, 1.f);
  s.W_dec.resize(size_t(dSae) * dIn);
  for (int f = 0; f < dSae; ++f) {
    double norm = 0;
    for (int i = 0; i < dIn; ++i) {
      // Uneven head scales so head fractions differ clearly between heads.
      const float v = nd(rng) * (1.0f + float((f + i / (dIn / nHead)) % nHead));
      s.W_dec[size_t(f) * dIn + i] = v;
      norm += double(v) * v;
    }
    for (int i = 0; i < dIn; ++i) s.W_dec[size_t(f) * dIn + i] /= float(std::sqrt(norm));
  }
  s.W_enc.resize(size_t(dIn) * dSae);
  for (int i = 0; i < dIn; ++i)
    for (int f = 0; f < dSae; ++f) s.W_enc[size_t(i) * dSae + f] = s.W_dec[size_t(f) * dIn + i] * 2.0f;
  s.b_enc.assign(dSae, 0.02f);
  s.b_dec.assign(dIn, 0.f);
  for (int i = 0; i < dIn; ++i) s.b_dec[i] = 0.01f * nd(rng);
  std::vector<st::WriteTensor> t = {
      {"W_enc", st::DType::F32, {dIn, dSae}, s.W_enc.data()},
      {"W_dec", st::DType::F32, {dSae, dIn}, s.W_dec.data()},
      {"b_enc", st::DType::F32, {dSae}, s.b_enc.data()},
      {"b_dec", st::DType::F32, {dIn}, s.b_dec.data()}};
  st::write(s.dir + "/sae_weights.safetensors", t);
  QFile cfg(QString::fromStdString(s.dir + "/cfg.json"));
  cfg.open(QIODevice::WriteOnly);
  cfg.write(QString("{\"d_in\": %1, \"d_sae\": %2, \"hook_name\": \"blocks.%3.attn.hook_z\", \"hook_layer\": %3, "
                    "\"apply_b_dec_to_input\": true, \"activation_fn_str\": \"relu\", \"model_name\": \"tiny-gpt2\", "
                    "\"dtype\": \"float32\", \"context_size\": 64}")
                .arg(dIn).arg(dSae).arg(layer).toUtf8());
  return s;
}

// Options for a small feature database of `model` and `saeDirs` over a repeated
// English sentence written to <dir>/corpus.txt; the database goes to <dir>/features.zscope.db.
inline zs::db::BuildOptions smallDbOptions(const std::string& model, std::vector<std::string> saeDirs,
                                           const std::string& dir, int64_t tokens, int64_t topK) {
  QDir().mkpath(QString::fromStdString(dir));
  QFile c(QString::fromStdString(dir + "/corpus.txt"));
  if (c.open(QIODevice::WriteOnly))
    for (int i = 0; i < 60; ++i) c.write("the cat sat on the mat. a dog ran to the cat and the mat.\n");
  zs::db::BuildOptions o;
  o.modelDir = model;
  o.saeDirs = std::move(saeDirs);
  o.corpus = dir + "/corpus.txt";
  o.out = dir + "/features.zscope.db";
  o.tokens = tokens;
  o.context = 32;
  o.topK = topK;
  o.samplesPerBucket = 1;
  o.device = "cpu";
  return o;
}

}  // namespace zs::test
