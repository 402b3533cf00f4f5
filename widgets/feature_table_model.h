#pragma once
// Active features at the selected position (all loaded layers): layer,
// feature, activation, label, family and a per-head attribution bar. The
// proxy filters by layer and by text (label, family or feature id) and sorts
// numerically (SortRole).
#include <QAbstractTableModel>
#include <QSortFilterProxyModel>
#include <QStyledItemDelegate>

#include <vector>

#include "core/engine/engine.h"

namespace zs::gui {

class FeatureTableModel : public QAbstractTableModel {
  Q_OBJECT
 public:
  enum Column { Layer, Feature, Activation, Label, Family, Heads, ColumnCount };
  enum Role { SortRole = Qt::UserRole + 1, HeadsRole, LayerRole, FeatureRole };
  using QAbstractTableModel::QAbstractTableModel;

  void setRows(std::vector<zs::FeatureRow> rows);
  const zs::FeatureRow& row(int r) const { return rows_.at(r); }
  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation o, int role = Qt::DisplayRole) const override;

 private:
  std::vector<zs::FeatureRow> rows_;
};

class FeatureFilterProxy : public QSortFilterProxyModel {
  Q_OBJECT
 public:
  explicit FeatureFilterProxy(QObject* parent = nullptr);
  void setLayerFilter(int layer);  // -1 = all
  void setText(const QString& text);

 protected:
  bool filterAcceptsRow(int row, const QModelIndex& parent) const override;

 private:
  int layer_ = -1;
  QString text_;
};

// Paints the Heads column: one small bar per head, height = head fraction.
class HeadBarDelegate : public QStyledItemDelegate {
  Q_OBJECT
 public:
  using QStyledItemDelegate::QStyledItemDelegate;
  void paint(QPainter* p, const QStyleOptionViewItem& opt, const QModelIndex& index) const override;
  QSize sizeHint(const QStyleOptionViewItem& opt, const QModelIndex& index) const override;
};

}  // namespace zs::gui
