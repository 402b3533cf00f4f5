// Paper figures: a 300-DPI PNG scaled down, the SVG rendered by QSvgRenderer
// and the PDF rasterised by pdftoppm all have the layout of the 96-DPI PNG
// (mean grey-level difference small, the title's ink in the same place); the
// SVG and PDF heatmaps are vector cells, not an embedded bitmap; every plot's
// right-click offers the export; the main window fits 1366×768 and 1920×1080
// with no dock over another; --export-figure writes a file from the real app.
#include <QApplication>
#include <QDockWidget>
#include <QMenu>
#include <QProcess>
#include <QStandardPaths>
#include <QSvgRenderer>
#include <QTimer>

#include <cmath>

#include "app/gui/explorer/compare_view.h"
#include "app/gui/explorer/explorer_controller.h"
#include "app/gui/explorer/intervention_panel.h"
#include "app/gui/explorer/mainwindow.h"
#include "testutil.h"
#include "widgets/compare_plot.h"
#include "widgets/dashboard_view.h"
#include "widgets/figure_export.h"
#include "widgets/heatmap_plot.h"
#include "widgets/qcp.h"
#include "widgets/token_view.h"

using namespace zs::gui;

namespace {

QImage gray(const QImage& img, QSize size) {
  return img.convertToFormat(QImage::Format_ARGB32).scaled(size, Qt::IgnoreAspectRatio, Qt::SmoothTransformation)
      .convertToFormat(QImage::Format_Grayscale8);
}

// Mean absolute grey-level difference (0..255), at half the figure's size:
// the layout, not how one-pixel stripes (a 128-token heatmap) fall on pixels.
double meanDiff(const QImage& fullA, const QImage& fullB) {
  const QImage a = fullA.scaled(fullA.size() / 2, Qt::IgnoreAspectRatio, Qt::SmoothTransformation);
  const QImage b = fullB.scaled(fullA.size() / 2, Qt::IgnoreAspectRatio, Qt::SmoothTransformation);
  double s = 0;
  for (int y = 0; y < a.height(); ++y) {
    const uchar* pa = a.constScanLine(y);
    const uchar* pb = b.constScanLine(y);
    for (int x = 0; x < a.width(); ++x) s += std::abs(int(pa[x]) - int(pb[x]));
  }
  return s / (double(a.width()) * a.height());
}

// Bounding box of dark pixels (the title) in the top `band` rows.
QRect inkBox(const QImage& g, int band) {
  QRect r;
  for (int y = 0; y < band && y < g.height(); ++y) {
    const uchar* p = g.constScanLine(y);
    for (int x = 0; x < g.width(); ++x)
      if (p[x] < 128) r = r.united(QRect(x, y, 1, 1));
  }
  return r;
}

QImage renderSvgImage(const QByteArray& svg, QSize size) {
  QImage img(size, QImage::Format_ARGB32);
  img.fill(Qt::white);
  QSvgRenderer r(svg);
  QPainter p(&img);
  r.render(&p, QRectF(QPointF(0, 0), size));
  return img;
}

QString tmp(const QString& name) { return QString::fromStdString(zs::test::tempDir()) + "/" + name; }

}  // namespace

class TestFigures : public QObject {
  Q_OBJECT

