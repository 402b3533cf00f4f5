#include "core/io/pt_reader.h"

#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <variant>
#include <vector>

#include "core/base/error.h"

namespace zs {
namespace {

uint32_t rd16(const uint8_t* p) { return p[0] | (p[1] << 8); }
uint32_t rd32(const uint8_t* p) { return p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<uint32_t>(p[3]) << 24); }

// Stored (uncompressed) zip entries, as torch.save writes them.
std::map<std::string, std::pair<size_t, size_t>> zipEntries(const std::vector<uint8_t>& b, const std::string& file) {
  if (b.size() < 22) throw InputError(file, "too small to be a torch.save file");
  if (b.size() >= 8 && b[0] == 0x80 && b[1] == 0x02)
    throw InputError(file, "legacy (pre-1.6, non-zip) torch.save format; re-save it with torch.save(dict(sd), path) in torch >= 1.6");
  size_t eocd = std::string::npos;
  for (size_t i = b.size() - 22 + 1; i-- > 0 && b.size() - i < 22 + 65536;)
    if (rd32(&b[i]) == 0x06054b50) {
      eocd = i;
      break;
    }
  if (eocd == std::string::npos) throw InputError(file, "not a zip archive (torch.save files are)");
  uint64_t count = rd16(&b[eocd + 10]), cdOff = rd32(&b[eocd + 16]);
  if (count == 0xFFFF || cdOff == 0xFFFFFFFFu) throw InputError(file, "ZIP64 archives are not supported");
  std::map<std::string, std::pair<size_t, size_t>> out;
  size_t p = cdOff;
  for (uint64_t i = 0; i < count; ++i) {
    if (p + 46 > b.size() || rd32(&b[p]) != 0x02014b50) throw InputError(file, "corrupt zip central directory");
    uint32_t method = rd16(&b[p + 10]), csize = rd32(&b[p + 20]), usize = rd32(&b[p + 24]);
    uint32_t nlen = rd16(&b[p + 28]), xlen = rd16(&b[p + 30]), clen = rd16(&b[p + 32]), lho = rd32(&b[p + 42]);
    if (p + 46 + nlen > b.size()) throw InputError(file, "corrupt zip central directory");
    std::string name(reinterpret_cast<const char*>(&b[p + 46]), nlen);
    if (method != 0 || csize != usize) throw InputError(file, "zip entry " + name + " is compressed; torch.save stores entries uncompressed");
    if (static_cast<size_t>(lho) + 30 > b.size() || rd32(&b[lho]) != 0x04034b50) throw InputError(file, "corrupt zip local header for " + name);
    size_t data = static_cast<size_t>(lho) + 30 + rd16(&b[lho + 26]) + rd16(&b[lho + 28]);
    if (data > b.size() || csize > b.size() - data) throw InputError(file, "zip entry " + name + " runs past the end of the file");
    out[name] = {data, csize};
    p += 46 + nlen + xlen + clen;
  }
  return out;
}

struct Val;
using ValP = std::shared_ptr<Val>;
struct Storage {
  std::string key;
  torch::ScalarType dtype;
  int64_t numel;
};
struct TensorRef {
  std::shared_ptr<Storage> storage;
  int64_t offset;
  std::vector<int64_t> size, stride;
};
struct Val {
  enum Kind { None, Bool, Int, Float, Str, Tuple, List, Dict, Global, StorageV, TensorV, Mark } kind = None;
  int64_t i = 0;
  double f = 0;
  std::string s;  // Str, or Global "module.name"
  std::vector<ValP> items;                       // Tuple / List
  std::vector<std::pair<ValP, ValP>> dict;       // Dict (in order)
  std::shared_ptr<Storage> storage;
  std::shared_ptr<TensorRef> tensor;
};
ValP mk(Val::Kind k) {
  auto v = std::make_shared<Val>();
  v->kind = k;
  return v;
}

class Machine {
 public:
  Machine(const uint8_t* p, size_t n, std::string file) : p_(p), n_(n), file_(std::move(file)) {}
  ValP run() {
    for (;;) {
      uint8_t op = byte();
      switch (op) {
        case 0x80: byte(); break;  // PROTO
        case 0x95: bytes(8); break;  // FRAME
        case '}': push(mk(Val::Dict)); break;
        case ']': push(mk(Val::List)); break;
        case ')': push(mk(Val::Tuple)); break;
        case 'N': push(mk(Val::None)); break;
        case 0x88: case 0x89: { auto v = mk(Val::Bool); v->i = op == 0x88; push(v); break; }
        case '(': push(mk(Val::Mark)); break;
        case 'K': { auto v = mk(Val::Int); v->i = byte(); push(v); break; }
        case 'M': { auto v = mk(Val::Int); v->i = rd16(bytes(2)); push(v); break; }
        case 'J': { auto v = mk(Val::Int); v->i = static_cast<int32_t>(rd32(bytes(4))); push(v); break; }
        case 0x8a: {  // LONG1
          uint8_t len = byte();
          const uint8_t* d = bytes(len);
          int64_t x = 0;
          if (len > 8) fail("integer too large");
          for (int k = len - 1; k >= 0; --k) x = (x << 8) | d[k];
          if (len > 0 && len < 8 && (d[len - 1] & 0x80)) x -= (int64_t(1) << (8 * len));
          auto v = mk(Val::Int); v->i = x; push(v); break;
        }
        case 'G': {
          const uint8_t* d = bytes(8);
          uint64_t u = 0;
          for (int k = 0; k < 8; ++k) u = (u << 8) | d[k];
          auto v = mk(Val::Float); std::memcpy(&v->f, &u, 8); push(v); break;
        }
        case 'X': { uint32_t len = rd32(bytes(4)); auto v = mk(Val::Str); v->s = str(len); push(v); break; }
        case 0x8c: { uint8_t len = byte(); auto v = mk(Val::Str); v->s = str(len); push(v); break; }
        case 'q': memo(byte()); break;
        case 'r': memo(rd32(bytes(4))); break;
        case 0x94: memo(memo_.size()); break;  // MEMOIZE
        case 'h': push(get(byte())); break;
        case 'j': push(get(rd32(bytes(4)))); break;
        case 'c': { std::string m = line(), n = line(); global(m + "." + n); break; }
        case 0x93: { auto n = pop(); auto m = pop(); global(m->s + "." + n->s); break; }  // STACK_GLOBAL
        case 't': { auto items = popMark(); auto v = mk(Val::Tuple); v->items = items; push(v); break; }
        case 0x85: case 0x86: case 0x87: {
          size_t k = op - 0x84;
          auto v = mk(Val::Tuple);
          v->items.resize(k);
          for (size_t q = k; q-- > 0;) v->items[q] = pop();
          push(v);
          break;
        }
        case 'a': { auto x = pop(); list(top())->items.push_back(x); break; }
        case 'e': { auto items = popMark(); auto l = list(top()); for (auto& x : items) l->items.push_back(x); break; }
        case 's': { auto v = pop(); auto k = pop(); dictOf(top())->dict.emplace_back(k, v); break; }
        case 'u': {
          auto items = popMark();
          if (items.size() % 2) fail("odd SETITEMS");
          auto d = dictOf(top());
          for (size_t q = 0; q < items.size(); q += 2) d->dict.emplace_back(items[q], items[q + 1]);
          break;
        }
        case 'b': { pop(); dictOf(top()); break; }  // BUILD on an OrderedDict: its _metadata is dropped
        case 'Q': persistent(); break;
        case 'R': reduce(); break;
        case '.': return pop();
        default: fail("unsupported pickle opcode 0x" + hex(op));
      }
    }
  }

