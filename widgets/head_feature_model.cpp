// HeadFeatureModel: see head_feature_model.h.
#include "widgets/head_feature_model.h"

namespace zs::gui {

void HeadFeatureModel::setFeatures(int layer, int head, std::vector<zs::HeadTopFeature> features) {
  beginResetModel();
  layer_ = layer;
  head_ = head;
  features_ = std::move(features);
  endResetModel();
}

void HeadFeatureModel::clear() { setFeatures(-1, -1, {}); }

int HeadFeatureModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(features_.size());
}

int HeadFeatureModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant HeadFeatureModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() < 0 || index.row() >= rowCount() || index.column() < 0 ||
      index.column() >= ColumnCount)
    return {};
  const zs::HeadTopFeature& f = features_[static_cast<size_t>(index.row())];
  if (role == LayerRole) return layer_;
  if (role == FeatureRole) return static_cast<qlonglong>(f.feature);
  if (role == ShareRole) return static_cast<double>(f.fraction);
  if (role == Qt::TextAlignmentRole)
    return (index.column() == Feature || index.column() == Share || index.column() == Density || index.column() == MaxAct)
               ? QVariant(Qt::AlignRight | Qt::AlignVCenter)
               : QVariant();
  if (role == Qt::ToolTipRole && index.column() == Family && f.familySuggested)
    return tr("Suggested by the database builder (no label yet)");
  if (role != Qt::DisplayRole && role != Qt::ToolTipRole) return {};
  switch (index.column()) {
    case Feature: return static_cast<qlonglong>(f.feature);
    case Share: return QString::number(100.0 * f.fraction, 'f', 1) + "%";
    case Family: return QString::fromStdString(f.family) + (f.familySuggested ? "?" : "");
    case Label: return QString::fromStdString(f.label);
    case Density: return f.density < 0 ? QString() : QString::number(100 * f.density, 'g', 3) + "%";
    case MaxAct: return f.maxActivation < 0 ? QString() : QString::number(f.maxActivation, 'f', 3);
  }
  return {};
}

QVariant HeadFeatureModel::headerData(int section, Qt::Orientation o, int role) const {
  if (o != Qt::Horizontal || role != Qt::DisplayRole) return {};
  // The first column names the head: "L1 H2 feature".
  if (section == Feature && layer_ >= 0) return tr("L%1 H%2 feature").arg(layer_).arg(head_);
  static const char* names[] = {"Feature", "Share", "Family", "Density", "Max act", "Label"};
  return section >= 0 && section < ColumnCount ? QVariant(tr(names[section])) : QVariant();
}

}  // namespace zs::gui
