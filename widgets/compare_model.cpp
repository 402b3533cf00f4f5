// PromptCompareModel: see compare_model.h.
#include "widgets/compare_model.h"

#include <QColor>

#include <algorithm>
#include <cmath>

namespace zs::gui {

void PromptCompareModel::setComparison(const zs::PromptComparison& c) {
  beginResetModel();
  c_ = c;
  rows_ = kind_ == Tokens ? static_cast<int>(std::max(c.a.tokens.size(), c.b.tokens.size()))
                          : static_cast<int>(std::max(c.a.dfa.byHead.size(), c.b.dfa.byHead.size()));
  endResetModel();
}

void PromptCompareModel::clear() {
  beginResetModel();
  c_ = zs::PromptComparison();
  rows_ = 0;
  endResetModel();
}

int PromptCompareModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : rows_; }

int PromptCompareModel::columnCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : (kind_ == Tokens ? TokenColumns : HeadColumns);
}

static QVariant at(const std::vector<float>& v, int i) {
  return i >= 0 && i < static_cast<int>(v.size()) ? QVariant(static_cast<double>(v[static_cast<size_t>(i)])) : QVariant();
}

QVariant PromptCompareModel::value(int r, int col) const {
  if (kind_ == Heads) {
    switch (col) {
      case HeadA: return at(c_.a.dfa.byHead, r);
      case HeadB: return at(c_.b.dfa.byHead, r);
      case HeadDiff: return at(c_.dfaByHeadDiff, r);
    }
    return {};
  }
  switch (col) {
    case ActA: return at(c_.a.acts, r);
    case ActB: return at(c_.b.acts, r);
    case ActDiff: return at(c_.actDiff, r);
    case DfaA: return at(c_.a.dfa.bySource, r);
    case DfaB: return at(c_.b.dfa.bySource, r);
    case DfaDiff: return at(c_.dfaBySourceDiff, r);
  }
  return {};
}

QVariant PromptCompareModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() < 0 || index.row() >= rows_ || index.column() < 0 || index.column() >= columnCount())
    return {};
  const int r = index.row(), col = index.column();
  if (role == PositionRole) return r;
  if (role == ValueRole) return value(r, col);
  const bool textCol = kind_ == Tokens && (col == TokenA || col == TokenB);
  if (role == Qt::TextAlignmentRole) return textCol ? QVariant() : QVariant(Qt::AlignRight | Qt::AlignVCenter);
  if (role == Qt::ForegroundRole) {
    const QVariant v = value(r, col);
    const bool diff = (kind_ == Tokens && (col == ActDiff || col == DfaDiff)) || (kind_ == Heads && col == HeadDiff);
    if (diff && v.isValid() && std::fabs(v.toDouble()) > 1e-6) return v.toDouble() > 0 ? QColor(178, 24, 43) : QColor(33, 102, 172);
    return {};
  }
  if (role == Qt::ToolTipRole && kind_ == Tokens && (col == DfaA || col == DfaB)) {
    const zs::DfaResult& d = col == DfaA ? c_.a.dfa : c_.b.dfa;
    return tr("DFA from this source token to position %1 (sum over heads)").arg(d.dest);
  }
  if (role != Qt::DisplayRole) return {};
  if (kind_ == Heads) {
    if (col == Head) return QString("H%1").arg(r);
  } else {
    if (col == Pos) return r;
    if (col == TokenA || col == TokenB) {
      const auto& t = col == TokenA ? c_.a.tokens : c_.b.tokens;
      const auto& d = col == TokenA ? c_.a.dfa : c_.b.dfa;
      if (r >= static_cast<int>(t.size())) return {};
      return QString::fromStdString(t[static_cast<size_t>(r)].display) + (r == d.dest ? QStringLiteral("  ◀") : QString());
    }
  }
  const QVariant v = value(r, col);
  return v.isValid() ? QVariant(QString::number(v.toDouble(), 'f', 4)) : QVariant();
}

QVariant PromptCompareModel::headerData(int section, Qt::Orientation o, int role) const {
  if (o != Qt::Horizontal || role != Qt::DisplayRole) return {};
  if (kind_ == Heads) {
    static const char* names[] = {"Head", "DFA A", "DFA B", "B − A"};
    return section >= 0 && section < HeadColumns ? QVariant(tr(names[section])) : QVariant();
  }
  static const char* names[] = {"Pos", "Token A", "Act A", "Token B", "Act B", "Act B − A", "DFA A", "DFA B", "DFA B − A"};
  return section >= 0 && section < TokenColumns ? QVariant(tr(names[section])) : QVariant();
}

}  // namespace zs::gui