  // Every format against the 96-DPI PNG.
  void compareFormats(FigureSource& src, QSize size, const QString& name) {
    const QImage ref = gray(renderImage(src, size, 96), size);
    QCOMPARE(ref.size(), size);
    const QRect refTitle = inkBox(ref, 30);
    QVERIFY2(!refTitle.isEmpty(), qPrintable(name + ": no title ink"));

    const QImage hi = renderImage(src, size, 300);
    QCOMPARE(hi.size(), QSize(qRound(size.width() * 300 / 96.0), qRound(size.height() * 300 / 96.0)));
    const QImage hiSmall = gray(hi, size);
    if (qEnvironmentVariableIsSet("ZSCOPE_KEEP_FIGURES")) {
      const QString dir = qEnvironmentVariable("ZSCOPE_KEEP_FIGURES");
      ref.save(dir + "/" + name + "_96.png");
      hiSmall.save(dir + "/" + name + "_300small.png");
    }
    const double dHi = meanDiff(ref, hiSmall);
    QVERIFY2(dHi < 6, qPrintable(QString("%1: 300-DPI PNG differs by %2").arg(name).arg(dHi)));
    const QRect hiTitle = inkBox(hiSmall, 30);
    QVERIFY2((hiTitle.center() - refTitle.center()).manhattanLength() <= 3 && std::abs(hiTitle.width() - refTitle.width()) <= 4,
             qPrintable(QString("%1: title at %2,%3 %4 wide, not %5,%6 %7").arg(name).arg(hiTitle.center().x()).arg(hiTitle.center().y())
                            .arg(hiTitle.width()).arg(refTitle.center().x()).arg(refTitle.center().y()).arg(refTitle.width())));

    const QImage svg = gray(renderSvgImage(renderSvg(src, size), size), size);
    const double dSvg = meanDiff(ref, svg);
    QVERIFY2(dSvg < 8, qPrintable(QString("%1: SVG differs by %2").arg(name).arg(dSvg)));
    const QRect svgTitle = inkBox(svg, 30);
    QVERIFY2((svgTitle.center() - refTitle.center()).manhattanLength() <= 4, qPrintable(name + ": SVG title moved"));

    const QString pdftoppm = QStandardPaths::findExecutable("pdftoppm");
    if (pdftoppm.isEmpty()) {
      qWarning("pdftoppm (poppler-utils) not installed: the PDF is not rasterised");
      return;
    }
    const QString pdf = tmp(name + ".pdf");
    QString err;
    QVERIFY2(exportFigure(src, pdf, size, 300, &err), qPrintable(err));
    QProcess proc;
    proc.start(pdftoppm, {"-r", "96", "-png", "-singlefile", pdf, tmp(name + "_pdf")});
    QVERIFY(proc.waitForFinished(60000));
    QCOMPARE(proc.exitCode(), 0);
    const QImage pdfImg(tmp(name + "_pdf.png"));
    QVERIFY(!pdfImg.isNull());
    QVERIFY2(std::abs(pdfImg.width() - size.width()) <= 1 && std::abs(pdfImg.height() - size.height()) <= 1,
             qPrintable(QString("PDF page %1x%2").arg(pdfImg.width()).arg(pdfImg.height())));
    const QImage pdfG = gray(pdfImg, size);
    const double dPdf = meanDiff(ref, pdfG);
    QVERIFY2(dPdf < 8, qPrintable(QString("%1: PDF differs by %2").arg(name).arg(dPdf)));
    const QRect pdfTitle = inkBox(pdfG, 30);
    QVERIFY2((pdfTitle.center() - refTitle.center()).manhattanLength() <= 4 && std::abs(pdfTitle.width() - refTitle.width()) <= 6,
             qPrintable(QString("%1: PDF title at %2,%3 %4 wide, not %5,%6 %7").arg(name).arg(pdfTitle.center().x()).arg(pdfTitle.center().y())
                            .arg(pdfTitle.width()).arg(refTitle.center().x()).arg(refTitle.center().y()).arg(refTitle.width())));
  }

 private Q_SLOTS:
  void initTestCase() {
    QStandardPaths::setTestModeEnabled(true);
    QSettings().clear();
  }

  void heatmapExportsHaveOneLayout() {
    HeatmapPlot h("heat");
    h.resize(520, 320);
    std::vector<float> v;
    for (int i = 0; i < 12 * 8; ++i) v.push_back(std::sin(0.37f * i) * (i % 5));
    QStringList rows, cols;
    for (int i = 0; i < 12; ++i) rows << QString("L%1").arg(i);
    for (int i = 0; i < 8; ++i) cols << QString("H%1").arg(i);
    h.setAxisLabels("layer", "head");
    h.setData(v, 12, 8, rows, cols, true);
    h.setTitle("A heatmap title for the comparison");
    compareFormats(h, QSize(520, 320), "heatmap");
    // Cells are vector rectangles and the colour-scale bar a vector gradient: no
    // embedded bitmap in the SVG or the PDF, on either kind of scale.
    for (const bool signedData : {true, false}) {
      h.setData(v, 12, 8, rows, cols, signedData);
      const QByteArray svg = renderSvg(h, QSize(520, 320));
      QCOMPARE(svg.count("<image"), qsizetype(0));
      QVERIFY(svg.contains("linearGradient"));
      const QByteArray pdf = renderPdf(h, QSize(520, 320), 300);
      QVERIFY(!pdf.contains("/Subtype /Image") && !pdf.contains("/Subtype/Image"));
      // The bar still shows: the rendered SVG has the gradient's end colours at the bar's ends.
      const QImage img = renderSvgImage(svg, QSize(520, 320));
      const QImage png = renderImage(h, QSize(520, 320), 96).convertToFormat(QImage::Format_RGB32);
      int barPixels = 0, same = 0;
      for (int y = 40; y < 300; ++y)
        for (int x = 440; x < 520; ++x) {
          const QColor a = png.pixelColor(x, y), b = img.pixelColor(x, y);
          if (a.saturation() < 60) continue;  // the bar: saturated colours (not text, axes or background)
          ++barPixels;
          same += std::abs(a.red() - b.red()) + std::abs(a.green() - b.green()) + std::abs(a.blue() - b.blue()) < 40;
        }
      QVERIFY2(barPixels > 200, qPrintable(QString("colour bar pixels: %1").arg(barPixels)));
      QVERIFY2(same > barPixels * 9 / 10, qPrintable(QString("%1 of %2 bar pixels match").arg(same).arg(barPixels)));
    }
  }

