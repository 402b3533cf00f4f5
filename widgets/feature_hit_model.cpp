// FeatureHitModel: see feature_hit_model.h.
#include "widgets/feature_hit_model.h"

namespace zs::gui {

void FeatureHitModel::setHits(std::vector<zs::FeatureSearchHit> hits) {
  beginResetModel();
  hits_ = std::move(hits);
  endResetModel();
}

int FeatureHitModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(hits_.size());
}

int FeatureHitModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant FeatureHitModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() < 0 || index.row() >= rowCount() || index.column() >= ColumnCount) return {};
  const zs::FeatureSearchHit& h = hits_[index.row()];
  if (role == LayerRole) return h.layer;
  if (role == FeatureRole) return static_cast<qlonglong>(h.feature);
  if (role == Qt::TextAlignmentRole)
    return index.column() <= Density ? QVariant(Qt::AlignRight | Qt::AlignVCenter) : QVariant();
  if (role != Qt::DisplayRole && role != Qt::ToolTipRole) return {};
  switch (index.column()) {
    case Layer: return h.layer;
    case Feature: return static_cast<qlonglong>(h.feature);
    case MaxAct: return QString::number(h.maxActivation, 'f', 3);
    case Density: return QString::number(100 * h.density, 'g', 3) + "%";
    case PeakToken: return QString::fromStdString(h.peakToken);
    case Label: return QString::fromStdString(h.label);
    case Family: return QString::fromStdString(h.family);
  }
  return {};
}

QVariant FeatureHitModel::headerData(int section, Qt::Orientation o, int role) const {
  if (o != Qt::Horizontal || role != Qt::DisplayRole) return {};
  static const char* names[] = {"Layer", "Feature", "Max act", "Density", "Peak token", "Label", "Family"};
  return section >= 0 && section < ColumnCount ? QVariant(tr(names[section])) : QVariant();
}

}  // namespace zs::gui
