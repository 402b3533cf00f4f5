// The corpus pass of the feature-database builder: per-feature accumulators,
// top-k heaps and quantile reservoirs, and their checkpoint in the database.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/db/builder_internal.h"
#include "core/db/db.h"
#include "core/base/error.h"

namespace zs::db {

std::vector<double> histEdges() {
  std::vector<double> e;
  for (int i = 0; i <= kHistBins; ++i) e.push_back(std::pow(10.0, kHistLog10Lo + double(i) / kHistPerDecade));
  return e;
}

std::vector<double> quantileEdges() {
  std::vector<double> e;
  for (int i = 0; i <= kQuantBuckets - 2; ++i)
    e.push_back(std::pow(10.0, kHistLog10Lo + double(i) / kQuantPerDecade));
  return e;
}

namespace {

uint64_t mix(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

int quantBucket(float v) {
  double t = (std::log10(static_cast<double>(v)) - kHistLog10Lo) * kQuantPerDecade;
  if (t < 0) return 0;
  return static_cast<int>(std::min<double>(kQuantBuckets - 1, 1 + std::floor(t)));
}

void addRef(BuildState& st, int64_t w) { ++st.refs[w]; }
void dropRef(BuildState& st, int64_t w) {
  auto it = st.refs.find(w);
  if (it != st.refs.end() && --it->second <= 0) {
    st.refs.erase(it);
    st.windows.erase(w);
  }
}

// Keeps the k best (activation desc, window asc): heap front is the worst kept.
void offerTop(BuildState& st, std::vector<Cand>& heap, const Cand& c, size_t k) {
  if (heap.size() < k) {
    heap.push_back(c);
    std::push_heap(heap.begin(), heap.end(), better);
    addRef(st, c.window);
  } else if (better(c, heap.front())) {
    std::pop_heap(heap.begin(), heap.end(), better);
    dropRef(st, heap.back().window);
    heap.back() = c;
    std::push_heap(heap.begin(), heap.end(), better);
    addRef(st, c.window);
  }
}

// Keeps the r smallest keys: a uniform sample without replacement, whatever the order of arrival.
void offerSample(BuildState& st, std::vector<Cand>& heap, const Cand& c, size_t r) {
  if (heap.size() < r) {
    heap.push_back(c);
    std::push_heap(heap.begin(), heap.end(), keyLess);
    addRef(st, c.window);
  } else if (keyLess(c, heap.front())) {
    std::pop_heap(heap.begin(), heap.end(), keyLess);
    dropRef(st, heap.back().window);
    heap.back() = c;
    std::push_heap(heap.begin(), heap.end(), keyLess);
    addRef(st, c.window);
  }
}

const char* const kStateFormat = "2";  // 2: exact fixed-point sums (16 bytes per feature)

template <class T>
void bindTensor(Stmt& s, int i, const torch::Tensor& t) {
  torch::Tensor c = t.contiguous().cpu();
  s.bindBlob(i, c.data_ptr<T>(), static_cast<size_t>(c.numel()) * sizeof(T));
}

torch::Tensor tensorFromBlob(const std::vector<uint8_t>& b, torch::ScalarType type, std::vector<int64_t> shape,
                             const torch::Device& dev) {
  torch::Tensor t = torch::empty(shape, torch::TensorOptions().dtype(type));
  if (static_cast<size_t>(t.nbytes()) != b.size()) throw std::runtime_error("saved build state has the wrong size");
  std::memcpy(t.data_ptr(), b.data(), b.size());
  return t.to(dev);
}

}  // namespace

void addFixed(__int128& acc, float x) {
  if (std::isnan(x)) return;
  if (std::isinf(x)) x = x > 0 ? 1e18f : -1e18f;  // saturate: a broken SAE, not a crash
  if (x == 0) return;
  int e = 0;
  const double f = std::frexp(static_cast<double>(x), &e);  // x = f * 2^e, 0.5 <= |f| < 1
  const int64_t m = static_cast<int64_t>(std::ldexp(f, 53));  // exact: a float has 24 significant bits
  const int sh = e - 53 + 64;                                   // x * 2^64 = m * 2^sh
  __int128 v = m;
  if (sh >= 0) {
    v *= static_cast<__int128>(1) << sh;  // |x| < 2^60 -> |v| < 2^124
  } else if (sh > -64) {
    v /= static_cast<__int128>(1) << -sh;  // below 2^-64: truncated, the same way every time
  } else {
    return;
  }
  acc += v;
}

double fixedToDouble(__int128 acc) { return std::ldexp(static_cast<double>(acc), -64); }

uint64_t sampleKey(uint64_t seed, int layer, int64_t feature, int64_t window) {
  return mix(mix(mix(mix(seed) ^ static_cast<uint64_t>(layer)) ^ static_cast<uint64_t>(feature)) ^
             static_cast<uint64_t>(window));
}

void accumulateBatch(BuildState& st, const BuildInputs& in, const BuildOptions& opts,
                     const std::vector<std::vector<int64_t>>& windows, int64_t firstWindow) {
  torch::InferenceMode guard;
  const int64_t B = static_cast<int64_t>(windows.size()), T = static_cast<int64_t>(windows[0].size());
  std::vector<int64_t> flat;
  for (const auto& w : windows) flat.insert(flat.end(), w.begin(), w.end());
  torch::Tensor ids = torch::from_blob(flat.data(), {B, T}, torch::kInt64).clone();

  ForwardOptions fo;
  std::vector<std::string> names;
  for (const auto& ls : st.layers) names.push_back("blocks." + std::to_string(ls.layer) + ".attn.hook_z");
  fo.capture = Capture(names);
  fo.stopAfterZOfLayer = st.layers.back().layer;
  ForwardResult r = in.model->forward(ids, fo);

  for (auto& ls : st.layers) {
    torch::Tensor z = r.cache.at("blocks." + std::to_string(ls.layer) + ".attn.hook_z");
    torch::Tensor f = ls.sae->encode(z.reshape({B, T, -1})).slice(1, 1);  // BOS excluded: [B, T-1, dSae]
    // One scan for the non-zeros serves the counts and the histogram; with a
    // sparse SAE everything after it touches only the few active entries.
    torch::Tensor f2 = f.reshape({-1, ls.dSae});
    torch::Tensor nz = f2.nonzero();  // [K, 2]: (token, feature)
    torch::Tensor col = nz.select(1, 1);
    torch::Tensor vals = f2.index({nz.select(1, 0), col});
    ls.fire += torch::bincount(col, {}, ls.dSae).to(ls.fire.device());
    // Float sum within a batch (~1k tokens), exact fixed point across batches.
    {
      torch::Tensor bs = f2.sum(0).to(torch::kCPU).contiguous();
      const float* p = bs.data_ptr<float>();
      for (int64_t j = 0; j < ls.dSae; ++j) addFixed(ls.sum[static_cast<size_t>(j)], p[j]);
    }
    torch::Tensor bin = ((vals.log10() - kHistLog10Lo) * kHistPerDecade).floor().clamp(-1, kHistBins) + 1;
    torch::Tensor slot = col * kHistSlots + bin.to(torch::kInt64);
    ls.hist += torch::bincount(slot, {}, ls.dSae * kHistSlots).view({ls.dSae, kHistSlots}).to(ls.hist.device());

    // One candidate example per (window, feature): the window's max.
    torch::Tensor wm = f.amax(1);  // [B, dSae]
    ls.max = torch::maximum(ls.max, wm.amax(0).to(ls.max.device()));
    torch::Tensor wnz = wm.nonzero().cpu();
    torch::Tensor wv = wm.cpu().index({wnz.select(1, 0), wnz.select(1, 1)});
    auto nzA = wnz.accessor<int64_t, 2>();
    auto vA = wv.accessor<float, 1>();
    for (int64_t i = 0; i < wnz.size(0); ++i) {
      const int64_t b = nzA[i][0], j = nzA[i][1];
      Cand c{vA[i], firstWindow + b, 0};
      offerTop(st, ls.top[static_cast<size_t>(j)], c, static_cast<size_t>(opts.topK));
      c.key = sampleKey(opts.seed, ls.layer, j, c.window);
      offerSample(st, ls.quant[static_cast<size_t>(j * kQuantBuckets + quantBucket(c.act))], c,
                  static_cast<size_t>(opts.samplesPerBucket));
    }
  }
  for (int64_t b = 0; b < B; ++b) {
    const int64_t w = firstWindow + b;
    if (st.refs.count(w)) st.windows[w] = std::vector<int32_t>(windows[b].begin(), windows[b].end());
  }
  st.windowsDone += B;
  st.tokensDone += B * (T - 1);
}

void saveState(Db& db, const BuildState& st) {
  db.exec("DELETE FROM build_accumulators; DELETE FROM build_candidates; DELETE FROM build_windows;");
  Stmt a(db, "INSERT INTO build_accumulators(layer, fire_count, sum, max, hist) VALUES(?,?,?,?,?)");
  Stmt c(db, "INSERT INTO build_candidates(layer, feature, bucket, activation, key, window) VALUES(?,?,?,?,?,?)");
  for (const auto& ls : st.layers) {
    a.reset();
    a.bind(1, ls.layer);
    bindTensor<int64_t>(a, 2, ls.fire);
    a.bindBlob(3, ls.sum.data(), ls.sum.size() * sizeof(__int128));
    bindTensor<float>(a, 4, ls.max);
    bindTensor<int64_t>(a, 5, ls.hist);
    a.run();
    auto put = [&](int64_t j, int bucket, const Cand& x) {
      c.reset();
      // The activation is stored as the exact float (a double holds it losslessly).
      c.bind(1, ls.layer).bind(2, j).bind(3, bucket).bind(4, static_cast<double>(x.act));
      c.bind(5, static_cast<int64_t>(x.key)).bind(6, x.window).run();
    };
    for (size_t j = 0; j < ls.top.size(); ++j)
      for (const auto& x : ls.top[j]) put(static_cast<int64_t>(j), -1, x);
    for (size_t k = 0; k < ls.quant.size(); ++k)
      for (const auto& x : ls.quant[k])
        put(static_cast<int64_t>(k) / kQuantBuckets, static_cast<int>(k % kQuantBuckets), x);
  }
  Stmt w(db, "INSERT INTO build_windows(window, tokens) VALUES(?,?)");
  for (const auto& [id, toks] : st.windows) {
    w.reset();
    w.bind(1, id).bindBlob(2, toks.data(), toks.size() * sizeof(int32_t)).run();
  }
  metaSet(db, "windows_done", std::to_string(st.windowsDone));
  metaSet(db, "tokens_done", std::to_string(st.tokensDone));
  metaSet(db, "build_state_format", kStateFormat);
}

void loadState(Db& db, BuildState& st) {
  if (metaGet(db, "build_state_format") != kStateFormat)
    throw InputError(db.path(), "holds the saved state of an interrupted build from an older Zscope, which this "
                                "version cannot resume (sums are now kept exactly); run the command again with --force");
  st.windowsDone = std::stoll(metaGet(db, "windows_done", "0"));
  st.tokensDone = std::stoll(metaGet(db, "tokens_done", "0"));
  st.windows.clear();
  st.refs.clear();
  for (auto& ls : st.layers) {
    Stmt a(db, "SELECT fire_count, sum, max, hist FROM build_accumulators WHERE layer=?");
    a.bind(1, ls.layer);
    if (!a.step()) throw std::runtime_error("saved build state lacks layer " + std::to_string(ls.layer));
    const auto dev = ls.fire.device();
    ls.fire = tensorFromBlob(a.blob(0), torch::kInt64, {ls.dSae}, dev);
    {
      const std::vector<uint8_t> b = a.blob(1);
      if (b.size() != static_cast<size_t>(ls.dSae) * sizeof(__int128))
        throw std::runtime_error("saved build state has the wrong size");
      ls.sum.assign(static_cast<size_t>(ls.dSae), 0);
      std::memcpy(ls.sum.data(), b.data(), b.size());
    }
    ls.max = tensorFromBlob(a.blob(2), torch::kFloat, {ls.dSae}, dev);
    ls.hist = tensorFromBlob(a.blob(3), torch::kInt64, {ls.dSae, kHistSlots}, dev);
    ls.top.assign(static_cast<size_t>(ls.dSae), {});
    ls.quant.assign(static_cast<size_t>(ls.dSae * kQuantBuckets), {});
    Stmt c(db, "SELECT feature, bucket, activation, key, window FROM build_candidates WHERE layer=?");
    c.bind(1, ls.layer);
    while (c.step()) {
      const int64_t j = c.i64(0);
      const int bucket = static_cast<int>(c.i64(1));
      Cand x{static_cast<float>(c.f64(2)), c.i64(4), static_cast<uint64_t>(c.i64(3))};
      ++st.refs[x.window];
      if (bucket < 0) {
        ls.top[static_cast<size_t>(j)].push_back(x);
      } else {
        ls.quant[static_cast<size_t>(j * kQuantBuckets + bucket)].push_back(x);
      }
    }
    for (auto& h : ls.top) std::make_heap(h.begin(), h.end(), better);
    for (auto& h : ls.quant) std::make_heap(h.begin(), h.end(), keyLess);
  }
  Stmt w(db, "SELECT window, tokens FROM build_windows");
  while (w.step()) st.windows[w.i64(0)] = w.blobAs<int32_t>(1);
}

namespace {

void rebuildRefs(BuildState& st) {
  st.refs.clear();
  for (const auto& ls : st.layers) {
    for (const auto& h : ls.top)
      for (const auto& c : h) ++st.refs[c.window];
    for (const auto& h : ls.quant)
      for (const auto& c : h) ++st.refs[c.window];
  }
  for (auto it = st.windows.begin(); it != st.windows.end();)
    it = st.refs.count(it->first) ? std::next(it) : st.windows.erase(it);
}

// Keeps the n first of a and b under `less` (a strict total order): the same
// set a single heap fed with every candidate keeps.
template <class Less>
void keepBest(std::vector<Cand>& a, std::vector<Cand>& b, size_t n, Less less) {
  a.insert(a.end(), b.begin(), b.end());
  std::sort(a.begin(), a.end(), less);
  if (a.size() > n) a.resize(n);
  std::make_heap(a.begin(), a.end(), less);
}

}  // namespace

void mergeState(BuildState& a, BuildState&& b, const BuildOptions& opts) {
  if (a.layers.size() != b.layers.size()) throw std::runtime_error("mergeState: different layers");
  for (size_t li = 0; li < a.layers.size(); ++li) {
    LayerState& x = a.layers[li];
    LayerState& y = b.layers[li];
    x.fire += y.fire.to(x.fire.device());
    x.hist += y.hist.to(x.hist.device());
    x.max = torch::maximum(x.max, y.max.to(x.max.device()));
    for (size_t j = 0; j < x.sum.size(); ++j) x.sum[j] += y.sum[j];
    for (size_t j = 0; j < x.top.size(); ++j) keepBest(x.top[j], y.top[j], static_cast<size_t>(opts.topK), better);
    for (size_t k = 0; k < x.quant.size(); ++k)
      keepBest(x.quant[k], y.quant[k], static_cast<size_t>(opts.samplesPerBucket), keyLess);
  }
  for (auto& [w, toks] : b.windows) a.windows.emplace(w, std::move(toks));
  a.windowsDone += b.windowsDone;
  a.tokensDone += b.tokensDone;
  rebuildRefs(a);
}

}  // namespace zs::db
