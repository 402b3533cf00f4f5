#include "app/gui/manager/manager_checks.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QRegularExpression>

#include <nlohmann/json.hpp>

#include "core/model/model_config.h"

namespace zs::gui {

namespace {
bool isSaeFolder(const QDir& d) {
  return d.exists(QStringLiteral("cfg.json")) && d.exists(QStringLiteral("sae_weights.safetensors"));
}
}  // namespace

QStringList saeFoldersUnder(const QString& dir) {
  QStringList out;
  const QDir d(dir);
  for (const QString& sub : d.entryList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name))
    if (isSaeFolder(QDir(d.filePath(sub)))) out << d.filePath(sub);
  return out;
}

PathKind classifyPath(const QString& path) {
  const QFileInfo fi(path);
  if (fi.isFile()) {
    const QString n = fi.fileName().toLower();
    if (n.endsWith(QStringLiteral(".db")) || n.endsWith(QStringLiteral(".sqlite"))) return PathKind::Database;
    return PathKind::Unknown;
  }
  if (!fi.isDir()) return PathKind::Unknown;
  const QDir d(path);
  if (d.exists(QStringLiteral("config.json")) && d.exists(QStringLiteral("model.safetensors"))) return PathKind::Model;
  if (isSaeFolder(d)) return PathKind::Sae;
  if (!saeFoldersUnder(path).isEmpty()) return PathKind::SaeTree;
  return PathKind::Unknown;
}

QString readModelShape(const QString& dir, ModelShape& out) {
  const QString cfg = QDir(dir).filePath(QStringLiteral("config.json"));
  try {
    const zs::Gpt2Config c = zs::Gpt2Config::fromFile(cfg.toStdString());
    out.dir = dir;
    out.nLayer = static_cast<int>(c.n_layer);
    out.nHead = static_cast<int>(c.n_head);
    out.dModel = c.n_embd;
    out.nCtx = c.n_positions;
    return {};
  } catch (const std::exception& e) {
    return QString::fromUtf8(e.what());
  }
}

QString checkSaeAgainstModel(const QString& saeDir, const ModelShape& model, SaeShape* out) {
  const QDir d(saeDir);
  const QString cfgPath = d.filePath(QStringLiteral("cfg.json"));
  if (!QFileInfo(saeDir).isDir()) return QObject::tr("%1: not a folder").arg(saeDir);
  if (!d.exists(QStringLiteral("cfg.json"))) return QObject::tr("%1: no cfg.json (not an SAELens folder)").arg(saeDir);
  if (!d.exists(QStringLiteral("sae_weights.safetensors")))
    return QObject::tr("%1: no sae_weights.safetensors").arg(saeDir);
  QFile f(cfgPath);
  if (!f.open(QIODevice::ReadOnly)) return QObject::tr("%1: cannot read (%2)").arg(cfgPath, f.errorString());
  SaeShape s;
  s.dir = saeDir;
  try {
    const auto j = nlohmann::json::parse(f.readAll().toStdString());
    if (!j.is_object()) return QObject::tr("%1: not a JSON object").arg(cfgPath);
    const char* hk = j.contains("hook_name") ? "hook_name" : (j.contains("hook_point") ? "hook_point" : nullptr);
    if (!hk || !j[hk].is_string()) return QObject::tr("%1: neither \"hook_name\" nor \"hook_point\" is given").arg(cfgPath);
    s.hookName = QString::fromStdString(j[hk].get<std::string>());
    if (!j.contains("d_in") || !j["d_in"].is_number_integer()) return QObject::tr("%1: \"d_in\" missing").arg(cfgPath);
    s.dIn = j["d_in"].get<int64_t>();
    if (j.contains("d_sae") && j["d_sae"].is_number_integer()) s.dSae = j["d_sae"].get<int64_t>();
  } catch (const std::exception& e) {
    return QObject::tr("%1: not valid JSON (%2)").arg(cfgPath, QString::fromUtf8(e.what()));
  }
  const auto m = QRegularExpression(QStringLiteral("^blocks\\.(\\d+)\\.attn\\.hook_z$")).match(s.hookName);
  if (!m.hasMatch())
    return QObject::tr("%1: hook \"%2\" is not an attention-output hook (blocks.L.attn.hook_z)").arg(saeDir, s.hookName);
  s.layer = m.captured(1).toInt();
  if (out) *out = s;
  if (!model.valid()) return QObject::tr("Open a model before its SAEs.");
  if (s.layer >= model.nLayer)
    return QObject::tr("%1: SAE is for layer %2 but the model has %3 layers (0–%4)")
        .arg(saeDir)
        .arg(s.layer)
        .arg(model.nLayer)
        .arg(model.nLayer - 1);
  if (s.dIn != model.dIn())
    return QObject::tr("%1: d_in %2 does not match the model (n_heads × d_head = %3 × %4 = %5)")
        .arg(saeDir)
        .arg(s.dIn)
        .arg(model.nHead)
        .arg(model.dModel / model.nHead)
        .arg(model.dIn());
  return {};
}

}  // namespace zs::gui
