#pragma once
// Two prompts side by side (PromptComparison) as table models: per position
// (tokens, the feature's activation on each prompt, DFA by source token at each
// prompt's destination, and B − A when the positions pair up) or per head (DFA
// by head on each prompt and B − A).
#include <QAbstractTableModel>

#include "core/engine/engine.h"

namespace zs::gui {

class PromptCompareModel : public QAbstractTableModel {
  Q_OBJECT
 public:
  enum Kind { Tokens, Heads };
  enum TokenColumn { Pos, TokenA, ActA, TokenB, ActB, ActDiff, DfaA, DfaB, DfaDiff, TokenColumns };
  enum HeadColumn { Head, HeadA, HeadB, HeadDiff, HeadColumns };
  // PositionRole: the row's position (Tokens) or head (Heads). ValueRole: the
  // number behind a numeric cell (invalid where there is none).
  enum Role { PositionRole = Qt::UserRole + 1, ValueRole };

  explicit PromptCompareModel(Kind kind, QObject* parent = nullptr) : QAbstractTableModel(parent), kind_(kind) {}
  void setComparison(const zs::PromptComparison& c);
  void clear();
  bool isEmpty() const { return rows_ == 0; }

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation o, int role = Qt::DisplayRole) const override;

 private:
  QVariant value(int row, int col) const;  // ValueRole
  Kind kind_;
  zs::PromptComparison c_;
  int rows_ = 0;
};

}  // namespace zs::gui
