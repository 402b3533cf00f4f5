#pragma once
// Every remembered setting of the GUI, typed, with its key and default in one
// place (after Tiled's Preference<T>). Window geometry and dock state, the
// device and thread count, the palette, export choices, prompt history and one
// list of recently opened files shared by the File menu and the Models & SAEs
// panel. migrate() runs once at start-up and moves keys of older versions.
#include <QByteArray>
#include <QList>
#include <QSettings>
#include <QString>
#include <QStringList>
#include <QVariant>

namespace zs::gui::settings {

template <typename T>
class Setting {
 public:
  constexpr Setting(const char* key, T def) : key_(key), def_(def) {}
  T get() const { return QSettings().value(QLatin1String(key_), QVariant::fromValue(def_)).template value<T>(); }
  void set(const T& v) const { QSettings().setValue(QLatin1String(key_), QVariant::fromValue(v)); }
  const char* key() const { return key_; }

 private:
  const char* key_;
  T def_;
};

inline const Setting<QString> device{"runtime/device", QStringLiteral("auto")};
inline const Setting<int> threads{"runtime/threads", 0};
inline const Setting<bool> darkPalette{"view/dark", false};
inline const Setting<QStringList> promptHistory{"prompt/history", {}};
inline const Setting<QString> lastDir{"recent/lastDir", {}};
inline const Setting<QString> labelingDatabase{"labeling/database", {}};
inline const Setting<bool> labelingBlind{"labeling/blind", false};  // hide the family suggestion
inline const Setting<QByteArray> windowGeometry{"window/geometry", {}};
inline const Setting<QByteArray> windowState{"window/state", {}};
inline const Setting<QString> exportDir{"export/dir", {}};
inline const Setting<QString> exportFormat{"export/format", QStringLiteral("png")};
inline const Setting<int> exportWidth{"export/width", 0};
inline const Setting<int> exportHeight{"export/height", 0};
inline const Setting<int> exportDpi{"export/dpi", 300};
inline const Setting<QString> interventionMode{"intervene/mode", QStringLiteral("zero")};  // zero|scale|clamp
inline const Setting<double> interventionValue{"intervene/value", 2.0};
inline const Setting<bool> interventionAllPositions{"intervene/allPositions", false};
// The training panel's SAE architecture and its sparsity knobs (k; JumpReLU's L0 coefficient).
inline const Setting<QString> trainArchitecture{"training/architecture", QStringLiteral("topk")};
inline const Setting<int> trainK{"training/k", 32};
inline const Setting<double> trainL0{"training/l0", 1.0};

// Recently opened files, newest first, at most kMaxRecent.
enum class RecentKind { Model, Sae, Database };
struct RecentFile {
  RecentKind kind;
  QString path;
};
constexpr int kMaxRecent = 12;
QList<RecentFile> recentFiles();
void addRecentFile(RecentKind kind, const QString& path);
QString recentKindName(RecentKind kind);  // "model", "sae", "db"

// Moves settings written by older versions to today's keys (numbered steps).
void migrate();

}  // namespace zs::gui::settings

// The main window and explorer code live outside zs::gui.
namespace gui = zs::gui;
