#pragma once
// The RDFA tree as a figure: the rows the tree view shows (expanded nodes),
// indented by depth, each with its kind's colour, label and a signed value bar
// (red positive, blue negative) on one scale. Vector in SVG and PDF.
#include <QTreeView>

#include "widgets/figure_export.h"

namespace zs::gui {

class RdfaTreeFigure : public FigureSource {
 public:
  explicit RdfaTreeFigure(QTreeView* view) : view_(view) {}
  QString figureName() const override { return "rdfa_tree"; }
  QSize figureSize() const override;
  void paintFigure(QPainter& p, const QSize& size) override;
  QString figureCsv() const override;

  struct Row {
    int depth;
    QModelIndex index;
  };
  // The rows the view shows, in order (expanded nodes only).
  QVector<Row> rows() const;

 private:
  QTreeView* view_;
};

}  // namespace zs::gui
