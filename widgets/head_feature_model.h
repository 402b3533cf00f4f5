#pragma once
// A head's features (the paper's polysemanticity view) as a table model: the
// features with the largest share of one head's decoder norm, with their share,
// family, density, max activation and label (the last two from the feature
// database; empty without one).
#include <QAbstractTableModel>

#include <vector>

#include "core/engine/engine.h"

namespace zs::gui {

class HeadFeatureModel : public QAbstractTableModel {
  Q_OBJECT
 public:
  enum Column { Feature, Share, Family, Density, MaxAct, Label, ColumnCount };
  enum Role { LayerRole = Qt::UserRole + 1, FeatureRole, ShareRole };
  using QAbstractTableModel::QAbstractTableModel;

  void setFeatures(int layer, int head, std::vector<zs::HeadTopFeature> features);
  void clear();
  int layer() const { return layer_; }
  int head() const { return head_; }
  const std::vector<zs::HeadTopFeature>& features() const { return features_; }

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation o, int role = Qt::DisplayRole) const override;

 private:
  int layer_ = -1, head_ = -1;
  std::vector<zs::HeadTopFeature> features_;
};

}  // namespace zs::gui
