#pragma once
// The prompt's tokens as chips (whitespace made visible by the tokenizer's
// display strings), wrapped like text. Each chip is coloured by a value per
// token (the selected feature's activation, or overall firing); a second,
// signed value per token (DFA by source) is drawn as a bar under the chip.
// Hover shows a tooltip; clicking selects a position.
#include <QStringList>
#include <QWidget>

#include <vector>

#include "widgets/figure_export.h"

namespace zs::gui {

class TokenView : public QWidget, public FigureSource {
  Q_OBJECT
 public:
  explicit TokenView(QWidget* parent = nullptr);

  void setTokens(const QStringList& display, const QStringList& tooltips);
  void setValues(const std::vector<float>& values, const QString& what);  // >= 0, colour intensity
  void setSourceValues(const std::vector<float>& values, const QString& what);  // signed, empty = none
  void setSelected(int pos);
  void setHighlighted(int pos);  // e.g. hovered RDFA node's source; -1 = none
  void clear();

  int count() const { return display_.size(); }
  int selected() const { return selected_; }
  int highlighted() const { return highlighted_; }
  QRect chipRect(int pos) const;  // widget coordinates
  int chipAt(const QPoint& p) const;
  const std::vector<float>& values() const { return values_; }
  const std::vector<float>& sourceValues() const { return source_; }

  QSize sizeHint() const override;
  bool hasHeightForWidth() const override { return true; }
  int heightForWidth(int w) const override;

  // FigureSource
  QString figureName() const override { return "tokens"; }
  QSize figureSize() const override;
  void paintFigure(QPainter& p, const QSize& size) override;
  QString figureCsv() const override;

 Q_SIGNALS:
  void tokenClicked(int pos);

 protected:
  void paintEvent(QPaintEvent*) override;
  void mousePressEvent(QMouseEvent* e) override;
  void resizeEvent(QResizeEvent*) override;
  bool event(QEvent* e) override;

 private:
  std::vector<QRect> layoutChips(int width) const;
  void paintChips(QPainter& p, const std::vector<QRect>& rects, bool dark) const;
  void relayout();

  QStringList display_, tooltips_;
  std::vector<float> values_, source_;
  QString valueWhat_, sourceWhat_;
  std::vector<QRect> rects_;
  int selected_ = -1, highlighted_ = -1;
};

}  // namespace zs::gui