  void transposedHeatmapWithManyTokens() {
    HeatmapPlot h("dfa");
    h.setTransposed(true);
    h.resize(700, 320);
    std::vector<float> v;
    QStringList rows, cols;
    for (int i = 0; i < 128; ++i) rows << QString("%1 tok%1").arg(i);
    for (int i = 0; i < 12; ++i) cols << QString("H%1").arg(i);
    for (int r = 0; r < 128; ++r)
      for (int c = 0; c < 12; ++c) v.push_back(std::cos(0.07f * r) * std::sin(0.5f * c + 0.3f));
    h.setData(v, 128, 12, rows, cols, true);
    h.setTitle("DFA over 128 tokens");
    compareFormats(h, QSize(700, 320), "dfa128");
  }

  // 26 layers × 16 heads and 128 source tokens: visible tick labels never
  // overlap (thinned), and zooming in shows every label again.
  void heatmapLabelsStayReadable() {
    for (const bool transposed : {false, true}) {
      HeatmapPlot h("labels");
      h.setTransposed(transposed);
      h.resize(600, 300);
      h.show();
      QVERIFY(QTest::qWaitForWindowExposed(&h));
      const int rows = transposed ? 128 : 26, cols = transposed ? 12 : 16;
      QStringList rl, cl;
      for (int i = 0; i < rows; ++i) rl << QString("L%1").arg(i);
      for (int i = 0; i < cols; ++i) cl << QString("H%1").arg(i);
      h.setData(std::vector<float>(size_t(rows) * cols, 0.5f), rows, cols, rl, cl, false);
      QCPAxis* rowAxis = transposed ? h.plot()->xAxis : h.plot()->yAxis;
      for (int pass = 0; pass < 3; ++pass) {
        h.plot()->replot();
        QCoreApplication::processEvents();
      }
      const QVector<double> ticks = rowAxis->tickVector();
      QVERIFY(ticks.size() >= 2);
      QVERIFY2(ticks.size() < rows, qPrintable(QString("%1 ticks for %2 rows").arg(ticks.size()).arg(rows)));
      const int line = QFontMetrics(rowAxis->tickLabelFont()).height();
      for (int i = 1; i < ticks.size(); ++i)
        QVERIFY(std::fabs(rowAxis->coordToPixel(ticks[i]) - rowAxis->coordToPixel(ticks[i - 1])) >= line);
      // Zoomed in to 8 rows, every row has its label.
      rowAxis->setRange(-0.5, 7.5);
      for (int pass = 0; pass < 3; ++pass) {
        h.plot()->replot();
        QCoreApplication::processEvents();
      }
      QCOMPARE(rowAxis->tickVector().size(), 8);
    }
  }

