#include "app/gui/sweep_figure.h"

#include <QFile>

#include <cstdio>

#include <nlohmann/json.hpp>

#include "widgets/figure_export.h"
#include "widgets/pareto_plot.h"

namespace zs::gui {

int exportSweepFigure(const QString& dataFile, const QString& out, QSize size, int dpi, bool dark) {
  auto fail = [&](const QString& why) {
    std::fprintf(stderr, "zscope: %s: %s\n", qPrintable(dataFile), qPrintable(why));
    return 3;
  };
  QFile f(dataFile);
  if (!f.open(QIODevice::ReadOnly)) return fail(QStringLiteral("cannot open it"));
  const auto j = nlohmann::json::parse(f.readAll().toStdString(), nullptr, false);
  if (!j.is_object() || !j.contains("points") || !j["points"].is_array())
    return fail(QStringLiteral("not a sweep results file (a JSON object with a \"points\" array)"));
  auto key = [&](const char* k, const char* def) {
    return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : std::string(def);
  };
  const std::string xk = key("x", "l0"), yk = key("y", "ce_loss_recovered"), sk = key("series", "architecture"),
                    pk = key("panel", "layer");
  QVector<ParetoPoint> pts;
  for (const auto& p : j["points"]) {
    if (!p.is_object() || !p.contains(xk) || !p.contains(yk) || !p[xk].is_number() || !p[yk].is_number()) continue;
    ParetoPoint q;
    q.x = p[xk].get<double>();
    q.y = p[yk].get<double>();
    q.series = p.contains(sk) && p[sk].is_string() ? QString::fromStdString(p[sk].get<std::string>()) : QString();
    q.panel = p.contains(pk) && p[pk].is_number_integer() ? p[pk].get<int>() : 0;
    if (p.contains("run") && p["run"].is_string()) q.label = QString::fromStdString(p["run"].get<std::string>());
    pts.push_back(q);
  }
  if (pts.isEmpty()) return fail(QStringLiteral("no points with numeric \"%1\" and \"%2\"")
                                     .arg(QString::fromStdString(xk), QString::fromStdString(yk)));
  const bool partial = j.contains("complete") && j["complete"].is_boolean() && !j["complete"].get<bool>();
  QString title = QString::fromStdString(key("title", ""));
  if (title.isEmpty() && xk == "l0" && yk == "ce_loss_recovered") {
    title = QStringLiteral("CE loss recovered vs L0");
    if (j.contains("model") && j["model"].is_string())
      title += QStringLiteral(" — ") + QString::fromStdString(j["model"].get<std::string>());
  }
  if (partial) title += QStringLiteral(" (partial sweep)");
  ParetoPlot plot;
  plot.resize(plot.figureSize());
  plot.setData(pts, xk == "l0" ? QStringLiteral("L0 (active features per token)") : QString::fromStdString(xk),
               yk == "ce_loss_recovered" ? QStringLiteral("CE loss recovered") : QString::fromStdString(yk),
               QString::fromStdString(pk) + QStringLiteral(" %1"), title, /*logX=*/xk == "l0");
  plot.setDark(dark);
  QString err;
  if (!exportFigure(plot, out, size, dpi, &err)) {
    std::fprintf(stderr, "zscope: %s\n", qPrintable(err));
    return 3;
  }
  return 0;
}

}  // namespace zs::gui
