// Widget-level tests of the explorer: item models under
// QAbstractItemModelTester, the lazy RDFA tree (stale replies dropped),
// figure export to PNG/SVG/PDF/CSV (valid files, chosen size and DPI), the
// token view's clicks, and the dashboard without a database.
#include <QAbstractItemModelTester>
#include <QSignalSpy>
#include <QSvgRenderer>
#include <QXmlStreamReader>

#include "testutil.h"
#include "widgets/dashboard_view.h"
#include "widgets/feature_table_model.h"
#include "widgets/figure_export.h"
#include "widgets/heatmap_plot.h"
#include "widgets/rdfa_tree_model.h"
#include "widgets/token_view.h"
#include "widgets/qcp.h"

using namespace zs::gui;

class TestExplorerWidgets : public QObject {
  Q_OBJECT
 private:
  static zs::RdfaNode node(int id, const char* kind, double v, bool expandable, quint64 gen = 7) {
    zs::RdfaNode n;
    n.id = id;
    n.generation = gen;
    n.kind = kind;
    n.label = std::string(kind) + " " + std::to_string(id);
    n.value = v;
    n.expandable = expandable;
    n.pos = id % 3;
    return n;
  }
  static QString tmp(const QString& name) { return QString::fromStdString(zs::test::tempDir()) + "/" + name; }

 private Q_SLOTS:
  void initTestCase() { QStandardPaths::setTestModeEnabled(true); }

