#pragma once
// One palette for every plot that draws several series (layers, architectures):
// distinguishable colours for up to 12 series, cycling after that. The training
// curves, the density histogram and the sweep figure use the same colour for the
// same series index.
#include <QColor>

namespace zs::gui {

inline QColor seriesColor(int i) {
  static const QColor c[] = {QColor(31, 119, 180), QColor(255, 127, 14), QColor(44, 160, 44),
                             QColor(214, 39, 40),  QColor(148, 103, 189), QColor(140, 86, 75),
                             QColor(227, 119, 194), QColor(127, 127, 127), QColor(188, 189, 34),
                             QColor(23, 190, 207), QColor(0, 0, 128),     QColor(128, 0, 0)};
  return c[((i % 12) + 12) % 12];
}

}  // namespace zs::gui
