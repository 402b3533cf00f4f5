#include "app/gui/settings.h"

#include <QFileInfo>

namespace zs::gui::settings {
namespace {

const char* kRecentKey = "recent/files";      // "kind\tpath" entries
const char* kVersionKey = "settings/version";
constexpr int kVersion = 1;

bool kindFromName(const QString& s, RecentKind* k) {
  if (s == QLatin1String("model")) *k = RecentKind::Model;
  else if (s == QLatin1String("sae")) *k = RecentKind::Sae;
  else if (s == QLatin1String("db")) *k = RecentKind::Database;
  else return false;
  return true;
}

}  // namespace

QString recentKindName(RecentKind kind) {
  switch (kind) {
    case RecentKind::Model: return QStringLiteral("model");
    case RecentKind::Sae: return QStringLiteral("sae");
    case RecentKind::Database: return QStringLiteral("db");
  }
  return {};
}

QList<RecentFile> recentFiles() {
  QList<RecentFile> out;
  for (const QString& e : QSettings().value(QLatin1String(kRecentKey)).toStringList()) {
    RecentFile f;
    if (!kindFromName(e.section(QLatin1Char('\t'), 0, 0), &f.kind)) continue;
    f.path = e.section(QLatin1Char('\t'), 1);
    if (!f.path.isEmpty()) out.append(f);
  }
  return out;
}

void addRecentFile(RecentKind kind, const QString& path) {
  QSettings s;
  QStringList l = s.value(QLatin1String(kRecentKey)).toStringList();
  const QString e = recentKindName(kind) + QLatin1Char('\t') + QFileInfo(path).absoluteFilePath();
  l.removeAll(e);
  l.prepend(e);
  while (l.size() > kMaxRecent) l.removeLast();
  s.setValue(QLatin1String(kRecentKey), l);
}

void migrate() {
  QSettings s;
  const int version = s.value(QLatin1String(kVersionKey), 0).toInt();
  if (version < 1) {
    // Step 1: the manager kept its own device key and its own recent list, the
    // File menu three per-kind lists. One device key, one list now.
    if (s.contains(QStringLiteral("manager/device")) && !s.contains(QLatin1String(device.key())))
      s.setValue(QLatin1String(device.key()), s.value(QStringLiteral("manager/device")));
    s.remove(QStringLiteral("manager/device"));
    QStringList merged = s.value(QStringLiteral("manager/recent")).toStringList();
    const struct { const char* key; const char* kind; } old[] = {
        {"recent/models", "model"}, {"recent/saes", "sae"}, {"recent/dbs", "db"}};
    for (const auto& o : old) {
      for (const QString& p : s.value(QLatin1String(o.key)).toStringList()) {
        const QString e = QLatin1String(o.kind) + QLatin1Char('\t') + p;
        if (!merged.contains(e)) merged.append(e);
      }
      s.remove(QLatin1String(o.key));
    }
    s.remove(QStringLiteral("manager/recent"));
    while (merged.size() > kMaxRecent) merged.removeLast();
    if (!merged.isEmpty()) s.setValue(QLatin1String(kRecentKey), merged);
  }
  s.setValue(QLatin1String(kVersionKey), kVersion);
}

}  // namespace zs::gui::settings
