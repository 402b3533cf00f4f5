#include "core/db/db.h"

#include <sqlite3.h>

#include <chrono>
#include <ctime>
#include <filesystem>

#include "core/db/schema.h"
#include "core/base/error.h"

namespace zs::db {

// ---- Stmt ------------------------------------------------------------------

Stmt::Stmt(Db& db, const std::string& sql) : db_(db) {
  if (sqlite3_prepare_v2(db.handle(), sql.c_str(), -1, &st_, nullptr) != SQLITE_OK)
    db.fail("preparing '" + sql.substr(0, 60) + "'");
}

Stmt::~Stmt() { sqlite3_finalize(st_); }

Stmt& Stmt::bind(int i, int64_t v) {
  if (sqlite3_bind_int64(st_, i, v) != SQLITE_OK) db_.fail("bind");
  return *this;
}
Stmt& Stmt::bind(int i, double v) {
  if (sqlite3_bind_double(st_, i, v) != SQLITE_OK) db_.fail("bind");
  return *this;
}
Stmt& Stmt::bind(int i, const std::string& v) {
  if (sqlite3_bind_text(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT) != SQLITE_OK)
    db_.fail("bind");
  return *this;
}
Stmt& Stmt::bindBlob(int i, const void* data, size_t bytes) {
  static const char empty = 0;
  if (sqlite3_bind_blob64(st_, i, bytes ? data : &empty, bytes, SQLITE_TRANSIENT) != SQLITE_OK)
    db_.fail("bind");
  return *this;
}
Stmt& Stmt::bindNull(int i) {
  if (sqlite3_bind_null(st_, i) != SQLITE_OK) db_.fail("bind");
  return *this;
}

bool Stmt::step() {
  int rc = sqlite3_step(st_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  sqlite3_reset(st_);
  db_.fail("executing statement");
}

void Stmt::reset() { sqlite3_reset(st_); }

bool Stmt::isNull(int c) const { return sqlite3_column_type(st_, c) == SQLITE_NULL; }
int64_t Stmt::i64(int c) const { return sqlite3_column_int64(st_, c); }
double Stmt::f64(int c) const { return sqlite3_column_double(st_, c); }
std::string Stmt::text(int c) const {
  const unsigned char* t = sqlite3_column_text(st_, c);
  return t ? std::string(reinterpret_cast<const char*>(t), sqlite3_column_bytes(st_, c)) : std::string();
}
std::vector<uint8_t> Stmt::blob(int c) const {
  const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(st_, c));
  int n = sqlite3_column_bytes(st_, c);
  return p ? std::vector<uint8_t>(p, p + n) : std::vector<uint8_t>();
}

// ---- Db --------------------------------------------------------------------

std::unique_ptr<Db> Db::open(const std::string& path, const OpenOptions& opts) {
  if (!opts.create && !std::filesystem::exists(path)) throw InputError(path, "no such database file");
  std::unique_ptr<Db> d(new Db());
  d->path_ = path;
  int flags = opts.readOnly ? SQLITE_OPEN_READONLY
                            : (SQLITE_OPEN_READWRITE | (opts.create ? SQLITE_OPEN_CREATE : 0));
  // NOMUTEX: a connection belongs to one thread, so SQLite's own locking is not needed.
  flags |= SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(path.c_str(), &d->db_, flags, nullptr) != SQLITE_OK) {
    std::string msg = d->db_ ? sqlite3_errmsg(d->db_) : "out of memory";
    throw InputError(path, "cannot open database: " + msg);
  }
  sqlite3_busy_timeout(d->db_, opts.busyTimeoutMs);
  sqlite3_extended_result_codes(d->db_, 1);
  // A non-database file fails here with "file is not a database".
  if (!opts.readOnly) d->exec("PRAGMA journal_mode=WAL");
  d->exec(opts.durable ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
  d->exec("PRAGMA foreign_keys=ON");
  if (opts.readOnly) {
    if (d->userVersion() > kSchemaVersion) migrate(*d);  // throws the "newer" error
  } else if (opts.migrate) {
    migrate(*d);
  }
  return d;
}

Db::~Db() { sqlite3_close_v2(db_); }

void Db::fail(const std::string& context) const {
  throw InputError(path_, context + ": " + (db_ ? sqlite3_errmsg(db_) : "no connection"));
}

void Db::exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string m = err ? err : "unknown error";
    sqlite3_free(err);
    throw InputError(path_, m);
  }
}

int64_t Db::lastInsertId() const { return sqlite3_last_insert_rowid(db_); }

int Db::userVersion() {
  Stmt s(*this, "PRAGMA user_version");
  return s.step() ? static_cast<int>(s.i64(0)) : 0;
}

void Db::setUserVersion(int v) { exec("PRAGMA user_version=" + std::to_string(v)); }

std::string Db::integrityCheck() {
  Stmt s(*this, "PRAGMA integrity_check");
  std::string out;
  while (s.step()) out += (out.empty() ? "" : "\n") + s.text(0);
  return out;
}

void Db::transaction(const std::function<void()>& fn) {
  if (depth_ > 0) {  // nested: part of the outer transaction
    ++depth_;
    try {
      fn();
    } catch (...) {
      --depth_;
      throw;
    }
    --depth_;
    return;
  }
  exec("BEGIN IMMEDIATE");
  depth_ = 1;
  try {
    fn();
    exec("COMMIT");
    depth_ = 0;
  } catch (...) {
    depth_ = 0;
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

std::string metaGet(Db& db, const std::string& key, const std::string& def) {
  Stmt s(db, "SELECT value FROM meta WHERE key=?");
  s.bind(1, key);
  return s.step() ? s.text(0) : def;
}

void metaSet(Db& db, const std::string& key, const std::string& value) {
  Stmt s(db, "INSERT INTO meta(key,value) VALUES(?,?) ON CONFLICT(key) DO UPDATE SET value=excluded.value");
  s.bind(1, key).bind(2, value).run();
}

std::string nowIso() {
  using namespace std::chrono;
  auto now = system_clock::now();
  auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::time_t t = system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

}  // namespace zs::db
