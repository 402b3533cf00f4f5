// Figure export: see figure_export.h.
#include "widgets/figure_export.h"

#include <QApplication>
#include <QBuffer>
#include <QFileInfo>
#include <QImage>
#include <QPageSize>
#include <QPalette>
#include <QPdfWriter>
#include <QSaveFile>
#include <QSvgGenerator>

#include "widgets/qcp.h"

namespace zs::gui {

FigureFormat formatForFile(const QString& file) {
  const QString s = QFileInfo(file).suffix().toLower();
  if (s == "png") return FigureFormat::Png;
  if (s == "svg") return FigureFormat::Svg;
  if (s == "pdf") return FigureFormat::Pdf;
  if (s == "csv") return FigureFormat::Csv;
  return FigureFormat::Unknown;
}

static void paintScaled(FigureSource& src, QPaintDevice* dev, QSize size, double scale) {
  QCPPainter p(dev);
  p.setRenderHint(QPainter::Antialiasing);
  p.setRenderHint(QPainter::TextAntialiasing);
  p.scale(scale, scale);
  src.paintFigure(p, size);
  p.end();
}

QByteArray renderPng(FigureSource& src, QSize size, int dpi) {
  const double scale = dpi / 96.0;
  QImage img(QSize(qRound(size.width() * scale), qRound(size.height() * scale)), QImage::Format_ARGB32);
  img.setDotsPerMeterX(qRound(dpi / 0.0254));
  img.setDotsPerMeterY(qRound(dpi / 0.0254));
  img.fill(isDarkPalette() ? QColor(30, 30, 30) : Qt::white);
  paintScaled(src, &img, size, scale);
  QByteArray out;
  QBuffer buf(&out);
  buf.open(QIODevice::WriteOnly);
  img.save(&buf, "PNG");
  return out;
}

QByteArray renderSvg(FigureSource& src, QSize size) {
  QByteArray out;
  QBuffer buf(&out);
  buf.open(QIODevice::WriteOnly);
  QSvgGenerator gen;
  gen.setOutputDevice(&buf);
  gen.setSize(size);
  gen.setViewBox(QRect(QPoint(0, 0), size));
  gen.setResolution(96);
  gen.setTitle(src.figureName());
  gen.setDescription("Zscope figure");
  paintScaled(src, &gen, size, 1.0);
  return out;
}

QByteArray renderPdf(FigureSource& src, QSize size, int dpi) {
  QByteArray out;
  QBuffer buf(&out);
  buf.open(QIODevice::WriteOnly);
  {
    QPdfWriter w(&buf);
    w.setResolution(dpi);
    w.setPageSize(QPageSize(QSizeF(size.width() * 72.0 / 96, size.height() * 72.0 / 96), QPageSize::Point));
    w.setPageMargins(QMarginsF(0, 0, 0, 0));
    w.setTitle(src.figureName());
    w.setCreator("Zscope");
    paintScaled(src, &w, size, dpi / 96.0);
  }
  return out;
}

bool saveAtomically(const QString& file, const QByteArray& data, QString* error) {
  QSaveFile f(file);
  if (!f.open(QIODevice::WriteOnly) || f.write(data) != data.size() || !f.commit()) {
    if (error) *error = file + ": " + f.errorString();
    return false;
  }
  return true;
}

bool exportFigure(FigureSource& src, const QString& file, QSize size, int dpi, QString* error) {
  if (size.isEmpty()) size = src.figureSize();
  if (dpi <= 0 || dpi > 1200) dpi = 150;
  switch (formatForFile(file)) {
    case FigureFormat::Png: return saveAtomically(file, renderPng(src, size, dpi), error);
    case FigureFormat::Svg: return saveAtomically(file, renderSvg(src, size), error);
    case FigureFormat::Pdf: return saveAtomically(file, renderPdf(src, size, dpi), error);
    case FigureFormat::Csv: return saveAtomically(file, src.figureCsv().toUtf8(), error);
    case FigureFormat::Unknown: break;
  }
  if (error) *error = file + ": unknown format (use .png, .svg, .pdf or .csv)";
  return false;
}

bool isDarkPalette() { return qApp && qApp->palette().color(QPalette::Window).lightness() < 128; }

void applyPlotTheme(QCustomPlot* plot, bool dark) {
  const QColor fg = dark ? QColor(220, 220, 220) : QColor(30, 30, 30);
  const QColor bg = dark ? QColor(30, 30, 30) : Qt::white;
  const QColor grid = dark ? QColor(70, 70, 70) : QColor(220, 220, 220);
  plot->setBackground(bg);
  for (QCPAxisRect* r : plot->axisRects()) {
    for (QCPAxis* a : r->axes()) {
      a->setBasePen(QPen(fg));
      a->setTickPen(QPen(fg));
      a->setSubTickPen(QPen(fg));
      a->setTickLabelColor(fg);
      a->setLabelColor(fg);
      a->grid()->setPen(QPen(grid, 1, Qt::DotLine));
    }
  }
  for (int i = 0; i < plot->plotLayout()->elementCount(); ++i)
    if (auto* t = qobject_cast<QCPTextElement*>(plot->plotLayout()->elementAt(i))) t->setTextColor(fg);
  for (QCPLayoutElement* e : plot->plotLayout()->elements(true))
    if (auto* cs = qobject_cast<QCPColorScale*>(e)) {
      QCPAxis* a = cs->axis();
      a->setBasePen(QPen(fg));
      a->setTickPen(QPen(fg));
      a->setSubTickPen(QPen(fg));
      a->setTickLabelColor(fg);
      a->setLabelColor(fg);
    }
  plot->replot(QCustomPlot::rpQueuedReplot);
}

QString csvField(const QString& s) {
  if (!s.contains(QRegularExpression("[\",\\n\\r]")) && !s.startsWith(' ') && !s.endsWith(' ')) return s;
  QString q = s;
  q.replace("\"", "\"\"");
  return "\"" + q + "\"";
}

}  // namespace zs::gui
