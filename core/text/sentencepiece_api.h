#pragma once
// The boundary to libsentencepiece (no torch). Debian's libsentencepiece
// carries its own protobuf-lite and exports its symbols, which clash with the
// libprotobuf that LibTorch loads (a crash before main). So SentencePiece
// lives in a small plug-in, libzscope_sentencepiece.so, opened with
// dlopen(RTLD_LOCAL | RTLD_DEEPBIND): its protobuf stays private to it.
// Only this interface (virtual calls, std types) crosses the boundary.
#include <memory>
#include <string>
#include <vector>

namespace zs::spm {

class Model {
 public:
  virtual ~Model() = default;
  virtual bool load(const std::string& path, std::string* error) = 0;
  virtual bool encode(const std::string& text, std::vector<int>* ids, std::string* error) const = 0;
  virtual bool decode(const std::vector<int>& ids, std::string* text, std::string* error) const = 0;
  virtual int pieceSize() const = 0;
  virtual int pieceToId(const std::string& piece) const = 0;
  virtual std::string idToPiece(int id) const = 0;
  virtual bool isControl(int id) const = 0;
  virtual bool isUnknown(int id) const = 0;
  virtual bool isByte(int id) const = 0;
  virtual int bosId() const = 0;
  virtual int eosId() const = 0;
  virtual int unkId() const = 0;
};

// A new, empty model from the plug-in; throws InputError when the plug-in
// cannot be found or opened. Search order: $ZSCOPE_SENTENCEPIECE_PLUGIN, next
// to the executable, ../lib/zscope/ beside it, then the build tree.
std::unique_ptr<Model> newModel();

// Trains a model with SentencePieceTrainer (flags as for spm_train); for tests.
bool train(const std::string& flags, std::string* error);

}  // namespace zs::spm
