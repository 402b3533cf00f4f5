// libzscope_sentencepiece.so: the only code that links libsentencepiece (see
// sentencepiece_api.h for why). Built as a CMake MODULE, opened at run time.
#include <dlfcn.h>
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <iostream>
#include <new>

#include "core/text/sentencepiece_api.h"

namespace {

// Under RTLD_DEEPBIND, libsentencepiece binds std::cerr / std::cout / std::clog
// to libstdc++'s own storage. When the executable has copy-relocated those
// objects (it uses them), libstdc++ constructed the copies and left its own
// storage raw, so the first log line would crash. Construct that storage as
// streams writing to the same buffers.
void bindStandardStreams() {
  void* main = dlopen(nullptr, RTLD_NOW);  // the program's global scope
  if (!main) return;
  struct S { std::ostream* local; const char* name; };
  for (S s : {S{&std::cerr, "_ZSt4cerr"}, S{&std::cout, "_ZSt4cout"}, S{&std::clog, "_ZSt4clog"}}) {
    auto* global = static_cast<std::ostream*>(dlsym(main, s.name));
    if (global && global != s.local) new (s.local) std::ostream(global->rdbuf());
  }
}

struct Init {
  Init() { bindStandardStreams(); }
} init;

class Impl final : public zs::spm::Model {
 public:
  bool load(const std::string& path, std::string* error) override {
    auto st = sp_.Load(path);
    if (!st.ok()) *error = st.ToString();
    return st.ok();
  }
  bool encode(const std::string& text, std::vector<int>* ids, std::string* error) const override {
    auto st = sp_.Encode(text, ids);
    if (!st.ok()) *error = st.ToString();
    return st.ok();
  }
  bool decode(const std::vector<int>& ids, std::string* text, std::string* error) const override {
    auto st = sp_.Decode(ids, text);
    if (!st.ok()) *error = st.ToString();
    return st.ok();
  }
  int pieceSize() const override { return sp_.GetPieceSize(); }
  int pieceToId(const std::string& piece) const override { return sp_.PieceToId(piece); }
  std::string idToPiece(int id) const override { return sp_.IdToPiece(id); }
  bool isControl(int id) const override { return sp_.IsControl(id); }
  bool isUnknown(int id) const override { return sp_.IsUnknown(id); }
  bool isByte(int id) const override { return sp_.IsByte(id); }
  int bosId() const override { return sp_.bos_id(); }
  int eosId() const override { return sp_.eos_id(); }
  int unkId() const override { return sp_.unk_id(); }

 private:
  sentencepiece::SentencePieceProcessor sp_;
};

}  // namespace

extern "C" __attribute__((visibility("default"))) zs::spm::Model* zscope_spm_new() {
  try {
    return new Impl();
  } catch (...) {
    return nullptr;
  }
}

extern "C" __attribute__((visibility("default"))) bool zscope_spm_train(const std::string* flags, std::string* error) {
  try {
    auto st = sentencepiece::SentencePieceTrainer::Train(*flags);
    if (!st.ok()) *error = st.ToString();
    return st.ok();
  } catch (const std::exception& e) {
    *error = e.what();
    return false;
  }
}
