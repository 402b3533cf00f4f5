// TokenView: see token_view.h.
#include "widgets/token_view.h"

#include <QHelpEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QToolTip>

#include <algorithm>
#include <cmath>

namespace zs::gui {

namespace {
constexpr int kPad = 4, kGap = 3, kBar = 4, kMargin = 6;
}

TokenView::TokenView(QWidget* parent) : QWidget(parent) {
  setMouseTracking(true);
  setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Preferred);
}

void TokenView::setTokens(const QStringList& display, const QStringList& tooltips) {
  display_ = display;
  tooltips_ = tooltips;
  values_.assign(display.size(), 0.f);
  source_.clear();
  selected_ = highlighted_ = -1;
  relayout();
}

void TokenView::setValues(const std::vector<float>& values, const QString& what) {
  values_ = values;
  values_.resize(display_.size(), 0.f);
  valueWhat_ = what;
  update();
}

void TokenView::setSourceValues(const std::vector<float>& values, const QString& what) {
  source_ = values;
  sourceWhat_ = what;
  update();
}

void TokenView::setSelected(int pos) {
  selected_ = pos;
  update();
}

void TokenView::setHighlighted(int pos) {
  if (highlighted_ == pos) return;
  highlighted_ = pos;
  update();
}

void TokenView::clear() { setTokens({}, {}); }

std::vector<QRect> TokenView::layoutChips(int width) const {
  std::vector<QRect> out;
  const QFontMetrics fm(font());
  const int h = fm.height() + 2 * kPad + kBar;
  int x = kMargin, y = kMargin;
  for (const QString& t : display_) {
    const int w = std::max(fm.horizontalAdvance(t) + 2 * kPad, 12);
    if (x + w > width - kMargin && x > kMargin) {
      x = kMargin;
      y += h + kGap;
    }
    out.emplace_back(x, y, w, h);
    x += w + kGap;
    // A newline token ends the line, as it does in the text.
    if (t.contains(QChar(0x21B5))) {
      x = kMargin;
      y += h + kGap;
    }
  }
  return out;
}

void TokenView::relayout() {
  rects_ = layoutChips(width());
  updateGeometry();
  update();
}

void TokenView::resizeEvent(QResizeEvent*) { rects_ = layoutChips(width()); }

int TokenView::heightForWidth(int w) const {
  auto r = layoutChips(w);
  return r.empty() ? 40 : r.back().bottom() + kMargin;
}

QSize TokenView::sizeHint() const { return QSize(600, heightForWidth(600)); }

QRect TokenView::chipRect(int pos) const {
  return pos >= 0 && pos < static_cast<int>(rects_.size()) ? rects_[pos] : QRect();
}

int TokenView::chipAt(const QPoint& p) const {
  for (size_t i = 0; i < rects_.size(); ++i)
    if (rects_[i].contains(p)) return static_cast<int>(i);
  return -1;
}

void TokenView::paintChips(QPainter& p, const std::vector<QRect>& rects, bool dark) const {
  const float maxV = values_.empty() ? 0.f : *std::max_element(values_.begin(), values_.end());
  float maxS = 0;
  for (float v : source_) maxS = std::max(maxS, std::fabs(v));
  const QColor text = dark ? QColor(235, 235, 235) : QColor(20, 20, 20);
  const QColor base = dark ? QColor(60, 60, 60) : QColor(240, 240, 240);
  const QColor hot(255, 140, 0);  // orange: readable on both palettes
  p.setFont(font());
  for (size_t i = 0; i < rects.size() && i < static_cast<size_t>(display_.size()); ++i) {
    const QRect r = rects[i];
    const QRect chip(r.x(), r.y(), r.width(), r.height() - kBar);
    const double t = maxV > 0 ? std::clamp(values_[i] / maxV, 0.f, 1.f) : 0.0;
    QColor fill = QColor::fromRgbF(base.redF() + (hot.redF() - base.redF()) * t, base.greenF() + (hot.greenF() - base.greenF()) * t,
                                   base.blueF() + (hot.blueF() - base.blueF()) * t);
    p.setPen(Qt::NoPen);
    p.setBrush(fill);
    p.drawRoundedRect(chip, 3, 3);
    if (static_cast<int>(i) == selected_) {
      p.setPen(QPen(dark ? QColor(120, 180, 255) : QColor(0, 90, 200), 2));
      p.setBrush(Qt::NoBrush);
      p.drawRoundedRect(chip.adjusted(1, 1, -1, -1), 3, 3);
    }
    if (static_cast<int>(i) == highlighted_) {
      p.setPen(QPen(QColor(0, 170, 90), 2, Qt::DashLine));
      p.setBrush(Qt::NoBrush);
      p.drawRoundedRect(chip.adjusted(-1, -1, 1, 1), 3, 3);
    }
    p.setPen(t > 0.6 && !dark ? QColor(0, 0, 0) : text);
    p.drawText(chip, Qt::AlignCenter, display_[i]);
    if (i < source_.size() && maxS > 0 && source_[i] != 0) {
      const int w = std::max(1, qRound(r.width() * std::fabs(source_[i]) / maxS));
      p.setPen(Qt::NoPen);
      p.setBrush(source_[i] > 0 ? QColor(178, 24, 43) : QColor(33, 102, 172));
      p.drawRect(QRect(r.x(), r.bottom() - kBar + 2, w, kBar - 1));
    }
  }
}

