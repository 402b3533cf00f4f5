#pragma once
// Figures for papers: any view that implements FigureSource exports to PNG
// (chosen size and DPI), SVG and PDF, written atomically (QSaveFile), and the
// numbers behind it to CSV. Sizes are logical pixels at 96 DPI.
#include <QByteArray>
#include <QSize>
#include <QString>

#include <functional>

class QPainter;
class QImage;
class QCustomPlot;

namespace zs::gui {

class FigureSource {
 public:
  virtual ~FigureSource() = default;
  virtual QString figureName() const = 0;   // default file name stem
  virtual QSize figureSize() const = 0;     // natural size (logical pixels)
  // Paints the figure into a rect of `size` logical pixels at the painter's
  // origin. The painter is a QCPPainter (so QCustomPlot can draw into it).
  virtual void paintFigure(QPainter& p, const QSize& size) = 0;
  virtual QString figureCsv() const = 0;    // the numbers behind the figure
};

// True when painting into an SVG or PDF (draw shapes, not bitmaps).
bool isVectorPainter(const QPainter& p);

enum class FigureFormat { Png, Svg, Pdf, Csv, Unknown };
FigureFormat formatForFile(const QString& file);  // by suffix

// PNG at `dpi` (the layout of `size` logical pixels scaled by dpi/96), SVG and
// PDF in vector form; all three have the same layout as the 96-DPI PNG.
QImage renderImage(FigureSource& src, QSize size, int dpi);
QByteArray renderPng(FigureSource& src, QSize size, int dpi);
QByteArray renderSvg(FigureSource& src, QSize size);
QByteArray renderPdf(FigureSource& src, QSize size, int dpi);

// Writes data to file atomically (QSaveFile). False with *error set on failure.
bool saveAtomically(const QString& file, const QByteArray& data, QString* error);
// Format from the suffix (.png/.svg/.pdf/.csv); size empty = natural size.
bool exportFigure(FigureSource& src, const QString& file, QSize size, int dpi, QString* error);

// A QCustomPlot as a figure: name and CSV from callbacks.
class PlotFigure : public FigureSource {
 public:
  PlotFigure(QCustomPlot* plot, std::function<QString()> name, std::function<QString()> csv, QSize natural = QSize(560, 320))
      : plot_(plot), name_(std::move(name)), csv_(std::move(csv)), natural_(natural) {}
  QString figureName() const override { return name_(); }
  QSize figureSize() const override { return natural_; }
  void paintFigure(QPainter& p, const QSize& size) override;
  QString figureCsv() const override { return csv_(); }
  QCustomPlot* plot() const { return plot_; }

 private:
  QCustomPlot* plot_;
  std::function<QString()> name_, csv_;
  QSize natural_;
};
// Paints a QCustomPlot into a figure painter (a QCPPainter) at `size`; `after`
// (if set) paints over it while the plot still has the figure's layout.
void paintPlot(QCustomPlot* plot, QPainter& p, const QSize& size, const std::function<void(QPainter&)>& after = {});

// Light/dark styling of a QCustomPlot (axes, grid, background, text).
void applyPlotTheme(QCustomPlot* plot, bool dark);
// A plot with nothing to show draws no axes (no made-up 0..5 ranges); the axes come back with data.
void setPlotAxesVisible(QCustomPlot* plot, bool visible);
bool isDarkPalette();  // from the application palette

// CSV field quoting (RFC 4180).
QString csvField(const QString& s);

}  // namespace zs::gui
