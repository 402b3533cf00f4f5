#pragma once
// A thin wrapper over the sqlite3 C API for the feature database. No torch, no
// Qt: the GUI uses it directly. One Db per thread: a connection is never shared
// across threads (open a second Db on the same file instead; WAL lets readers
// and one writer work side by side).
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace zs::db {

class Db;

// A prepared statement. Bind indexes start at 1, column indexes at 0.
class Stmt {
 public:
  Stmt(Db& db, const std::string& sql);
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& bind(int i, int64_t v);
  Stmt& bind(int i, int v) { return bind(i, static_cast<int64_t>(v)); }
  Stmt& bind(int i, double v);
  Stmt& bind(int i, const std::string& v);
  Stmt& bind(int i, const char* v) { return bind(i, std::string(v)); }
  Stmt& bindBlob(int i, const void* data, size_t bytes);
  Stmt& bindNull(int i);
  // Steps once: true when a row is available, false when done. Throws on error.
  bool step();
  void run() { while (step()) {} }  // executes to completion
  void reset();                     // ready to bind and step again (bindings kept)

  bool isNull(int col) const;
  int64_t i64(int col) const;
  double f64(int col) const;
  std::string text(int col) const;
  std::vector<uint8_t> blob(int col) const;
  template <class T>
  std::vector<T> blobAs(int col) const {
    auto b = blob(col);
    std::vector<T> out(b.size() / sizeof(T));
    if (!out.empty()) std::memcpy(out.data(), b.data(), out.size() * sizeof(T));
    return out;
  }

 private:
  Db& db_;
  sqlite3_stmt* st_ = nullptr;
};

struct OpenOptions {
  bool create = true;        // create the file (and schema) when absent
  bool readOnly = false;
  // synchronous=FULL: every COMMIT is fsynced (labels: a confirmed write survives
  // a power cut). NORMAL is enough for the builder, whose work is resumable.
  bool durable = true;
  int busyTimeoutMs = 10000;
  bool migrate = true;       // bring the schema to the current version
};

class Db {
 public:
  // Opens (or creates) a database file; WAL, foreign keys, busy timeout, and
  // the schema migrated to the current version. Throws InputError naming the file.
  static std::unique_ptr<Db> open(const std::string& path, const OpenOptions& opts = {});
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  const std::string& path() const { return path_; }
  sqlite3* handle() { return db_; }
  void exec(const std::string& sql);  // one or more statements, no results
  int64_t lastInsertId() const;
  int userVersion();
  void setUserVersion(int v);
  std::string integrityCheck();  // "ok" when healthy

  // Runs fn inside BEGIN IMMEDIATE ... COMMIT; rolls back and rethrows on any
  // exception, so a write is either wholly there or not at all.
  void transaction(const std::function<void()>& fn);
  bool inTransaction() const { return depth_ > 0; }

  // Throws InputError("<file>: <context>: <sqlite message>").
  [[noreturn]] void fail(const std::string& context) const;

 private:
  Db() = default;
  sqlite3* db_ = nullptr;
  std::string path_;
  int depth_ = 0;
};

// Helpers for the common cases.
std::string metaGet(Db& db, const std::string& key, const std::string& def = {});
void metaSet(Db& db, const std::string& key, const std::string& value);
std::string nowIso();  // UTC, "2026-01-31T12:34:56.789Z"

}  // namespace zs::db