  void featureTableModelAndProxy() {
    FeatureTableModel m;
    FeatureFilterProxy proxy;
    proxy.setSourceModel(&m);
    QAbstractItemModelTester t1(&m, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QAbstractItemModelTester t2(&proxy, QAbstractItemModelTester::FailureReportingMode::QtTest);
    std::vector<zs::FeatureRow> rows;
    for (int i = 0; i < 6; ++i) {
      zs::FeatureRow r;
      r.layer = i % 2;
      r.feature = 10 + i;
      r.activation = 0.5f * i;
      r.headAttr = {0.1f, 0.2f, 0.3f, 0.4f};
      r.label = i == 3 ? "induction of names" : "";
      r.family = i == 3 ? "induction" : "";
      rows.push_back(r);
    }
    m.setRows(rows);
    QCOMPARE(proxy.rowCount(), 6);
    proxy.setLayerFilter(1);
    QCOMPARE(proxy.rowCount(), 3);
    proxy.setLayerFilter(-1);
    proxy.setText("NAMES");
    QCOMPARE(proxy.rowCount(), 1);
    QCOMPARE(proxy.index(0, FeatureTableModel::Feature).data().toLongLong(), 13);
    proxy.setText("");
    proxy.sort(FeatureTableModel::Activation, Qt::DescendingOrder);
    QCOMPARE(proxy.index(0, FeatureTableModel::Feature).data().toLongLong(), 15);  // numeric, not text, order
    QCOMPARE(proxy.index(0, 0).data(FeatureTableModel::HeadsRole).toList().size(), 4);
  }

  void rdfaTreeFetchesLazilyAndDropsStaleReplies() {
    RdfaTreeModel m;
    QAbstractItemModelTester tester(&m, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QSignalSpy spy(&m, &RdfaTreeModel::expandRequested);
    m.setRoot(node(0, "feature", 1.5, true));
    const QModelIndex root = m.index(0, 0);
    QVERIFY(m.hasChildren(root));
    QCOMPARE(m.rowCount(root), 0);
    // The model tester may already have called fetchMore(); either way exactly one request goes out.
    if (m.canFetchMore(root)) m.fetchMore(root);
    QCOMPARE(spy.count(), 1);
    QCOMPARE(spy.at(0).at(0).toULongLong(), 7ull);
    QCOMPARE(spy.at(0).at(1).toInt(), 0);
    QVERIFY(!m.canFetchMore(root));  // in flight: no duplicate request
    m.addChildren(6, 0, {node(1, "source", 9, false, 6)});  // another prompt's reply
    QCOMPARE(m.rowCount(root), 0);
    m.addChildren(7, 0, {node(1, "source", 1.0, true), node(2, "bias", 0.7, false), node(3, "rest", -0.2, false)});
    QCOMPARE(m.rowCount(root), 3);
    double sum = 0;
    for (int r = 0; r < 3; ++r) sum += m.index(r, 0, root).data(RdfaTreeModel::ValueRole).toDouble();
    QVERIFY(std::fabs(sum - 1.5) < 1e-12);
    const QModelIndex c = m.index(0, 0, root);
    QVERIFY(m.hasChildren(c));
    QVERIFY(!m.hasChildren(m.index(1, 0, root)));
    if (m.canFetchMore(c)) m.fetchMore(c);
    QVERIFY(m.isFetching(c));
    m.addChildren(7, 1, {});
    QVERIFY(!m.hasChildren(c));
    QCOMPARE(m.index(2, RdfaTreeModel::Kind, root).data().toString(), QString("rest"));
    QVERIFY(!m.index(0, 0, root).data(Qt::DecorationRole).value<QIcon>().isNull());
    QVERIFY(RdfaTreeModel::kindColor("attn_feature") != RdfaTreeModel::kindColor("source"));
  }

  void heatmapCellToolTips() {
    HeatmapPlot h("t");
    h.setData({0.25f, 0.5f, 0.125f, 1.0f}, 2, 2, {"L0", "L1"}, {"H0", "H1"}, false);
    QCOMPARE(h.cellToolTip(1, 0), QString("0.125"));  // the value by default
    QVERIFY(h.cellToolTip(2, 0).isEmpty());             // outside the map
    h.setCellToolTip([&h](int r, int c) { return QString("L%1H%2 %3").arg(r).arg(c).arg(h.value(r, c)); });
    QCOMPARE(h.cellToolTip(0, 1), QString("L0H1 0.5"));
  }

  // An empty heatmap draws no axes or colour scale (no made-up 0..5 ranges); data brings them back.
  void emptyHeatmapHasNoAxes() {
    HeatmapPlot h("t");
    QVERIFY(!h.plot()->xAxis->visible() && !h.plot()->yAxis->visible());
    h.setData({0.25f, 0.5f}, 1, 2, {"L0"}, {"H0", "H1"}, false);
    QVERIFY(h.plot()->xAxis->visible() && h.plot()->yAxis->visible());
    h.clear("Select a feature");
    QVERIFY(!h.plot()->xAxis->visible() && !h.plot()->yAxis->visible());
  }

  void heatmapExportsValidFiles() {
    HeatmapPlot h("test");
    h.resize(500, 300);
    h.setData({0.1f, -0.4f, 0.2f, 0.9f, 0.f, -0.3f}, 2, 3, {"a", "b"}, {"H0", "H1", "H2"}, true);
    QCOMPARE(h.value(1, 0), 0.9f);
    QString err;
    const QString png = tmp("heat.png"), svg = tmp("heat.svg"), pdf = tmp("heat.pdf"), csv = tmp("heat.csv");
    QVERIFY2(exportFigure(h, png, QSize(400, 250), 192, &err), qPrintable(err));
    QImage img(png);
    QVERIFY(!img.isNull());
    QCOMPARE(img.size(), QSize(800, 500));  // 192 DPI = 2x the 96-DPI logical size
    QVERIFY(std::abs(img.dotsPerMeterX() - qRound(192 / 0.0254)) <= 1);
    QVERIFY2(exportFigure(h, svg, QSize(400, 250), 96, &err), qPrintable(err));
    QFile f(svg);
    QVERIFY(f.open(QIODevice::ReadOnly));
    QXmlStreamReader xml(&f);
    bool sawSvg = false;
    while (!xml.atEnd()) {
      if (xml.readNext() == QXmlStreamReader::StartElement && xml.name() == QLatin1String("svg")) sawSvg = true;
    }
    QVERIFY2(!xml.hasError(), qPrintable(xml.errorString()));
    QVERIFY(sawSvg);
    QVERIFY(QSvgRenderer(svg).isValid());
    QVERIFY2(exportFigure(h, pdf, QSize(400, 250), 300, &err), qPrintable(err));
    QFile p(pdf);
    QVERIFY(p.open(QIODevice::ReadOnly));
    const QByteArray bytes = p.readAll();
    QVERIFY(bytes.startsWith("%PDF-"));
    QVERIFY(bytes.trimmed().endsWith("%%EOF"));
    QVERIFY2(exportFigure(h, csv, {}, 0, &err), qPrintable(err));
    QFile c(csv);
    QVERIFY(c.open(QIODevice::ReadOnly));
    const QStringList lines = QString::fromUtf8(c.readAll()).split('\n', Qt::SkipEmptyParts);
    QCOMPARE(lines.size(), 3);
    QCOMPARE(lines[2], QString("b,0.899999976,0,-0.300000012"));
    QVERIFY(!exportFigure(h, tmp("heat.bmpx"), {}, 0, &err));
    QVERIFY(err.contains("unknown format"));
    QVERIFY(!exportFigure(h, "/nonexistent-dir/x.png", {}, 96, &err));
  }

  void transposedHeatmapMapsClicksToCells() {
    HeatmapPlot h("t");
    h.setTransposed(true);
    h.resize(500, 300);
    h.show();
    QVERIFY(QTest::qWaitForWindowExposed(&h));
    h.setData({1, 2, 3, 4, 5, 6, 7, 8}, 4, 2, {"a", "b", "c", "d"}, {"H0", "H1"}, false);
    QSignalSpy spy(&h, &HeatmapPlot::cellClicked);
    for (int r = 0; r < 4; ++r)
      for (int c = 0; c < 2; ++c) {
        const QPoint p = h.cellCenter(r, c);
        QCOMPARE(h.cellAt(p), qMakePair(r, c));
        QTest::mouseClick(h.plot(), Qt::LeftButton, {}, h.plot()->mapFrom(&h, p));
        QCOMPARE(spy.last().at(0).toInt(), r);
        QCOMPARE(spy.last().at(1).toInt(), c);
      }
  }

  void darkAndLightFiguresDiffer() {
    HeatmapPlot h("theme");
    h.setData({1, 2, 3, 4}, 2, 2, {"a", "b"}, {"x", "y"}, false);
    h.applyTheme(true);
    const QImage dark = QImage::fromData(renderPng(h, QSize(200, 150), 96));
    h.applyTheme(false);
    const QImage light = QImage::fromData(renderPng(h, QSize(200, 150), 96));
    QVERIFY(qGray(dark.pixel(2, 2)) < 80);
    QVERIFY(qGray(light.pixel(2, 2)) > 200);
  }

  void tokenViewClicksAndExports() {
    TokenView v;
    v.resize(400, 200);
    v.setTokens({"<|endoftext|>", "Hello", "·world", "↵"}, {"a", "b", "c", "d"});
    v.setValues({0, 1, 0.5f, 0}, "act");
    v.setSourceValues({0.2f, -0.1f, 0.4f, 0}, "dfa");
    v.show();
    QVERIFY(QTest::qWaitForWindowExposed(&v));
    QSignalSpy spy(&v, &TokenView::tokenClicked);
    QTest::mouseClick(&v, Qt::LeftButton, {}, v.chipRect(2).center());
    QCOMPARE(spy.count(), 1);
    QCOMPARE(spy.at(0).at(0).toInt(), 2);
    QCOMPARE(v.selected(), 2);
    QVERIFY(v.chipRect(1).top() == v.chipRect(0).top());
    QString err;
    QVERIFY2(exportFigure(v, tmp("tokens.svg"), {}, 96, &err), qPrintable(err));
    QVERIFY(QSvgRenderer(tmp("tokens.svg")).isValid());
    QVERIFY2(exportFigure(v, tmp("tokens.png"), {}, 96, &err), qPrintable(err));
    QVERIFY(!QImage(tmp("tokens.png")).isNull());
    QVERIFY(v.figureCsv().contains("2,·world,0.5,0.400000006"));
  }

  void dashboardWithoutDatabase() {
    DashboardView d;
    zs::Dashboard none;
    none.message = "no feature database loaded";
    d.setDashboard(none);
    QVERIFY(d.html().contains("no feature database loaded"));
    for (QCustomPlot* p : {d.histogramPlot(), d.logitsPlot(), d.headsPlot()}) QVERIFY(!p->xAxis->visible());
    zs::Dashboard full;
    full.available = true;
    full.layer = 1;
    full.feature = 5;
    full.label = "names";
    zs::Example e;
    e.tokens = {{"A", 0.f}, {"·cat", 2.f}};
    e.maxIndex = 1;
    e.maxAct = 2;
    full.top = {e};
    full.maxActivation = 2;
    full.histEdges = {0, 1, 2};
    full.histCounts = {5, 3};
    d.setDashboard(full);
    QVERIFY(d.html().contains("names"));
    for (QCustomPlot* p : {d.histogramPlot(), d.logitsPlot(), d.headsPlot()}) QVERIFY(p->xAxis->visible());
    QVERIFY(DashboardView::exampleHtml(e, 2).contains("<b>·cat</b>"));
    QCOMPARE(d.figureCsv(), QString("bin_low,bin_high,count\n0,1,5\n1,2,3\n"));
    QString err;
    QVERIFY2(exportFigure(d, tmp("hist.pdf"), {}, 150, &err), qPrintable(err));
  }
};

QTEST_MAIN(TestExplorerWidgets)
#include "test_explorer_widgets.moc"
