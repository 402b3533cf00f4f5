#pragma once
// The RDFA tree as a lazily expanded item model: fetchMore() asks (via the
// expandRequested signal) for a node's children, addChildren() inserts the
// worker's answer. Replies for another analysis generation are dropped.
// Columns: node (kind icon + label), value (signed bar), kind.
#include <QAbstractItemModel>
#include <QIcon>
#include <QStyledItemDelegate>
#include <QTreeView>

#include <map>
#include <memory>
#include <vector>

#include "core/engine/engine.h"

namespace zs::gui {

class RdfaTreeModel : public QAbstractItemModel {
  Q_OBJECT
 public:
  enum Column { Node, Value, Kind, ColumnCount };
  enum Role { ValueRole = Qt::UserRole + 1, KindRole, PosRole, LayerRole, FeatureRole, MaxAbsRole };
  explicit RdfaTreeModel(QObject* parent = nullptr);
  ~RdfaTreeModel() override;

  void setRoot(const zs::RdfaNode& root);
  void clear();
  // The worker's reply to expandRequested; ignored when stale.
  void addChildren(quint64 generation, int nodeId, const std::vector<zs::RdfaNode>& children);
  const zs::RdfaNode* node(const QModelIndex& index) const;
  QModelIndex indexOfNode(quint64 generation, int nodeId) const;
  bool isFetching(const QModelIndex& index) const;

  QModelIndex index(int row, int column, const QModelIndex& parent = {}) const override;
  QModelIndex parent(const QModelIndex& child) const override;
  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  bool hasChildren(const QModelIndex& parent = {}) const override;
  bool canFetchMore(const QModelIndex& parent) const override;
  void fetchMore(const QModelIndex& parent) override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation o, int role = Qt::DisplayRole) const override;

  static QColor kindColor(const QString& kind);
  static QIcon kindIcon(const QString& kind);

 Q_SIGNALS:
  void expandRequested(quint64 generation, int nodeId);

 private:
  struct Item;
  Item* itemOf(const QModelIndex& i) const;
  std::unique_ptr<Item> root_;  // invisible root holding the feature node
  std::map<int, Item*> byId_;
  quint64 generation_ = 0;
  double maxAbs_ = 0;
};

// Signed value bar (red positive, blue negative) with the number.
class ValueBarDelegate : public QStyledItemDelegate {
  Q_OBJECT
 public:
  using QStyledItemDelegate::QStyledItemDelegate;
  void paint(QPainter* p, const QStyleOptionViewItem& opt, const QModelIndex& index) const override;
};

// Tree view: hovering a node reports its source position; double-clicking an
// attention feature (or the root feature) asks to select it.
class RdfaTreeView : public QTreeView {
  Q_OBJECT
 public:
  explicit RdfaTreeView(QWidget* parent = nullptr);

 Q_SIGNALS:
  void positionHovered(int pos);  // -1 when leaving
  void featureActivated(int layer, int feature, int pos);

 protected:
  void leaveEvent(QEvent* e) override;
};

}  // namespace zs::gui
