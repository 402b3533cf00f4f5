#pragma once
// Figures for papers: any view that implements FigureSource exports to PNG
// (chosen size and DPI), SVG and PDF, written atomically (QSaveFile), and the
// numbers behind it to CSV. Sizes are logical pixels at 96 DPI.
#include <QByteArray>
#include <QSize>
#include <QString>

class QPainter;
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

enum class FigureFormat { Png, Svg, Pdf, Csv, Unknown };
FigureFormat formatForFile(const QString& file);  // by suffix

QByteArray renderPng(FigureSource& src, QSize size, int dpi);
QByteArray renderSvg(FigureSource& src, QSize size);
QByteArray renderPdf(FigureSource& src, QSize size, int dpi);

// Writes data to file atomically (QSaveFile). False with *error set on failure.
bool saveAtomically(const QString& file, const QByteArray& data, QString* error);
// Format from the suffix (.png/.svg/.pdf/.csv); size empty = natural size.
bool exportFigure(FigureSource& src, const QString& file, QSize size, int dpi, QString* error);

// Light/dark styling of a QCustomPlot (axes, grid, background, text).
void applyPlotTheme(QCustomPlot* plot, bool dark);
bool isDarkPalette();  // from the application palette

// CSV field quoting (RFC 4180).
QString csvField(const QString& s);

}  // namespace zs::gui
