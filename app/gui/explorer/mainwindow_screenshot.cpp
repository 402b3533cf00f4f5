// Screenshot mode (--screenshot FILE): once the prompt is analysed, select a
// feature (--select L:F, else the strongest at the last token), expand the
// RDFA tree two levels, then grab the window and quit. Used by
// scripts/screenshots.sh under Xvfb.
#include <QApplication>
#include <QDebug>
#include <QTreeView>

#include "app/gui/explorer/explorer_controller.h"
#include "app/gui/explorer/mainwindow.h"
#include "widgets/rdfa_tree_model.h"

void MainWindow::screenshotTick() {
  ExplorerController* x = explorer_;
  ++screenshotStep_;
  const bool timedOut = screenshotStep_ > 240;  // 60 s
  auto finish = [this](int rc) {
    const bool ok = grab().save(opts_.screenshot, "PNG");
    qInfo().noquote() << (ok ? "zscope: wrote" : "zscope: could not write") << opts_.screenshot;
    QApplication::exit(ok ? rc : 1);
  };
  if (timedOut) return finish(1);
  if (x->analysis().tokens.empty()) return;
  if (x->selection().feature < 0) {
    int layer = -1;
    qint64 feature = -1;
    if (opts_.select.contains(':')) {
      layer = opts_.select.section(':', 0, 0).toInt();
      feature = opts_.select.section(':', 1, 1).toLongLong();
    } else {
      const auto& rows = x->analysis().perPosition[x->selection().pos];
      if (rows.empty()) return finish(0);  // nothing fires: show the tokens only
      layer = rows.front().layer;
      feature = rows.front().feature;
    }
    x->selectFeature(layer, feature);
    return;
  }
  zs::gui::RdfaTreeModel* m = x->treeModel();
  const QModelIndex root = m->index(0, 0);
  if (!root.isValid() || m->rowCount(root) == 0) return;
  // Expand the first expandable child of the root once; then wait for it.
  for (int r = 0; r < m->rowCount(root); ++r) {
    const QModelIndex c = m->index(r, 0, root);
    if (m->node(c)->expandable) {
      if (!x->treeView()->isExpanded(c)) {
        x->treeView()->expand(c);
        return;
      }
      if (m->isFetching(c)) return;
      break;
    }
  }
  if (screenshotStep_ < 8) return;  // let plots replot
  finish(0);
}