  // A long token label ("<|endoftext|>") does not hide the short labels a few cells on: labels are kept
  // by their own widths, never overlap, and every label left out would overlap the one kept before it.
  void shortLabelsBesideALongOneStay() {
    HeatmapPlot h("labels");
    h.resize(600, 300);
    h.show();
    QVERIFY(QTest::qWaitForWindowExposed(&h));
    QStringList cols{"0 <|endoftext|><|endoftext|>"};
    for (int i = 1; i < 8; ++i) cols << QString("%1 a").arg(i);
    h.setData(std::vector<float>(8, 0.5f), 1, 8, {"H0"}, cols, false);
    QCPAxis* x = h.plot()->xAxis;
    for (int pass = 0; pass < 3; ++pass) {
      h.plot()->replot();
      QCoreApplication::processEvents();
    }
    const QFontMetrics fm(x->tickLabelFont());
    auto half = [&](double key) { return (fm.horizontalAdvance(cols[qRound(key)]) + 6) / 2.0; };
    const QVector<double> ticks = x->tickVector();
    QVERIFY2(ticks.size() >= 6, qPrintable(QString("%1 of 8 labels shown").arg(ticks.size())));
    for (int i = 1; i < ticks.size(); ++i)
      QVERIFY(x->coordToPixel(ticks[i]) - x->coordToPixel(ticks[i - 1]) >= half(ticks[i]) + half(ticks[i - 1]) - 1);
    for (int k = 0; k < 8; ++k) {
      if (ticks.contains(k)) continue;
      double before = -1;
      for (double t : ticks)
        if (t < k) before = t;
      QVERIFY(before >= 0);
      QVERIFY(x->coordToPixel(k) - x->coordToPixel(before) < half(k) + half(before));
    }
  }

  void histogramAndTokensExportsHaveOneLayout() {
    DashboardView d;
    d.resize(560, 600);
    zs::Dashboard full;
    full.available = true;
    full.layer = 1;
    full.feature = 5;
    full.maxActivation = 4.5;
    for (int i = 0; i <= 60; ++i) full.histEdges.push_back(std::pow(10.0, -3 + i / 10.0));
    for (int i = 0; i < 60; ++i) full.histCounts.push_back(i > 20 && i < 37 ? 100 * std::exp(-std::pow((i - 28) / 4.0, 2)) : 0);
    full.quantileEdges = {0.01, 0.0316, 0.1, 0.316, 1, 3.16};
    full.topLogits = {{"a", 2.f}, {"b", 1.f}};
    full.bottomLogits = {{"c", -1.f}};
    full.headAttribution = {0.5f, 0.25f, 0.25f};
    d.setDashboard(full);
    // The histogram shows the bins that hold activations, on a log axis.
    QCOMPARE(d.histogramPlot()->xAxis->scaleType(), QCPAxis::stLogarithmic);
    QVERIFY(d.histogramPlot()->xAxis->range().lower > 0.05 && d.histogramPlot()->xAxis->range().upper < 10);
    QVERIFY(d.histogramPlot()->itemCount() >= 3);  // quantile edges inside the range are marked
    compareFormats(d, QSize(560, 320), "histogram");
    compareFormats(*d.logitsFigure(), QSize(400, 300), "logits");

    TokenView t;
    t.resize(500, 120);
    t.setTokens({"<|endoftext|>", "When", "·Mary", "·and", "·John"}, {});
    t.setValues({0, 1, 3, 0.5f, 2}, "L1 F5 activation");
    t.setSourceValues({0.2f, -0.5f, 1, 0, 0.1f}, "dfa");
    compareFormats(t, QSize(500, 100), "tokens");
  }

  // The Compare prompts plot: grouped vector bars (A, B, B − A), one layout in every format.
  void comparePlotExports() {
    ComparePlot plot;
    plot.resize(640, 320);
    zs::PromptComparison c;
    c.layer = 1;
    c.feature = 7;
    c.aligned = true;
    for (int t = 0; t < 9; ++t) {
      zs::TokenInfo tok;
      tok.display = "tok" + std::to_string(t);
      c.a.tokens.push_back(tok);
      c.b.tokens.push_back(tok);
      c.a.acts.push_back(float(t % 3));
      c.b.acts.push_back(float((t * 2) % 5) * 0.5f);
      c.actDiff.push_back(c.b.acts.back() - c.a.acts.back());
    }
    plot.setComparison(c);
    QCOMPARE(plot.values(ComparePlot::Diff).size(), 9);
    compareFormats(plot, QSize(640, 320), "compare");
    const QByteArray svg = renderSvg(plot, QSize(640, 320));
    QCOMPARE(svg.count("<image"), qsizetype(0));
    QVERIFY(svg.contains("#2166ac") && svg.contains("#e67814") && svg.contains("#6e6e6e"));  // A, B and B − A bars
    const QByteArray pdf = renderPdf(plot, QSize(640, 320), 300);
    QVERIFY(!pdf.contains("/Subtype /Image") && !pdf.contains("/Subtype/Image"));
    QCOMPARE(plot.figureName(), QString("compare_L1_F7"));
    // Not aligned: no B − A bars, and B's extra positions are labelled.
    c.b.tokens.pop_back();
    c.b.acts.pop_back();
    c.aligned = false;
    c.actDiff.clear();
    plot.setComparison(c);
    QCOMPARE(plot.values(ComparePlot::Diff).size(), 0);
    QCOMPARE(plot.values(ComparePlot::B).size(), 8);
    QVERIFY(!renderSvg(plot, QSize(640, 320)).contains("#6e6e6e"));
  }