void TokenView::paintEvent(QPaintEvent*) {
  QPainter p(this);
  p.setRenderHint(QPainter::Antialiasing);
  if (display_.isEmpty()) {
    p.setPen(palette().color(QPalette::PlaceholderText));
    p.drawText(rect(), Qt::AlignCenter, tr("Type a prompt and press Ctrl+Enter"));
    return;
  }
  paintChips(p, rects_, isDarkPalette());
}

QSize TokenView::figureSize() const {
  const int w = std::max(600, width());
  return QSize(w, heightForWidth(w) + 24);
}

void TokenView::paintFigure(QPainter& p, const QSize& size) {
  const bool dark = isDarkPalette();
  p.fillRect(QRect(QPoint(0, 0), size), dark ? QColor(30, 30, 30) : Qt::white);
  paintChips(p, layoutChips(size.width()), dark);
  p.setPen(dark ? QColor(200, 200, 200) : QColor(60, 60, 60));
  QString legend = valueWhat_;
  if (!sourceWhat_.isEmpty() && !source_.empty()) legend += tr("   bars: ") + sourceWhat_ + tr(" (red +, blue −)");
  p.drawText(QRect(kMargin, size.height() - 20, size.width() - 2 * kMargin, 18), Qt::AlignLeft | Qt::AlignVCenter, legend);
}

QString TokenView::figureCsv() const {
  QString s = "pos,token," + csvField(valueWhat_.isEmpty() ? "value" : valueWhat_);
  if (!source_.empty()) s += "," + csvField(sourceWhat_.isEmpty() ? "source" : sourceWhat_);
  s += "\n";
  for (int i = 0; i < display_.size(); ++i) {
    s += QString::number(i) + "," + csvField(display_[i]) + "," + QString::number(i < (int)values_.size() ? values_[i] : 0, 'g', 9);
    if (!source_.empty()) s += "," + QString::number(i < (int)source_.size() ? source_[i] : 0, 'g', 9);
    s += "\n";
  }
  return s;
}

void TokenView::mousePressEvent(QMouseEvent* e) {
  const int i = chipAt(e->pos());
  if (i >= 0 && e->button() == Qt::LeftButton) {
    setSelected(i);
    Q_EMIT tokenClicked(i);
  }
  QWidget::mousePressEvent(e);
}

bool TokenView::event(QEvent* e) {
  if (e->type() == QEvent::ToolTip) {
    auto* he = static_cast<QHelpEvent*>(e);
    const int i = chipAt(he->pos());
    if (i >= 0) {
      QString tip = i < tooltips_.size() ? tooltips_[i] : display_[i];
      if (i < static_cast<int>(values_.size()) && !valueWhat_.isEmpty())
        tip += QString("<br>%1: <b>%2</b>").arg(valueWhat_.toHtmlEscaped()).arg(values_[i], 0, 'f', 3);
      if (i < static_cast<int>(source_.size()) && !sourceWhat_.isEmpty())
        tip += QString("<br>%1: %2").arg(sourceWhat_.toHtmlEscaped()).arg(source_[i], 0, 'f', 3);
      QToolTip::showText(he->globalPos(), tip, this, chipRect(i));
    } else {
      QToolTip::hideText();
    }
    return true;
  }
  return QWidget::event(e);
}

}  // namespace zs::gui
