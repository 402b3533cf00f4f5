// Screenshot mode (--screenshot FILE): once the prompt is analysed, select a
// feature (--select L:F, else the strongest at the last token), expand the
// RDFA tree two levels, then grab the window (or, with --export-figure, write
// that figure through zs::gui::exportFigure) and quit. Used by
// scripts/screenshots.sh under Xvfb.
#include <QApplication>
#include <QDebug>
#include <QPushButton>
#include <QTreeView>

#include <algorithm>

#include "widgets/figure_export.h"

#include "app/gui/explorer/compare_view.h"
#include "app/gui/explorer/explorer_controller.h"
#include "app/gui/explorer/intervention_panel.h"
#include "app/gui/worker.h"
#include "app/gui/explorer/mainwindow.h"
#include "widgets/rdfa_tree_model.h"

void MainWindow::screenshotTick() {
  ExplorerController* x = explorer_;
  ++screenshotStep_;
  const bool timedOut = screenshotStep_ > 240;  // 60 s
  auto finish = [this, x](int rc) {
    if (!opts_.exportFigure.isEmpty()) {
      zs::gui::FigureSource* src = x->figure(opts_.exportFigure);
      QString err;
      QSize size = opts_.exportSize;
      if (src) {
        const QSize natural = src->figureSize();
        if (size.width() <= 0) size.setWidth(natural.width());
        if (size.height() <= 0) size.setHeight(natural.height());
      }
      const bool ok = src && zs::gui::exportFigure(*src, opts_.exportOut, size, opts_.exportDpi, &err);
      if (ok) qInfo().noquote() << "zscope: wrote" << opts_.exportOut;
      else qWarning().noquote() << "zscope: could not write" << opts_.exportOut << err;
      QApplication::exit(ok ? rc : 1);
      return;
    }
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
      // L:F or L:F@POS (a negative position counts from the end).
      const QString sel = opts_.select.section('@', 0, 0);
      layer = sel.section(':', 0, 0).toInt();
      feature = sel.section(':', 1, 1).toLongLong();
      if (opts_.select.contains('@')) {
        const int n = static_cast<int>(x->analysis().tokens.size());
        int pos = opts_.select.section('@', 1, 1).toInt();
        if (pos < 0) pos += n;
        x->selectPosition(std::clamp(pos, 0, n - 1));
      }
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
  // The intervention and compare figures need one more request each.
  if (opts_.exportFigure == "intervention" && !x->interventionPanel()->hasResult()) {
    InterventionPanel* ip = x->interventionPanel();
    if (!ip->runButton()->isEnabled()) return;  // running
    connect(worker_, &Worker::failed, this, [](quint64, int kind, const QString& msg) {
      if (kind != int(RequestKind::Intervene)) return;
      qWarning().noquote() << "zscope: the intervention failed:" << msg;
      QApplication::exit(1);
    });
    ip->setControls(opts_.interveneMode, opts_.interveneValue, opts_.interveneAll);
    ip->run();
    return;
  }
  if (opts_.exportFigure == "compare" && !x->compareView()->hasResult()) {
    CompareView* cv = x->compareView();
    if (cv->promptB() == opts_.promptB) return;  // comparing
    connect(cv, &CompareView::failed, this, [](const QString& msg) {
      qWarning().noquote() << "zscope: cannot compare:" << msg;
      QApplication::exit(1);
    });
    cv->setPromptB(opts_.promptB);
    return;
  }
  finish(0);
}
