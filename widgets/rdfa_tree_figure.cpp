// RdfaTreeFigure: see rdfa_tree_figure.h.
#include "widgets/rdfa_tree_figure.h"

#include <QPainter>

#include <functional>

#include <algorithm>
#include <cmath>

#include "widgets/rdfa_tree_model.h"

namespace zs::gui {

namespace {
constexpr int kRow = 20, kIndent = 16, kMargin = 8, kTitle = 24;
}

QVector<RdfaTreeFigure::Row> RdfaTreeFigure::rows() const {
  QVector<Row> out;
  QAbstractItemModel* m = view_->model();
  if (!m) return out;
  std::function<void(const QModelIndex&, int)> walk = [&](const QModelIndex& parent, int depth) {
    for (int r = 0; r < m->rowCount(parent); ++r) {
      const QModelIndex i = m->index(r, 0, parent);
      out.push_back({depth, i});
      if (view_->isExpanded(i)) walk(i, depth + 1);
    }
  };
  walk(QModelIndex(), 0);
  return out;
}

QSize RdfaTreeFigure::figureSize() const {
  return QSize(std::max(560, view_->width()), kTitle + kMargin * 2 + kRow * std::max<int>(1, rows().size()));
}

void RdfaTreeFigure::paintFigure(QPainter& p, const QSize& size) {
  const bool dark = isDarkPalette();
  const QColor fg = dark ? QColor(220, 220, 220) : QColor(30, 30, 30);
  p.fillRect(QRect(QPoint(0, 0), size), dark ? QColor(30, 30, 30) : Qt::white);
  const QVector<Row> rs = rows();
  QFont f = view_->font();
  p.setFont(f);
  QFont bold = f;
  bold.setBold(true);
  p.setPen(fg);
  p.setFont(bold);
  p.drawText(QRect(kMargin, kMargin, size.width() - 2 * kMargin, kTitle - 4), Qt::AlignLeft | Qt::AlignVCenter,
             QObject::tr("Recursive DFA tree (children sum to their parent)"));
  p.setFont(f);
  if (rs.isEmpty()) return;
  double maxAbs = 0;
  for (const Row& r : rs) maxAbs = std::max(maxAbs, std::fabs(r.index.data(RdfaTreeModel::ValueRole).toDouble()));
  if (maxAbs <= 0) maxAbs = 1;
  const int barW = std::max(80, size.width() / 4), numW = 70;
  const int barX = size.width() - kMargin - barW, numX = barX - numW - 6;
  const double zeroX = barX + barW / 2.0;
  int y = kMargin + kTitle;
  for (const Row& r : rs) {
    const double v = r.index.data(RdfaTreeModel::ValueRole).toDouble();
    const QString kind = r.index.data(RdfaTreeModel::KindRole).toString();
    const int x = kMargin + r.depth * kIndent;
    p.setPen(Qt::NoPen);
    p.setBrush(RdfaTreeModel::kindColor(kind));
    p.drawRoundedRect(QRectF(x, y + 5, 10, 10), 2, 2);
    p.setPen(fg);
    const QString label = r.index.data(Qt::DisplayRole).toString();
    p.drawText(QRect(x + 14, y, std::max(10, numX - x - 18), kRow), Qt::AlignLeft | Qt::AlignVCenter,
               QFontMetrics(f).elidedText(label, Qt::ElideRight, std::max(10, numX - x - 18)));
    p.drawText(QRect(numX, y, numW, kRow), Qt::AlignRight | Qt::AlignVCenter, QString::number(v, 'f', 3));
    const double w = (barW / 2.0 - 2) * std::fabs(v) / maxAbs;
    p.setPen(Qt::NoPen);
    p.setBrush(v >= 0 ? QColor(178, 24, 43) : QColor(33, 102, 172));
    p.drawRect(QRectF(v >= 0 ? zeroX : zeroX - w, y + 4, w, kRow - 8));
    p.setPen(QPen(fg, 0.8));
    p.drawLine(QPointF(zeroX, y + 2), QPointF(zeroX, y + kRow - 2));
    y += kRow;
    if (y > size.height() - kMargin) break;
  }
}

QString RdfaTreeFigure::figureCsv() const {
  QString s = "depth,kind,node,value\n";
  for (const Row& r : rows())
    s += QString("%1,%2,%3,%4\n").arg(r.depth).arg(csvField(r.index.data(RdfaTreeModel::KindRole).toString()))
             .arg(csvField(r.index.data(Qt::DisplayRole).toString()))
             .arg(r.index.data(RdfaTreeModel::ValueRole).toDouble(), 0, 'g', 9);
  return s;
}

}  // namespace zs::gui