  void everyPlotHasAnExportMenu() {
    StartupOptions o;
    o.noDefaultModel = true;
    MainWindow w(o);
    w.resize(1400, 900);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    ExplorerController* x = w.explorer();
    QList<QWidget*> targets = {x->headMap()->plot(), x->dfaMap()->plot(), x->dashboard()->histogramPlot(),
                               x->dashboard()->logitsPlot(), x->dashboard()->headsPlot(), x->tokenView(),
                               x->interventionPanel()->lossPlot(), x->compareView()->comparePlot()->plot()};
    for (QWidget* t : targets) {
      QVERIFY2(t->contextMenuPolicy() == Qt::CustomContextMenu, qPrintable(t->objectName()));
      bool sawExport = false;
      QTimer::singleShot(50, [&] {
        if (auto* m = qobject_cast<QMenu*>(QApplication::activePopupWidget())) {
          for (QAction* a : m->actions()) sawExport |= a->text().startsWith("Export figure");
          m->close();
        }
      });
      Q_EMIT t->customContextMenuRequested(QPoint(10, 10));
      QVERIFY2(sawExport, qPrintable(t->metaObject()->className()));
    }
    for (const QString& kind : {"tokens", "heads", "dfa", "histogram", "logits", "headbars", "tree", "intervention", "compare"})
      QVERIFY2(x->figure(kind) != nullptr, qPrintable(kind));
  }

  // The window fits common screens: its minimum size is smaller, and at that
  // size no two visible docks overlap; the explorer's six main docks are all
  // visible at 1920×1080 (none behind a tab of another).
  void layoutFitsCommonScreens() {
    QSettings().clear();
    StartupOptions o;
    o.noDefaultModel = true;
    MainWindow w(o);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    for (const QSize screen : {QSize(1366, 768), QSize(1920, 1080)}) {
      const QSize avail = screen - QSize(0, 60);  // title bar and a panel
      const QSize minimum = w.minimumSizeHint().expandedTo(w.minimumSize());
      QVERIFY2(minimum.width() <= avail.width() && minimum.height() <= avail.height(),
               qPrintable(QString("minimum %1x%2 for %3x%4").arg(minimum.width()).arg(minimum.height()).arg(avail.width()).arg(avail.height())));
      w.resize(avail);
      w.explorer()->sizeDocks(&w);
      QTest::qWait(100);
      QCOMPARE(w.size(), avail);
      QList<QDockWidget*> shown;
      for (QDockWidget* d : w.findChildren<QDockWidget*>())
        if (d->isVisible() && !d->isFloating() && !d->visibleRegion().isEmpty()) shown << d;
      for (int i = 0; i < shown.size(); ++i) {
        QVERIFY2(w.rect().contains(shown[i]->geometry()), qPrintable(shown[i]->objectName() + " outside the window"));
        for (int j = i + 1; j < shown.size(); ++j)
          QVERIFY2(!shown[i]->geometry().intersects(shown[j]->geometry()),
                   qPrintable(shown[i]->objectName() + " overlaps " + shown[j]->objectName()));
      }
      for (const char* name : {"promptDock", "tokensDock", "featuresDock", "headsDock", "dfaDock", "rdfaDock", "dashboardDock"}) {
        auto* d = w.findChild<QDockWidget*>(name);
        QVERIFY2(shown.contains(d), name);
        QVERIFY2(d->width() >= 150 && d->height() >= 80,
                 qPrintable(QString("%1 is %2x%3 at %4x%5").arg(name).arg(d->width()).arg(d->height()).arg(avail.width()).arg(avail.height())));
      }
      QVERIFY(w.findChild<QDockWidget*>("rdfaDock")->geometry().intersects(w.findChild<QDockWidget*>("dashboardDock")->geometry()) == false);
    }
  }

