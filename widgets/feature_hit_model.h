#pragma once
// Results of a feature search (label, family, peak token) as a table model:
// layer, feature, max activation, density, peak token, label, family.
#include <QAbstractTableModel>

#include <vector>

#include "core/engine/engine.h"

namespace zs::gui {

class FeatureHitModel : public QAbstractTableModel {
  Q_OBJECT
 public:
  enum Column { Layer, Feature, MaxAct, Density, PeakToken, Label, Family, ColumnCount };
  enum Role { LayerRole = Qt::UserRole + 1, FeatureRole };
  using QAbstractTableModel::QAbstractTableModel;

  void setHits(std::vector<zs::FeatureSearchHit> hits);
  const std::vector<zs::FeatureSearchHit>& hits() const { return hits_; }

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation o, int role = Qt::DisplayRole) const override;

 private:
  std::vector<zs::FeatureSearchHit> hits_;
};

}  // namespace zs::gui
