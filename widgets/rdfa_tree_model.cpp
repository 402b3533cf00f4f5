// RdfaTreeModel, ValueBarDelegate, RdfaTreeView: see rdfa_tree_model.h.
#include "widgets/rdfa_tree_model.h"

#include <QHeaderView>
#include <QApplication>
#include <QPainter>
#include <QPixmap>

#include <cmath>

namespace zs::gui {

struct RdfaTreeModel::Item {
  zs::RdfaNode node;
  Item* parent = nullptr;
  int row = 0;
  std::vector<std::unique_ptr<Item>> children;
  bool fetched = false, fetching = false;
};

RdfaTreeModel::RdfaTreeModel(QObject* parent) : QAbstractItemModel(parent), root_(std::make_unique<Item>()) {
  root_->fetched = true;
}
RdfaTreeModel::~RdfaTreeModel() = default;

void RdfaTreeModel::clear() {
  beginResetModel();
  root_ = std::make_unique<Item>();
  root_->fetched = true;
  byId_.clear();
  maxAbs_ = 0;
  endResetModel();
}

void RdfaTreeModel::setRoot(const zs::RdfaNode& root) {
  beginResetModel();
  root_ = std::make_unique<Item>();
  root_->fetched = true;
  byId_.clear();
  generation_ = root.generation;
  auto it = std::make_unique<Item>();
  it->node = root;
  it->parent = root_.get();
  if (root.id >= 0) byId_[root.id] = it.get();
  maxAbs_ = std::fabs(root.value);
  root_->children.push_back(std::move(it));
  endResetModel();
}

RdfaTreeModel::Item* RdfaTreeModel::itemOf(const QModelIndex& i) const {
  return i.isValid() ? static_cast<Item*>(i.internalPointer()) : root_.get();
}

const zs::RdfaNode* RdfaTreeModel::node(const QModelIndex& index) const {
  return index.isValid() ? &itemOf(index)->node : nullptr;
}

bool RdfaTreeModel::isFetching(const QModelIndex& index) const { return itemOf(index)->fetching; }

QModelIndex RdfaTreeModel::indexOfNode(quint64 generation, int nodeId) const {
  if (generation != generation_) return {};
  auto it = byId_.find(nodeId);
  return it == byId_.end() ? QModelIndex() : createIndex(it->second->row, 0, it->second);
}

void RdfaTreeModel::addChildren(quint64 generation, int nodeId, const std::vector<zs::RdfaNode>& children) {
  const QModelIndex parentIndex = indexOfNode(generation, nodeId);
  if (!parentIndex.isValid()) return;  // stale: another prompt or feature since
  Item* p = itemOf(parentIndex);
  p->fetching = false;
  if (p->fetched) return;
  p->fetched = true;
  if (children.empty()) {
    // hasChildren() changes from true to false; views repaint the branch.
    Q_EMIT dataChanged(parentIndex, parentIndex);
    return;
  }
  beginInsertRows(parentIndex, 0, static_cast<int>(children.size()) - 1);
  for (const zs::RdfaNode& c : children) {
    auto it = std::make_unique<Item>();
    it->node = c;
    it->parent = p;
    it->row = static_cast<int>(p->children.size());
    if (c.id >= 0) byId_[c.id] = it.get();
    maxAbs_ = std::max(maxAbs_, std::fabs(c.value));
    p->children.push_back(std::move(it));
  }
  endInsertRows();
}

QModelIndex RdfaTreeModel::index(int row, int column, const QModelIndex& parent) const {
  if (column < 0 || column >= ColumnCount || row < 0) return {};
  if (parent.isValid() && parent.column() != 0) return {};
  Item* p = itemOf(parent);
  if (row >= static_cast<int>(p->children.size())) return {};
  return createIndex(row, column, p->children[row].get());
}

QModelIndex RdfaTreeModel::parent(const QModelIndex& child) const {
  if (!child.isValid()) return {};
  Item* p = itemOf(child)->parent;
  if (!p || p == root_.get()) return {};
  return createIndex(p->row, 0, p);
}

int RdfaTreeModel::rowCount(const QModelIndex& parent) const {
  if (parent.isValid() && parent.column() != 0) return 0;
  return static_cast<int>(itemOf(parent)->children.size());
}

int RdfaTreeModel::columnCount(const QModelIndex&) const { return ColumnCount; }

bool RdfaTreeModel::hasChildren(const QModelIndex& parent) const {
  if (parent.isValid() && parent.column() != 0) return false;
  const Item* it = itemOf(parent);
  if (!it->children.empty()) return true;
  return parent.isValid() && it->node.expandable && !it->fetched;
}

bool RdfaTreeModel::canFetchMore(const QModelIndex& parent) const {
  if (!parent.isValid() || parent.column() != 0) return false;
  const Item* it = itemOf(parent);
  return it->node.expandable && !it->fetched && !it->fetching;
}

void RdfaTreeModel::fetchMore(const QModelIndex& parent) {
  if (!canFetchMore(parent)) return;
  Item* it = itemOf(parent);
  it->fetching = true;
  Q_EMIT expandRequested(generation_, it->node.id);
}

QColor RdfaTreeModel::kindColor(const QString& k) {
  static const std::map<QString, QColor> c = {
      {"feature", QColor(230, 120, 0)},  {"attn_feature", QColor(230, 120, 0)}, {"source", QColor(40, 120, 200)},
      {"embed", QColor(0, 150, 110)},    {"pos_embed", QColor(120, 170, 40)},   {"attn_error", QColor(200, 40, 60)},
      {"attn_head", QColor(120, 80, 200)}, {"mlp", QColor(140, 90, 50)},        {"bias", QColor(128, 128, 128)},
      {"rest", QColor(170, 170, 170)}};
  auto it = c.find(k);
  return it == c.end() ? QColor(100, 100, 100) : it->second;
}

QIcon RdfaTreeModel::kindIcon(const QString& k) {
  static std::map<QString, QIcon> cache;
  auto it = cache.find(k);
  if (it != cache.end()) return it->second;
  // A coloured shape with a letter: circles for features, squares for edges and components.
  QPixmap pm(16, 16);
  pm.fill(Qt::transparent);
  QPainter p(&pm);
  p.setRenderHint(QPainter::Antialiasing);
  p.setPen(Qt::NoPen);
  p.setBrush(kindColor(k));
  if (k == "feature" || k == "attn_feature") p.drawEllipse(1, 1, 14, 14);
  else p.drawRoundedRect(1, 1, 14, 14, 3, 3);
  static const std::map<QString, QString> letter = {{"feature", "F"}, {"attn_feature", "F"}, {"source", "S"},
      {"embed", "E"}, {"pos_embed", "P"}, {"attn_error", "ε"}, {"attn_head", "H"}, {"mlp", "M"}, {"bias", "b"}, {"rest", "…"}};
  auto l = letter.find(k);
  p.setPen(Qt::white);
  QFont f;
  f.setPixelSize(10);
  f.setBold(true);
  p.setFont(f);
  p.drawText(QRect(0, 0, 16, 16), Qt::AlignCenter, l == letter.end() ? "?" : l->second);
  p.end();
  return cache[k] = QIcon(pm);
}

QVariant RdfaTreeModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid()) return {};
  const zs::RdfaNode& n = itemOf(index)->node;
  const QString kind = QString::fromStdString(n.kind);
  switch (role) {
    case Qt::DisplayRole:
      if (index.column() == Node) return QString::fromStdString(n.label);
      if (index.column() == Value) return QString::number(n.value, 'f', 4);
      return kind;
    case Qt::DecorationRole:
      return index.column() == Node ? QVariant(kindIcon(kind)) : QVariant();
    case Qt::ForegroundRole:
      return index.column() == Kind ? QVariant(kindColor(kind)) : QVariant();
    case Qt::ToolTipRole:
      return QString("%1\n%2 = %3%4").arg(QString::fromStdString(n.label), kind).arg(n.value, 0, 'g', 6)
          .arg(n.activation > 0 ? QString("\nactivation %1").arg(n.activation, 0, 'g', 5) : QString());
    case ValueRole: return n.value;
    case KindRole: return kind;
    case PosRole: return n.pos;
    case LayerRole: return n.layer;
    case FeatureRole: return n.feature;
    case MaxAbsRole: return maxAbs_;
  }
  return {};
}