  // zscope --export-figure renders one figure of the real app offscreen and quits.
  void scriptedExportFromTheApp() {
    const QByteArray gui = qgetenv("ZSCOPE_GUI");
    if (gui.isEmpty()) QSKIP("ZSCOPE_GUI is not set (run through ctest)");
    const QString shipped = qEnvironmentVariable("ZSCOPE_DATA_DIR") + "/models/zscope-4l/config.json";
    if (!QFileInfo::exists(shipped)) QSKIP("the shipped model is absent");
    for (const QString& kind : {"heads", "dfa", "tree"}) {
      const QString out = tmp("scripted_" + kind + ".png");
      QProcess p;
      QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
      env.insert("QT_QPA_PLATFORM", "offscreen");
      env.insert("HOME", QString::fromStdString(zs::test::tempDir()));
      p.setProcessEnvironment(env);
      p.start(QString::fromLocal8Bit(gui), {"--threads", "1", "--export-figure", kind, "--out", out, "--width", "400", "--height", "260",
                                            "--dpi", "192", "--prompt", "The cat sat on the mat. The cat", "--select", "1:63@-1"});
      QVERIFY(p.waitForFinished(120000));
      QVERIFY2(p.exitCode() == 0, p.readAllStandardError().constData());
      const QImage img(out);
      QCOMPARE(img.size(), QSize(800, 520));
    }
    // The intervention and compare figures run one more request before they are written.
    struct Case {
      QString kind, suffix;
      QStringList extra;
      QByteArray barColour;  // a fill of the bars in the SVG
    };
    const QList<Case> cases = {{"intervention", "svg", {"--intervene", "clamp:8@all"}, QByteArray()},
                               {"compare", "svg", {"--prompt-b", "The mat sat on the cat. The cat"}, "#2166ac"},
                               {"compare", "png", {"--prompt-b", "A dog"}, QByteArray()}};
    for (const Case& k : cases) {
      const QString out = tmp("scripted_" + k.kind + "." + k.suffix);
      QProcess p;
      QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
      env.insert("QT_QPA_PLATFORM", "offscreen");
      env.insert("HOME", QString::fromStdString(zs::test::tempDir()));
      p.setProcessEnvironment(env);
      p.start(QString::fromLocal8Bit(gui), QStringList{"--threads", "1", "--export-figure", k.kind, "--out", out, "--width", "500",
                                                       "--height", "300", "--dpi", "192", "--prompt",
                                                       "The cat sat on the mat. The cat"} + k.extra);  // the top feature: it fires
      QVERIFY(p.waitForFinished(120000));
      QVERIFY2(p.exitCode() == 0, p.readAllStandardError().constData());
      if (k.suffix == "png") {
        QCOMPARE(QImage(out).size(), QSize(1000, 600));
        continue;
      }
      QFile f(out);
      QVERIFY(f.open(QIODevice::ReadOnly));
      const QByteArray svg = f.readAll();
      QCOMPARE(QSvgRenderer(svg).viewBox(), QRect(0, 0, 500, 300));  // 500×300 px at 96 DPI
      QVERIFY(svg.contains("width=\"132.292mm\" height=\"79.375mm\""));
      QCOMPARE(svg.count("<image"), qsizetype(0));  // bars are vector shapes
      if (k.kind == "intervention")  // clamped everywhere: the loss changes, up (red) or down (blue)
        QVERIFY(svg.contains("#b2182b") || svg.contains("#2166ac"));
      else
        QVERIFY(svg.contains(k.barColour));
    }
    // Bad arguments: one line and exit 2, nothing written.
    for (const QStringList& bad : {QStringList{"--export-figure", "compare", "--out", tmp("x.png")},
                                   QStringList{"--export-figure", "intervention", "--intervene", "scale", "--out", tmp("x.png")},
                                   QStringList{"--export-figure", "intervention", "--intervene", "melt:2", "--out", tmp("x.png")}}) {
      QProcess p;
      p.start(QString::fromLocal8Bit(gui), bad);
      QVERIFY(p.waitForFinished(60000));
      QCOMPARE(p.exitCode(), 2);
      QVERIFY(!QFileInfo::exists(tmp("x.png")));
    }
  }
};

QTEST_MAIN(TestFigures)
#include "test_figures.moc"
