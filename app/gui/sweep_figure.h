#pragma once
// `zscope --export-figure pareto --data results.json --out FILE`: renders a
// sweep (scripts/sae_sweep.sh writes one) as y against x per series, one panel
// per group, without opening a model. results.json: {"points": [{...}, ...]}
// with the field names in "x", "y", "series", "panel" (defaults l0,
// ce_loss_recovered, architecture, layer); optional "title", "complete".
#include <QSize>
#include <QString>

namespace zs::gui {
// Returns the process exit status (0; 3 with one line on stderr for bad data).
int exportSweepFigure(const QString& dataFile, const QString& out, QSize size, int dpi, bool dark);
}  // namespace zs::gui