 private:
  [[noreturn]] void fail(const std::string& why) { throw InputError(file_, "data.pkl: " + why); }
  static std::string hex(uint8_t b) {
    const char* h = "0123456789abcdef";
    return std::string{h[b >> 4], h[b & 15]};
  }
  uint8_t byte() { return *bytes(1); }
  const uint8_t* bytes(size_t k) {
    if (k > n_ - pos_) fail("truncated");
    const uint8_t* r = p_ + pos_;
    pos_ += k;
    return r;
  }
  std::string str(size_t k) { return std::string(reinterpret_cast<const char*>(bytes(k)), k); }
  std::string line() {
    std::string s;
    for (char c; (c = static_cast<char>(byte())) != '\n';) s += c;
    return s;
  }
  void push(ValP v) { stack_.push_back(std::move(v)); }
  ValP pop() {
    if (stack_.empty()) fail("stack underflow");
    auto v = stack_.back();
    stack_.pop_back();
    return v;
  }
  ValP& top() {
    if (stack_.empty()) fail("stack underflow");
    return stack_.back();
  }
  std::vector<ValP> popMark() {
    std::vector<ValP> items;
    for (;;) {
      auto v = pop();
      if (v->kind == Val::Mark) break;
      items.push_back(v);
    }
    return {items.rbegin(), items.rend()};
  }
  void memo(size_t k) {
    if (k > 10000000) fail("memo index too large");
    if (memo_.size() <= k) memo_.resize(k + 1);
    memo_[k] = top();
  }
  ValP get(size_t k) {
    if (k >= memo_.size() || !memo_[k]) fail("bad memo reference");
    return memo_[k];
  }
  ValP list(ValP& v) {
    if (v->kind != Val::List) fail("APPEND to a non-list");
    return v;
  }
  ValP dictOf(ValP& v) {
    if (v->kind != Val::Dict) fail("SETITEM/BUILD on a non-dict");
    return v;
  }
  void global(const std::string& name) {
    static const std::map<std::string, int> ok = {{"collections.OrderedDict", 0}, {"torch._utils._rebuild_tensor_v2", 0},
        {"torch._utils._rebuild_parameter", 0}, {"torch.jit._pickle.restore_type_tag", 0}, {"torch.FloatStorage", 0}, {"torch.DoubleStorage", 0},
        {"torch.HalfStorage", 0}, {"torch.BFloat16Storage", 0}};
    if (!ok.count(name))
      fail("refusing to load: the pickle references '" + name + "', which a plain tensor state dict never does");
    auto v = mk(Val::Global);
    v->s = name;
    push(v);
  }
  void persistent() {
    auto id = pop();
    if (id->kind != Val::Tuple || id->items.size() < 5 || id->items[0]->s != "storage" || id->items[1]->kind != Val::Global)
      fail("unexpected persistent id (not a tensor storage)");
    auto st = std::make_shared<Storage>();
    const std::string& t = id->items[1]->s;
    st->dtype = t == "torch.FloatStorage" ? torch::kFloat32 : t == "torch.DoubleStorage" ? torch::kFloat64
              : t == "torch.HalfStorage" ? torch::kFloat16 : torch::kBFloat16;
    st->key = id->items[2]->s;
    st->numel = id->items[4]->i;
    auto v = mk(Val::StorageV);
    v->storage = st;
    push(v);
  }
  static std::vector<int64_t> ints(const ValP& t) {
    std::vector<int64_t> r;
    for (auto& x : t->items) r.push_back(x->i);
    return r;
  }
  void reduce() {
    auto args = pop();
    auto fn = pop();
    if (fn->kind != Val::Global || args->kind != Val::Tuple) fail("REDUCE of a non-global");
    if (fn->s == "collections.OrderedDict") {
      push(mk(Val::Dict));
    } else if (fn->s == "torch._utils._rebuild_tensor_v2") {
      if (args->items.size() < 4 || args->items[0]->kind != Val::StorageV) fail("bad _rebuild_tensor_v2 arguments");
      auto tr = std::make_shared<TensorRef>();
      tr->storage = args->items[0]->storage;
      tr->offset = args->items[1]->i;
      tr->size = ints(args->items[2]);
      tr->stride = ints(args->items[3]);
      auto v = mk(Val::TensorV);
      v->tensor = tr;
      push(v);
    } else if (fn->s == "torch.jit._pickle.restore_type_tag") {
      // LibTorch's pickler wraps typed containers: restore_type_tag(value, "Dict[str, Tensor]").
      if (args->items.empty()) fail("bad restore_type_tag arguments");
      push(args->items[0]);
    } else if (fn->s == "torch._utils._rebuild_parameter") {
      if (args->items.empty() || args->items[0]->kind != Val::TensorV) fail("bad _rebuild_parameter arguments");
      push(args->items[0]);
    } else {
      fail("cannot call " + fn->s);
    }
  }
  const uint8_t* p_;
  size_t n_, pos_ = 0;
  std::string file_;
  std::vector<ValP> stack_, memo_;
};

}  // namespace