QVariant RdfaTreeModel::headerData(int section, Qt::Orientation o, int role) const {
  if (o != Qt::Horizontal || role != Qt::DisplayRole) return {};
  static const char* names[] = {"Node", "Value", "Kind"};
  return section >= 0 && section < ColumnCount ? tr(names[section]) : QVariant();
}

void ValueBarDelegate::paint(QPainter* p, const QStyleOptionViewItem& opt, const QModelIndex& index) const {
  if (opt.state & QStyle::State_Selected) p->fillRect(opt.rect, opt.palette.highlight());
  const double v = index.data(RdfaTreeModel::ValueRole).toDouble();
  const double m = index.data(RdfaTreeModel::MaxAbsRole).toDouble();
  const QRect r = opt.rect.adjusted(2, 3, -2, -3);
  const int mid = r.x() + r.width() / 2;
  const int w = m > 0 ? qRound((r.width() / 2) * std::min(1.0, std::fabs(v) / m)) : 0;
  p->save();
  p->setPen(Qt::NoPen);
  p->setBrush(v >= 0 ? QColor(178, 24, 43, 200) : QColor(33, 102, 172, 200));
  p->drawRect(v >= 0 ? QRect(mid, r.y(), w, r.height()) : QRect(mid - w, r.y(), w, r.height()));
  p->setPen(opt.palette.color(QPalette::Text));
  p->drawText(r, (v >= 0 ? Qt::AlignLeft : Qt::AlignRight) | Qt::AlignVCenter, QString::number(v, 'f', 3));
  p->restore();
}

RdfaTreeView::RdfaTreeView(QWidget* parent) : QTreeView(parent) {
  setMouseTracking(true);
  setItemDelegateForColumn(RdfaTreeModel::Value, new ValueBarDelegate(this));
  setUniformRowHeights(true);
  header()->setStretchLastSection(false);
  connect(this, &QAbstractItemView::entered, this, [this](const QModelIndex& i) {
    Q_EMIT positionHovered(i.data(RdfaTreeModel::PosRole).toInt());
  });
  connect(this, &QAbstractItemView::doubleClicked, this, [this](const QModelIndex& i) {
    const QString k = i.data(RdfaTreeModel::KindRole).toString();
    if (k == "attn_feature" || k == "feature")
      Q_EMIT featureActivated(i.data(RdfaTreeModel::LayerRole).toInt(), i.data(RdfaTreeModel::FeatureRole).toInt(),
                              i.data(RdfaTreeModel::PosRole).toInt());
  });
}

void RdfaTreeView::leaveEvent(QEvent* e) {
  Q_EMIT positionHovered(-1);
  QTreeView::leaveEvent(e);
}

}  // namespace zs::gui
