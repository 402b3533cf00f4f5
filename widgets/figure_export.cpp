// Figure export: see figure_export.h.
#include "widgets/figure_export.h"

#include <QApplication>
#include <QBuffer>
#include <QFileInfo>
#include <QImage>
#include <QPageLayout>
#include <QPageSize>
#include <QPaintEngine>
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

bool isVectorPainter(const QPainter& p) {
  const QPaintEngine* e = p.paintEngine();
  return e && (e->type() == QPaintEngine::SVG || e->type() == QPaintEngine::Pdf);
}

// Every format is painted on a device whose logical resolution is 96 DPI, so a
// font of n points and a pen of n pixels have the same size relative to the
// figure as on screen: the PNG's painter is scaled by dpi/96, the SVG and PDF
// are vector coordinates at 96 per inch. Pens are non-cosmetic (a hairline
// scales with the figure) and QCustomPlot draws without its pixmap caches.
static void paintFigureOn(FigureSource& src, QPaintDevice* dev, QSize size, double scale, bool vector) {
  QCPPainter p(dev);
  p.setRenderHint(QPainter::Antialiasing);
  p.setRenderHint(QPainter::TextAntialiasing);
  p.setRenderHint(QPainter::SmoothPixmapTransform, false);
  p.setMode(QCPPainter::pmNoCaching);
  p.setMode(QCPPainter::pmNonCosmetic);
  if (vector) p.setMode(QCPPainter::pmVectorized);
  if (scale != 1.0) p.scale(scale, scale);
  p.setClipRect(QRect(QPoint(0, 0), size));
  p.fillRect(QRect(QPoint(0, 0), size), isDarkPalette() ? QColor(30, 30, 30) : Qt::white);
  src.paintFigure(p, size);
  p.end();
}

static constexpr double kLogicalDpi = 96.0;
static int dotsPerMeter(double dpi) { return qRound(dpi / 0.0254); }

QImage renderImage(FigureSource& src, QSize size, int dpi) {
  const double scale = dpi / kLogicalDpi;
  QImage img(QSize(qRound(size.width() * scale), qRound(size.height() * scale)), QImage::Format_ARGB32_Premultiplied);
  // Painted at 96 logical DPI (fonts resolve their point sizes against it) ...
  img.setDotsPerMeterX(dotsPerMeter(kLogicalDpi));
  img.setDotsPerMeterY(dotsPerMeter(kLogicalDpi));
  img.fill(isDarkPalette() ? QColor(30, 30, 30) : Qt::white);
  paintFigureOn(src, &img, size, scale, false);
  // ... and stored with the chosen DPI, so it prints at the chosen physical size.
  img.setDotsPerMeterX(dotsPerMeter(dpi));
  img.setDotsPerMeterY(dotsPerMeter(dpi));
  return img;
}

QByteArray renderPng(FigureSource& src, QSize size, int dpi) {
  const QImage img = renderImage(src, size, dpi);
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
  gen.setResolution(qRound(kLogicalDpi));
  gen.setTitle(src.figureName());
  gen.setDescription("Zscope figure");
  paintFigureOn(src, &gen, size, 1.0, true);
  return out;
}

QByteArray renderPdf(FigureSource& src, QSize size, int /*dpi*/) {
  QByteArray out;
  QBuffer buf(&out);
  buf.open(QIODevice::WriteOnly);
  {
    // One page of exactly the figure's size (points = px * 72/96); the writer's
    // resolution is the logical 96 DPI, so coordinates are the figure's pixels.
    QPdfWriter w(&buf);
    w.setResolution(qRound(kLogicalDpi));
    w.setPageLayout(QPageLayout(QPageSize(QSizeF(size.width() * 72.0 / kLogicalDpi, size.height() * 72.0 / kLogicalDpi),
                                          QPageSize::Point, QString(), QPageSize::ExactMatch),
                                QPageLayout::Portrait, QMarginsF(0, 0, 0, 0), QPageLayout::Point));
    w.setTitle(src.figureName());
    w.setCreator("Zscope");
    paintFigureOn(src, &w, size, 1.0, true);
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

void paintPlot(QCustomPlot* plot, QPainter& p, const QSize& size, const std::function<void(QPainter&)>& after) {
  // Lay the plot out for the figure's size before drawing (twice: tick labels
  // chosen for one layout change the margins of the next), so what depends on
  // the axis rect's size (thinned tick labels) is the same at every DPI.
  const QRect old = plot->viewport();
  plot->setViewport(QRect(QPoint(0, 0), size));
  for (int pass = 0; pass < 2; ++pass)
    for (auto phase : {QCPLayoutElement::upPreparation, QCPLayoutElement::upMargins, QCPLayoutElement::upLayout})
      plot->plotLayout()->update(phase);
  plot->toPainter(static_cast<QCPPainter*>(&p), size.width(), size.height());
  if (after) after(p);
  plot->setViewport(old);
  // toPainter lays the plot out for the figure's size; lay it out for the widget again.
  plot->replot(QCustomPlot::rpQueuedReplot);
}

void PlotFigure::paintFigure(QPainter& p, const QSize& size) { paintPlot(plot_, p, size); }

bool isDarkPalette() { return qApp && qApp->palette().color(QPalette::Window).lightness() < 128; }

void setPlotAxesVisible(QCustomPlot* plot, bool visible) {
  for (QCPAxis* a : {plot->xAxis, plot->yAxis}) a->setVisible(visible);  // the grid goes with its axis
}

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
  // Legends: the palette's colours, see-through enough that a curve under one still shows.
  QColor legendBg = bg;
  legendBg.setAlpha(200);
  plot->legend->setBrush(legendBg);
  plot->legend->setBorderPen(QPen(grid));
  plot->legend->setTextColor(fg);
  plot->replot(QCustomPlot::rpQueuedReplot);
}

QString csvField(const QString& s) {
  if (!s.contains(QRegularExpression("[\",\\n\\r]")) && !s.startsWith(' ') && !s.endsWith(' ')) return s;
  QString q = s;
  q.replace("\"", "\"\"");
  return "\"" + q + "\"";
}

}  // namespace zs::gui