std::map<std::string, torch::Tensor> loadTorchStateDict(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path, "cannot open");
  std::vector<uint8_t> b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto entries = zipEntries(b, path);
  std::string prefix;
  for (const auto& kv : entries) {
    const std::string suf = "/data.pkl";
    if (kv.first.size() > suf.size() && kv.first.compare(kv.first.size() - suf.size(), suf.size(), suf) == 0 &&
        std::count(kv.first.begin(), kv.first.end(), '/') == 1)
      prefix = kv.first.substr(0, kv.first.size() - suf.size());
  }
  if (prefix.empty()) throw InputError(path, "no <archive>/data.pkl inside: not a torch.save file");
  auto pk = entries.at(prefix + "/data.pkl");
  auto root = Machine(b.data() + pk.first, pk.second, path).run();
  if (root->kind != Val::Dict) throw InputError(path, "the pickle does not hold a dict of tensors");
  std::map<std::string, torch::Tensor> out;
  for (auto& [k, v] : root->dict) {
    if (k->kind != Val::Str) throw InputError(path, "a state-dict key is not a string");
    if (v->kind != Val::TensorV) throw InputError(path, "entry '" + k->s + "' is not a tensor");
    const auto& t = *v->tensor;
    auto it = entries.find(prefix + "/data/" + t.storage->key);
    if (it == entries.end()) throw InputError(path, "storage " + t.storage->key + " of '" + k->s + "' is missing");
    const int64_t esize = static_cast<int64_t>(c10::elementSize(t.storage->dtype));
    if (t.storage->numel < 0 || static_cast<size_t>(t.storage->numel * esize) > it->second.second)
      throw InputError(path, "storage " + t.storage->key + " is shorter than its declared size");
    if (t.size.size() != t.stride.size()) throw InputError(path, "tensor '" + k->s + "' has mismatched size/stride");
    int64_t maxIndex = t.offset;
    for (size_t d = 0; d < t.size.size(); ++d) {
      if (t.size[d] < 0 || t.stride[d] < 0) throw InputError(path, "tensor '" + k->s + "' has a negative size or stride");
      if (t.size[d] == 0) maxIndex = -1;
      if (maxIndex >= 0) maxIndex += (t.size[d] - 1) * t.stride[d];
    }
    if (t.offset < 0 || maxIndex >= t.storage->numel)
      throw InputError(path, "tensor '" + k->s + "' reaches outside its storage");
    auto storage = torch::empty({t.storage->numel}, torch::TensorOptions().dtype(t.storage->dtype));
    std::memcpy(storage.data_ptr(), b.data() + it->second.first, static_cast<size_t>(t.storage->numel * esize));
    out[k->s] = storage.as_strided(t.size, t.stride, t.offset).to(torch::kFloat32).contiguous().clone();
  }
  return out;
}

}  // namespace zs
