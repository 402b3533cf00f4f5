// FeatureTableModel, FeatureFilterProxy, HeadBarDelegate: see feature_table_model.h.
#include "widgets/feature_table_model.h"

#include <QPainter>
#include <QStyle>

namespace zs::gui {

void FeatureTableModel::setRows(std::vector<zs::FeatureRow> rows) {
  beginResetModel();
  rows_ = std::move(rows);
  endResetModel();
}

int FeatureTableModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(rows_.size());
}

int FeatureTableModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant FeatureTableModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() >= static_cast<int>(rows_.size())) return {};
  const zs::FeatureRow& r = rows_[index.row()];
  switch (role) {
    case Qt::DisplayRole:
      switch (index.column()) {
        case Layer: return r.layer;
        case Feature: return static_cast<qlonglong>(r.feature);
        case Activation: return QString::number(r.activation, 'f', 3);
        case Label: return QString::fromStdString(r.label);
        case Family: return QString::fromStdString(r.family);
        default: return {};
      }
    case SortRole:
      switch (index.column()) {
        case Layer: return r.layer;
        case Feature: return static_cast<qlonglong>(r.feature);
        case Activation: return r.activation;
        case Label: return QString::fromStdString(r.label);
        case Family: return QString::fromStdString(r.family);
        case Heads: {  // the dominant head
          int best = 0;
          for (size_t h = 1; h < r.headAttr.size(); ++h)
            if (r.headAttr[h] > r.headAttr[best]) best = static_cast<int>(h);
          return best;
        }
      }
      return {};
    case HeadsRole: {
      QVariantList v;
      for (float f : r.headAttr) v << f;
      return v;
    }
    case LayerRole: return r.layer;
    case FeatureRole: return static_cast<qlonglong>(r.feature);
    case Qt::ToolTipRole:
      if (index.column() == Heads) {
        QString s;
        for (size_t h = 0; h < r.headAttr.size(); ++h) s += QString("H%1: %2%\n").arg(h).arg(100.0 * r.headAttr[h], 0, 'f', 1);
        return s.trimmed();
      }
      return {};
    case Qt::TextAlignmentRole:
      return index.column() <= Activation ? QVariant(Qt::AlignRight | Qt::AlignVCenter) : QVariant();
  }
  return {};
}

QVariant FeatureTableModel::headerData(int section, Qt::Orientation o, int role) const {
  if (o != Qt::Horizontal || role != Qt::DisplayRole) return {};
  static const char* names[] = {"Layer", "Feature", "Activation", "Label", "Family", "Heads"};
  return section >= 0 && section < ColumnCount ? tr(names[section]) : QVariant();
}

FeatureFilterProxy::FeatureFilterProxy(QObject* parent) : QSortFilterProxyModel(parent) {
  setSortRole(FeatureTableModel::SortRole);
  setDynamicSortFilter(true);
}

void FeatureFilterProxy::setLayerFilter(int layer) {
  layer_ = layer;
  invalidateFilter();
}

void FeatureFilterProxy::setText(const QString& text) {
  text_ = text.trimmed();
  invalidateFilter();
}

bool FeatureFilterProxy::filterAcceptsRow(int row, const QModelIndex& parent) const {
  const auto* m = static_cast<const FeatureTableModel*>(sourceModel());
  const QModelIndex i = m->index(row, 0, parent);
  if (layer_ >= 0 && m->data(i, FeatureTableModel::LayerRole).toInt() != layer_) return false;
  if (text_.isEmpty()) return true;
  for (int c : {FeatureTableModel::Feature, FeatureTableModel::Label, FeatureTableModel::Family})
    if (m->data(m->index(row, c, parent)).toString().contains(text_, Qt::CaseInsensitive)) return true;
  return false;
}

void HeadBarDelegate::paint(QPainter* p, const QStyleOptionViewItem& opt, const QModelIndex& index) const {
  if (opt.state & QStyle::State_Selected) p->fillRect(opt.rect, opt.palette.highlight());
  const QVariantList v = index.data(FeatureTableModel::HeadsRole).toList();
  if (v.isEmpty()) return;
  const QRect r = opt.rect.adjusted(2, 2, -2, -2);
  const double w = static_cast<double>(r.width()) / v.size();
  p->save();
  p->setPen(Qt::NoPen);
  for (int h = 0; h < v.size(); ++h) {
    const double f = std::clamp(v[h].toDouble(), 0.0, 1.0);
    const int bh = std::max(1, static_cast<int>(r.height() * f));
    p->setBrush(QColor::fromHsv((h * 360 / std::max<int>(v.size(), 1)) % 360, 160, 200));
    p->drawRect(QRectF(r.x() + h * w + 0.5, r.bottom() - bh + 1, std::max(1.0, w - 1), bh));
  }
  p->restore();
}

QSize HeadBarDelegate::sizeHint(const QStyleOptionViewItem& opt, const QModelIndex& index) const {
  const int n = index.data(FeatureTableModel::HeadsRole).toList().size();
  return QSize(std::max(40, n * 6), QStyledItemDelegate::sizeHint(opt, index).height());
}

}  // namespace zs::gui
