// The explorer end to end on ../shared/testdata/tiny-gpt2 with two random
// SAEs (layers 0 and 1): Ctrl+Enter fills the token view and feature table;
// clicking a token, then a feature, updates both heatmaps with the numbers
// core computes; RDFA children sum to their parent; stale results are never
// shown; errors reach the user without a crash.
#include <QAbstractItemModelTester>
#include <QComboBox>
#include <QImage>
#include <QDoubleSpinBox>
#include <QDockWidget>
#include <QSplitter>
#include <QLabel>
#include <QListWidget>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QTableView>

#include "app/gui/explorer/compare_view.h"
#include "app/gui/explorer/explorer_controller.h"
#include "app/gui/explorer/explorer_prompt.h"
#include "app/gui/explorer/feature_search.h"
#include "app/gui/explorer/intervention_panel.h"
#include "widgets/feature_hit_model.h"
#include "app/gui/explorer/mainwindow.h"
#include "app/gui/settings.h"
#include "app/gui/worker.h"
#include "core/db/builder.h"
#include "core/db/db.h"
#include "core/db/features.h"
#include "core/db/labels.h"
#include "core/engine/engine.h"
#include "explorer_fixture.h"
#include "testutil.h"
#include "widgets/compare_model.h"
#include "widgets/compare_plot.h"
#include "widgets/dashboard_view.h"
#include "widgets/feature_table_model.h"
#include "widgets/head_feature_model.h"
#include "widgets/heatmap_plot.h"
#include "widgets/rdfa_tree_model.h"
#include "widgets/token_view.h"
#include "widgets/qcp.h"

using namespace zs::gui;

class TestExplorerWindow : public QObject {
  Q_OBJECT
  std::string model_;
  std::string saeRoot_;
  std::string dbFile_;  // the feature database built by dashboardFromFeatureDatabase
  std::vector<zs::test::RandomSae> saes_;
  std::unique_ptr<MainWindow> w_;
  std::unique_ptr<zs::Engine> ref_;  // an independent engine on this thread: the reference numbers
  const QString prompt_ = "the cat sat on the mat. the cat sat";

  ExplorerController* x() { return w_->explorer(); }

  // A double-click on a row of an item view. QTest::mouseDClick alone does not make
  // this Qt's item views emit doubleClicked (the first press of the pair is missing);
  // a click before it does, as a real double-click delivers.
  static void dClick(QAbstractItemView* v, const QModelIndex& i) {
    v->scrollTo(i);
    const QPoint p = v->visualRect(i).center();
    QVERIFY(v->viewport()->rect().contains(p));
    QTest::mouseClick(v->viewport(), Qt::LeftButton, {}, p);
    QTest::mouseDClick(v->viewport(), Qt::LeftButton, {}, p);
  }

  void runPrompt(const QString& text) {
    QPlainTextEdit* e = x()->prompt()->editor();
    e->setFocus();
    e->setPlainText(text);
    QTest::keyClick(e, Qt::Key_Return, Qt::ControlModifier);
    QTRY_VERIFY_WITH_TIMEOUT(!x()->busy() && x()->analysis().prompt == text.toStdString(), 20000);
  }

 private Q_SLOTS:
  void initTestCase() {
    QStandardPaths::setTestModeEnabled(true);
    QSettings().clear();
    ZS_REQUIRE_SHARED(shared);
    model_ = shared + "/testdata/tiny-gpt2";
    saeRoot_ = zs::test::tempDir() + "/saes";
    saes_.push_back(zs::test::writeRandomSae(saeRoot_, 0, 64, 32, 4, 1));
    saes_.push_back(zs::test::writeRandomSae(saeRoot_, 1, 64, 32, 4, 2));
    StartupOptions o;
    o.model = QString::fromStdString(model_);
    o.saes = {QString::fromStdString(saeRoot_)};
    o.threads = 1;
    w_ = std::make_unique<MainWindow>(o);
    w_->resize(1200, 800);
    w_->show();
    QVERIFY(QTest::qWaitForWindowExposed(w_.get()));
    QTRY_VERIFY_WITH_TIMEOUT(w_->modelStatus().contains("tiny-gpt2"), 20000);
    QCOMPARE(w_->deviceStatus(), QString("CPU"));
    ref_ = std::make_unique<zs::Engine>();
    ref_->loadModel(model_, "cpu");
    ref_->loadSaeTree(saeRoot_);
  }

  void cleanupTestCase() { w_.reset(); }

  void ctrlEnterFillsTokensAndTable() {
    QSignalSpy latency(x(), &ExplorerController::latencyMeasured);
    runPrompt(prompt_);
    const zs::PromptAnalysis r = ref_->analyse(prompt_.toStdString(), true);
    QCOMPARE(x()->tokenView()->count(), static_cast<int>(r.tokens.size()));
    QVERIFY(r.tokens.size() > 5);
    QCOMPARE(x()->analysis().tokens.front().id, 376);  // BOS on by default
    QCOMPARE(x()->selection().pos, static_cast<int>(r.tokens.size()) - 1);
    QCOMPARE(x()->featureModel()->rowCount(), static_cast<int>(r.perPosition.back().size()));
    QVERIFY(x()->featureModel()->rowCount() > 0);
    QCOMPARE(latency.count(), 1);
    QVERIFY(x()->lastLatencyMs() > 0);
    QAbstractItemModelTester t(x()->featureTable()->model(), QAbstractItemModelTester::FailureReportingMode::QtTest);
  }

  void clickTokenThenFeatureUpdatesHeatmaps() {
    const zs::PromptAnalysis r = ref_->analyse(prompt_.toStdString(), true);
    // Click the token at position 3: table and token-level head map follow.
    TokenView* tv = x()->tokenView();
    const int pos = 3;
    QTest::mouseClick(tv, Qt::LeftButton, {}, tv->chipRect(pos).center());
    QCOMPARE(x()->selection().pos, pos);
    QCOMPARE(x()->featureModel()->rowCount(), static_cast<int>(r.perPosition[pos].size()));
    QVERIFY(!r.perPosition[pos].empty());
    HeatmapPlot* hm = x()->headMap();
    QCOMPARE(hm->rows(), 2);
    QCOMPARE(hm->cols(), 4);
    // Token level: sum over active features of activation x head fraction (independent, from the SAE weights).
    for (int l = 0; l < 2; ++l)
      for (int h = 0; h < 4; ++h) {
        double expect = 0;
        for (const auto& f : r.perPosition[pos])
          if (f.layer == l) expect += double(f.activation) * saes_[l].headFractions(int(f.feature))[h];
        QVERIFY2(std::fabs(hm->value(l, h) - expect) < 1e-4 * (1 + std::fabs(expect)),
                 qPrintable(QString("L%1 H%2: %3 vs %4").arg(l).arg(h).arg(hm->value(l, h)).arg(expect)));
      }
    // Click the strongest feature's row in the table.
    QTableView* table = x()->featureTable();
    const QModelIndex first = table->model()->index(0, FeatureTableModel::Feature);
    const int layer = first.data(FeatureTableModel::LayerRole).toInt();
    const int feature = first.data(FeatureTableModel::FeatureRole).toInt();
    QCOMPARE(first.data(FeatureTableModel::SortRole).toLongLong(), feature);
    const double act = first.sibling(0, FeatureTableModel::Activation).data().toDouble();
    table->scrollTo(first);
    QTest::mouseClick(table->viewport(), Qt::LeftButton, {}, table->visualRect(first).center());
    QCOMPARE(x()->selection().feature, feature);
    QTRY_VERIFY_WITH_TIMEOUT(x()->dfaResult().feature == feature && x()->dfaResult().dest == pos, 10000);
    const std::vector<float> frac = saes_[layer].headFractions(feature);
    for (int h = 0; h < 4; ++h) {
      QVERIFY(std::fabs(hm->value(layer, h) - frac[h]) < 1e-5);
      QCOMPARE(hm->value(1 - layer, h), 0.f);
    }
    const zs::DfaResult d = ref_->dfa(layer, feature, pos);
    HeatmapPlot* dm = x()->dfaMap();
    QCOMPARE(dm->rows(), pos + 1);
    QCOMPARE(dm->cols(), 4);
    double sum = 0;
    for (int s = 0; s <= pos; ++s)
      for (int h = 0; h < 4; ++h) {
        QVERIFY(std::fabs(dm->value(s, h) - d.dfa[size_t(s) * 4 + h]) < 1e-4 * (1 + std::fabs(d.dfa[size_t(s) * 4 + h])));
        sum += dm->value(s, h);
      }
    // Completeness (ATTRIBUTION.md): pre = sum DFA + bias, and ReLU(pre) is the activation in the table.
    QVERIFY(std::fabs(sum + d.bias - d.preActivation) < 1e-4);
    QVERIFY(std::fabs(std::max(0.0, d.preActivation) - act) < 2e-3);
    // The token view shows DFA by source and the feature's activations.
    QCOMPARE(tv->sourceValues().size(), size_t(pos + 1));
    QVERIFY(std::fabs(tv->sourceValues()[0] - d.bySource[0]) < 1e-4 * (1 + std::fabs(d.bySource[0])));
    QVERIFY(std::fabs(tv->values()[pos] - act) < 2e-3);
    // Clicking a cell lists that head's top features.
    const QPoint cell = hm->cellCenter(layer, 2);
    QVERIFY2(hm->cellAt(cell) == qMakePair(layer, 2), qPrintable(QString("cell at (%1,%2) of %3x%4").arg(cell.x()).arg(cell.y()).arg(hm->width()).arg(hm->height())));
    QTest::mouseClick(hm->plot(), Qt::LeftButton, {}, hm->plot()->mapFrom(hm, cell));
    // Without a feature database: every feature of the layer by its share of head 2 (the SAE's decoder norms).
    HeadFeatureModel* hf = x()->headFeatureModel();
    QAbstractItemModelTester tester(hf, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QTRY_VERIFY_WITH_TIMEOUT(hf->head() == 2 && hf->rowCount() == 32, 10000);
    QCOMPARE(hf->layer(), layer);
    for (int r = 0; r < hf->rowCount(); ++r) {
      const qint64 f = hf->index(r, 0).data(HeadFeatureModel::FeatureRole).toLongLong();
      const double share = hf->index(r, 0).data(HeadFeatureModel::ShareRole).toDouble();
      QVERIFY(std::fabs(share - saes_[layer].headFractions(int(f))[2]) < 1e-5);
      if (r > 0) QVERIFY(share <= hf->index(r - 1, 0).data(HeadFeatureModel::ShareRole).toDouble());
    }
  }

  void rdfaExpansionAddsChildrenThatSum() {
    RdfaTreeModel* m = x()->treeModel();
    QAbstractItemModelTester t(m, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QTRY_VERIFY_WITH_TIMEOUT(m->rowCount() == 1 && m->rowCount(m->index(0, 0)) > 0, 10000);
    const QModelIndex root = m->index(0, 0);
    auto childSum = [m](const QModelIndex& p) {
      double s = 0;
      for (int r = 0; r < m->rowCount(p); ++r) s += m->index(r, 0, p).data(RdfaTreeModel::ValueRole).toDouble();
      return s;
    };
    const double rootValue = root.data(RdfaTreeModel::ValueRole).toDouble();
    QVERIFY2(std::fabs(childSum(root) - rootValue) < 1e-4 * (1 + std::fabs(rootValue)),
             qPrintable(QString("%1 vs %2").arg(childSum(root)).arg(rootValue)));
    // Expand the first expandable child through the view, as a click would.
    QModelIndex c;
    for (int r = 0; r < m->rowCount(root) && !c.isValid(); ++r)
      if (m->node(m->index(r, 0, root))->expandable) c = m->index(r, 0, root);
    QVERIFY(c.isValid());
    x()->treeView()->expand(c);
    QTRY_VERIFY_WITH_TIMEOUT(m->rowCount(c) > 0, 10000);
    const double v = c.data(RdfaTreeModel::ValueRole).toDouble();
    QVERIFY2(std::fabs(childSum(c) - v) < 1e-4 * (1 + std::fabs(v)), qPrintable(QString("%1 vs %2").arg(childSum(c)).arg(v)));
    // Hovering a node highlights its source token.
    Q_EMIT x()->treeView()->positionHovered(1);
    QCOMPARE(x()->tokenView()->highlighted(), 1);
  }

  void backAndForward() {
    const Selection now = x()->selection();
    x()->selectPosition(1);
    QCOMPARE(x()->selection().pos, 1);
    x()->back();
    QCOMPARE(x()->selection().pos, now.pos);
    x()->forward();
    QCOMPARE(x()->selection().pos, 1);
  }

  void staleResultsAreNeverShown() {
    // Two prompts in a row: only the second one's result is shown.
    QSignalSpy shown(x(), &ExplorerController::analysisShown);
    x()->run("first prompt", true);
    x()->run("second prompt here", true);
    QTRY_VERIFY_WITH_TIMEOUT(!x()->busy() && x()->analysis().prompt == "second prompt here", 20000);
    QTest::qWait(50);  // a late first result would arrive by now
    QCOMPARE(shown.count(), 1);
    QCOMPARE(shown.at(0).at(0).toString(), QString("second prompt here"));
    // A late result carrying an old id is ignored.
    const std::string current = x()->analysis().prompt;
    zs::PromptAnalysis stale;
    stale.prompt = "stale";
    stale.tokens.resize(1);
    const quint64 oldId = w_->worker()->nextId(RequestKind::Analyse);
    const quint64 newId = w_->worker()->nextId(RequestKind::Analyse);
    Q_UNUSED(newId);
    Q_EMIT w_->worker()->analysed(oldId, stale, 1.0);
    QCOMPARE(x()->analysis().prompt, current);
    QCOMPARE(x()->tokenView()->count(), static_cast<int>(x()->analysis().tokens.size()));
    // Expanding a tree node of an older analysis (a click that raced a new prompt) is dropped
    // silently: no error dialog, no children for the new tree.
    {
      const quint64 oldGen = x()->analysis().generation - 1;
      QSignalSpy failed(w_->worker(), &Worker::failed);
      QSignalSpy expanded(w_->worker(), &Worker::expanded);
      QMetaObject::invokeMethod(w_->worker(), "expand", Qt::QueuedConnection, Q_ARG(quint64, 424242),
                                Q_ARG(quint64, oldGen), Q_ARG(int, 0));
      QTest::qWait(100);
      QCOMPARE(failed.count(), 0);
      QCOMPARE(expanded.count(), 0);
      QVERIFY(w_->findChild<QMessageBox*>("errorBox") == nullptr);
    }
    runPrompt(prompt_);  // leaves a current request id behind
  }

  void dashboardFromFeatureDatabase() {
    // Before a database is open, the dashboard says so.
    QTRY_VERIFY_WITH_TIMEOUT(x()->dashboard()->html().contains("no feature database loaded"), 10000);
    // A small database over a repeated text corpus, with one hand-written label.
    const zs::db::BuildOptions o =
        zs::test::smallDbOptions(model_, {saes_[0].dir, saes_[1].dir}, zs::test::tempDir() + "/featuredb", 1500, 3);
    QVERIFY(zs::db::buildFeatureDb(o).completed);
    const zs::FeatureRow top = x()->analysis().perPosition[x()->selection().pos].front();
    const int layer = top.layer;
    const qint64 feature = top.feature;
    {
      auto db = zs::db::Db::open(o.out);
      zs::db::Label l;
      l.layer = layer;
      l.feature = feature;
      l.text = "cat-mat detector";
      l.family = "local context";
      zs::db::setLabel(*db, l);
    }
    dbFile_ = o.out;
    QSignalSpy opened(w_->worker(), &Worker::databaseOpened);
    HeadFeatureModel* hf = x()->headFeatureModel();
    const int hfLayer = hf->layer(), hfHead = hf->head();
    QVERIFY(hfLayer >= 0 && hf->rowCount() > 0 && hf->features().front().density < 0);  // from the SAE's decoder
    w_->openDatabase(QString::fromStdString(o.out));
    QTRY_COMPARE_WITH_TIMEOUT(opened.count(), 1, 10000);
    // The head clicked before the database opened is listed again from it, without another click.
    QTRY_VERIFY_WITH_TIMEOUT(hf->rowCount() > 0 && hf->features().front().density >= 0, 10000);
    QCOMPARE(hf->layer(), hfLayer);
    QCOMPARE(hf->head(), hfHead);
    runPrompt(prompt_);
    // The label reaches the feature table, where search finds it.
    x()->featureProxy()->setText("cat-mat");
    QCOMPARE(x()->featureProxy()->rowCount(), 1);
    QCOMPARE(x()->featureProxy()->index(0, FeatureTableModel::Feature).data().toLongLong(), feature);
    QCOMPARE(x()->featureProxy()->index(0, FeatureTableModel::Family).data().toString(), QString("local context"));
    x()->selectPosition(x()->selection().pos);
    x()->selectFeature(layer, feature);
    QTRY_VERIFY_WITH_TIMEOUT(x()->dashboard()->dashboard().available && x()->dashboard()->dashboard().feature == feature, 10000);
    const zs::db::FeatureDashboard ref = zs::db::readDashboard(*zs::db::Db::open(o.out), layer, feature);
    const zs::Dashboard& d = x()->dashboard()->dashboard();
    QCOMPARE(d.label, std::string("cat-mat detector"));
    QCOMPARE(d.top.size(), ref.top.size());
    QVERIFY(std::fabs(d.density - ref.stats.density) < 1e-12);
    QVERIFY(x()->dashboard()->html().contains("cat-mat detector"));
    QVERIFY(!d.top.empty());
    QCOMPARE(d.top[0].maxAct, ref.top[0].activation);
    const QString maxTok = QString::fromStdString(d.top[0].tokens[d.top[0].maxIndex].display).toHtmlEscaped();
    QVERIFY(zs::gui::DashboardView::exampleHtml(d.top[0], 1).contains("<b>" + maxTok + "</b>"));  // max token bold
    QVERIFY(x()->dashboard()->html().contains("font-weight:700"));
    x()->featureProxy()->setText("");
  }

  // With the feature database open, a head's features come from it: live
  // features by their stored share, with labels and families; double-clicking
  // one selects it everywhere, and Back returns to the previous selection.
  void headFeaturesFromDatabase() {
    runPrompt(prompt_);
    const Selection before = x()->selection();
    const zs::FeatureRow top = x()->analysis().perPosition[before.pos].front();
    const int layer = top.layer, head = 1;
    HeadFeatureModel* hf = x()->headFeatureModel();
    QAbstractItemModelTester tester(hf, QAbstractItemModelTester::FailureReportingMode::QtTest);
    HeatmapPlot* hm = x()->headMap();
    QTest::mouseClick(hm->plot(), Qt::LeftButton, {}, hm->plot()->mapFrom(hm, hm->cellCenter(layer, head)));
    QTRY_VERIFY_WITH_TIMEOUT(hf->head() == head && hf->layer() == layer && hf->rowCount() > 0, 10000);
    // Reference: the database rows read directly.
    std::vector<std::tuple<float, qint64, bool, std::string, std::string>> want;  // share, feature, dead, family, label
    {
      auto db = zs::db::Db::open(dbFile_);
      zs::db::Stmt st(*db, "SELECT f.feature, f.head_attribution, f.dead, f.family, COALESCE(l.text, ''), COALESCE(l.family, '')"
                           " FROM features f LEFT JOIN labels l ON l.layer=f.layer AND l.feature=f.feature WHERE f.layer=?");
      st.bind(1, layer);
      while (st.step()) {
        const std::vector<float> a = st.blobAs<float>(1);
        if (st.i64(2) != 0) continue;
        const std::string fam = !st.text(5).empty() ? st.text(5) : st.text(3);
        want.emplace_back(a.at(head), st.i64(0), false, fam, st.text(4));
      }
    }
    std::stable_sort(want.begin(), want.end(), [](const auto& a, const auto& b) { return std::get<0>(a) > std::get<0>(b); });
    QCOMPARE(hf->rowCount(), std::min<int>(50, int(want.size())));
    for (int r = 0; r < hf->rowCount(); ++r) {
      QCOMPARE(hf->index(r, 0).data(HeadFeatureModel::FeatureRole).toLongLong(), std::get<1>(want[r]));
      QVERIFY(std::fabs(hf->index(r, 0).data(HeadFeatureModel::ShareRole).toDouble() - std::get<0>(want[r])) < 1e-7);
      QCOMPARE(hf->features()[r].family, std::get<3>(want[r]));
      QCOMPARE(hf->features()[r].label, std::get<4>(want[r]));
      QVERIFY(hf->features()[r].density >= 0);
    }
    // Double-click a row other than the current feature: every view follows; Back returns.
    int row = 0;
    while (row + 1 < hf->rowCount() && hf->features()[row].feature == before.feature && layer == before.layer) ++row;
    const qint64 chosen = hf->features()[row].feature;
    QTableView* t = x()->headFeatureTable();
    t->scrollTo(hf->index(row, 0));

    QVERIFY(t->isVisible() && t->viewport()->height() >= 2 * t->visualRect(hf->index(0, 0)).height());
    dClick(t, hf->index(row, 0));
    QCOMPARE(x()->selection().layer, layer);
    QCOMPARE(x()->selection().feature, chosen);
    QTRY_VERIFY_WITH_TIMEOUT(x()->featureDetail().feature == chosen && x()->dashboard()->dashboard().feature == chosen, 10000);
    x()->back();
    QCOMPARE(x()->selection(), before);
    x()->forward();
    QCOMPARE(x()->selection().feature, chosen);
  }

  // Search the database by label, family and peak token; a hit selects its feature.
  void searchFindsFeatures() {
    FeatureSearchDialog* d = w_->featureSearch();
    QAbstractItemModelTester tester(d->model(), QAbstractItemModelTester::FailureReportingMode::QtTest);
    QSignalSpy done(d, &FeatureSearchDialog::searched);
    auto run = [&](const QString& q, int field) {
      const int before = done.count();
      d->setQuery(q, field);
      d->search();
      QTRY_VERIFY_WITH_TIMEOUT(done.count() > before, 10000);
    };
    run("cat-mat", 1);
    QCOMPARE(d->model()->rowCount(), 1);
    const int layer = d->model()->hits()[0].layer;
    const qint64 feature = d->model()->hits()[0].feature;
    QCOMPARE(d->model()->hits()[0].label, std::string("cat-mat detector"));
    run("LOCAL CONT", 2);
    QVERIFY(d->model()->rowCount() >= 1);
    // The labelled feature's own peak token finds it (and only features peaking on such a token).
    const QString peak = QString::fromStdString(zs::db::readDashboard(*zs::db::Db::open(dbFile_), layer, feature).top.at(0).tokens.at(
        zs::db::readDashboard(*zs::db::Db::open(dbFile_), layer, feature).top.at(0).maxPos));
    QVERIFY(!peak.isEmpty());
    run(peak, 3);
    QVERIFY(d->model()->rowCount() >= 1);
    bool found = false;
    for (const auto& h : d->model()->hits()) {
      QVERIFY(QString::fromStdString(h.peakToken).contains(peak, Qt::CaseInsensitive));
      found |= h.layer == layer && h.feature == feature;
    }
    QVERIFY(found);
    run("no such text anywhere", 0);
    QCOMPARE(d->model()->rowCount(), 0);
    run("cat-mat", 0);
    QCOMPARE(d->model()->rowCount(), 1);
    d->show();
    QVERIFY(QTest::qWaitForWindowExposed(d));
    x()->selectPosition(1);
    x()->selectFeature(1 - layer, 0);  // some other feature first
    const Selection before = x()->selection();
    dClick(d->table(), d->model()->index(0, 0));
    QCOMPARE(x()->selection().layer, layer);
    QCOMPARE(x()->selection().feature, feature);
    // The hit is a history entry: Back returns to the selection before it, Forward to the hit.
    x()->back();
    QCOMPARE(x()->selection(), before);
    x()->forward();
    QCOMPARE(x()->selection().feature, feature);
    d->hide();
  }

  // Next-token predictions and the loss at the selected position.
  void predictionsFollowThePosition() {
    runPrompt(prompt_);
    const int last = int(x()->analysis().tokens.size()) - 1;
    QTRY_VERIFY_WITH_TIMEOUT(x()->predictions().position == last && !x()->predictions().top.empty(), 10000);
    const auto& p = x()->predictions();
    QCOMPARE(int(p.top.size()), 5);
    double sum = 0;
    for (size_t i = 0; i < p.top.size(); ++i) {
      sum += p.top[i].prob;
      if (i > 0) QVERIFY(p.top[i].prob <= p.top[i - 1].prob);
    }
    QVERIFY(sum > 0 && sum <= 1.0001);
    QVERIFY(std::isfinite(p.loss) && p.loss >= 0);
    QVERIFY(std::fabs(std::exp(-p.loss) - p.probOfActual) < 1e-4);
    QVERIFY(x()->predictionsLabel()->text().contains("loss"));
    x()->selectPosition(1);
    QTRY_VERIFY_WITH_TIMEOUT(x()->predictions().position == 1, 10000);
    // The loss at 1 is -log of the probability position 0 gave its token.
    const int64_t tok1 = x()->analysis().tokens[1].id;
    x()->selectPosition(0);
    QTRY_VERIFY_WITH_TIMEOUT(x()->predictions().position == 0, 10000);
    QVERIFY(std::isnan(x()->predictions().loss));
    x()->selectPosition(last);
    Q_UNUSED(tok1);
  }

  // The Intervene dock: zero-ablating the selected feature at the selected
  // position shows the numbers core computes (Engine::intervene on an
  // independent engine); a result for another selection is never shown; the
  // mode, value and scope are remembered.
  void interventionPanelMatchesCore() {
    runPrompt(prompt_);
    const int pos = 4;
    const zs::PromptAnalysis a = ref_->analyse(prompt_.toStdString(), true);
    const zs::FeatureRow* row = nullptr;
    for (const auto& f : a.perPosition[pos])
      if (f.layer == 0 && (!row || f.activation > row->activation)) row = &f;  // layer 0: later layers feel it
    QVERIFY(row != nullptr);
    QString err;
    QVERIFY2(x()->goTo(QString("0:%1@%2").arg(row->feature).arg(pos), &err), qPrintable(err));
    InterventionPanel* ip = x()->interventionPanel();
    QSignalSpy shown(ip, &InterventionPanel::resultShown);
    ip->modeBox()->setCurrentIndex(ip->modeBox()->findData("zero"));
    ip->scopeBox()->setCurrentIndex(0);  // this position
    QVERIFY(!ip->valueBox()->isEnabled());
    QVERIFY(ip->runButton()->isEnabled());
    QTest::mouseClick(ip->runButton(), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(ip->hasResult(), 10000);
    const zs::InterventionResult ref = ref_->intervene({0, row->feature, zs::InterventionMode::Zero, 0, pos}, pos, 10);
    PredictionChangeModel* m = ip->model();
    QAbstractItemModelTester tester(m, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QCOMPARE(m->rowCount(), int(ref.predictions.size()));
    QVERIFY(m->rowCount() >= 10);
    for (int r = 0; r < m->rowCount(); ++r) {
      const zs::PredictionChange& c = ref.predictions[size_t(r)];
      QCOMPARE(m->index(r, PredictionChangeModel::Token).data().toString(), QString::fromStdString(c.display));
      QCOMPARE(m->index(r, PredictionChangeModel::Token).data(PredictionChangeModel::ValueRole).toLongLong(), qlonglong(c.id));
      QVERIFY(std::fabs(m->index(r, PredictionChangeModel::Clean).data(PredictionChangeModel::ValueRole).toDouble() - c.clean) < 1e-6);
      QVERIFY(std::fabs(m->index(r, PredictionChangeModel::Intervened).data(PredictionChangeModel::ValueRole).toDouble() - c.intervened) < 1e-6);
      QCOMPARE(m->index(r, PredictionChangeModel::Clean).data().toString(), QString("%1%").arg(100.0 * c.clean, 0, 'f', 2));
    }
    // The loss-difference plot: one bar per position after the first, the same numbers.
    QCustomPlot* plot = ip->lossPlot();
    int bars = 0;
    double worst = 0;
    for (int i = 0; i < plot->plottableCount(); ++i) {
      auto* b = qobject_cast<QCPBars*>(plot->plottable(i));
      QVERIFY(b);
      for (auto it = b->data()->begin(); it != b->data()->end(); ++it, ++bars)
        worst = std::max(worst, std::fabs(it->value - ref.lossDiff[size_t(it->key)]));
    }
    QCOMPARE(bars, int(ref.tokens.size()) - 1);
    QVERIFY(worst < 1e-6);
    for (int t = 1; t <= pos; ++t) QVERIFY(std::fabs(ref.lossDiff[size_t(t)]) < 1e-5);  // causality
    QVERIFY(ip->summary()->text().contains("Direct logit effect"));
    QVERIFY(ip->lossFigure()->figureCsv().count('\n') == int(ref.tokens.size()) + 1);
    QCOMPARE(shown.count(), 1);
    QString exportError;
    const QString png = QString::fromStdString(zs::test::tempDir()) + "/intervention.png";
    QVERIFY2(exportFigure(*ip->lossFigure(), png, QSize(480, 300), 192, &exportError), qPrintable(exportError));
    QCOMPARE(QImage(png).size(), QSize(960, 600));

    // Stale: a request for position 4, then another position selected: its result never shows.
    ip->modeBox()->setCurrentIndex(ip->modeBox()->findData("scale"));
    ip->valueBox()->setValue(3.0);
    ip->scopeBox()->setCurrentIndex(1);  // all positions
    QTest::mouseClick(ip->runButton(), Qt::LeftButton);
    x()->selectPosition(2);
    QVERIFY(!ip->hasResult());
    QTest::mouseClick(ip->runButton(), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(ip->hasResult(), 10000);
    QTest::qWait(100);
    QCOMPARE(shown.count(), 2);
    QCOMPARE(ip->result().predictPosition, 2);
    QCOMPARE(ip->result().intervention.position, -1);
    const zs::InterventionResult ref2 = ref_->intervene({0, row->feature, zs::InterventionMode::Scale, 3.0, -1}, 2, 10);
    for (size_t t = 0; t < ref2.actsAfter.size(); ++t)
      QVERIFY(std::fabs(ip->result().actsAfter[t] - ref2.actsAfter[t]) < 1e-6);
    QCOMPARE(gui::settings::interventionMode.get(), QString("scale"));
    QCOMPARE(gui::settings::interventionValue.get(), 3.0);
    QCOMPARE(gui::settings::interventionAllPositions.get(), true);
    // Another feature: the result goes.
    QVERIFY(x()->goTo("1:3@2", &err));
    QVERIFY(!ip->hasResult());
    QCOMPARE(m->rowCount(), 0);
    // A request for an analysis that has been replaced fails quietly (no dialog).
    QSignalSpy failed(w_->worker(), &Worker::failed);
    const quint64 id = w_->worker()->nextId(RequestKind::Intervene);
    const zs::Intervention iv{1, 3, zs::InterventionMode::Zero, 0, 2};
    QMetaObject::invokeMethod(w_->worker(), [w = w_->worker(), id, iv] { w->intervene(id, 999999, iv, 2, 5); },
                              Qt::QueuedConnection);
    QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, 10000);
    QCOMPARE(failed.at(0).at(2).toString(), QString());
    QTest::qWait(50);
    QVERIFY(w_->findChild<QMessageBox*>("errorBox") == nullptr);
  }

  // Arrow keys in the feature table move the selection and every view follows;
  // Go to feature (Ctrl+G) takes L:F and L:F@POS.
  void keyboardAndGoTo() {
    runPrompt(prompt_);
    QTableView* t = x()->featureTable();
    QVERIFY(t->model()->rowCount() >= 2);
    t->setFocus();
    t->setCurrentIndex(t->model()->index(0, 0));
    QTRY_VERIFY(x()->selection().feature == t->model()->index(0, 0).data(FeatureTableModel::FeatureRole).toLongLong());
    QTest::keyClick(t, Qt::Key_Down);
    const qint64 second = t->model()->index(1, 0).data(FeatureTableModel::FeatureRole).toLongLong();
    const int secondLayer = t->model()->index(1, 0).data(FeatureTableModel::LayerRole).toInt();
    QCOMPARE(x()->selection().feature, second);
    QCOMPARE(x()->selection().layer, secondLayer);
    QTRY_COMPARE_WITH_TIMEOUT(x()->featureDetail().feature, int64_t(second), 10000);
    QString err;
    QVERIFY2(x()->goTo("1:3@0", &err), qPrintable(err));
    QCOMPARE(x()->selection().layer, 1);
    QCOMPARE(x()->selection().feature, qint64(3));
    QCOMPARE(x()->selection().pos, 0);
    QVERIFY(x()->goTo("L0 F5@-1", &err));
    QCOMPARE(x()->selection().pos, int(x()->analysis().tokens.size()) - 1);
    QVERIFY(!x()->goTo("nonsense", &err));
    QVERIFY(!x()->goTo("7:1", &err));
    QVERIFY(err.contains("layer 7"));
    QVERIFY(!x()->goTo("1:1@999", &err));
    x()->back();
    QCOMPARE(x()->selection().feature, qint64(3));
    // Ctrl+G is a history entry too: Back after a go-to returns to the selection before it.
    x()->selectFeature(0, 1);
    const Selection before = x()->selection();
    QVERIFY(x()->goTo("1:2@1", &err));
    QCOMPARE(x()->selection(), (Selection{1, 1, 2}));
    x()->back();
    QCOMPARE(x()->selection(), before);
    x()->forward();
    QCOMPARE(x()->selection(), (Selection{1, 1, 2}));
  }

  // Two prompts side by side: every number equals two independent single-prompt
  // analyses; differences only where positions pair up; stale results are dropped;
  // a double-clicked position is a history entry.
  void compareTwoPrompts() {
    runPrompt(prompt_);
    CompareView* cv = x()->compareView();
    QAbstractItemModelTester t1(cv->tokenModel(), QAbstractItemModelTester::FailureReportingMode::QtTest);
    QAbstractItemModelTester t2(cv->headModel(), QAbstractItemModelTester::FailureReportingMode::QtTest);
    const int nA = int(x()->analysis().tokens.size());
    const zs::FeatureRow top = x()->analysis().perPosition[nA - 1].front();
    const int layer = top.layer;
    const qint64 feature = top.feature;
    QString err;
    QVERIFY2(x()->goTo(QString("%1:%2@-1").arg(layer).arg(feature), &err), qPrintable(err));
    const uint64_t generation = x()->analysis().generation;
    auto tokenCount = [&](const QString& text) { return int(ref_->analyse(text.toStdString(), true).tokens.size()); };
    QString aligned;
    for (const char* c : {"the mat sat on the cat. the cat sat", "the cat sat on the mat. the mat sat",
                          "the dog sat on the mat. the cat sat", "the cat sat on the mat. the dog sat"})
      if (aligned.isEmpty() && tokenCount(c) == nA) aligned = c;
    QVERIFY(!aligned.isEmpty());
    const QString shorter = "the cat sat";
    QVERIFY(tokenCount(shorter) < nA);
    auto near = [](double a, double b) { return std::fabs(a - b) <= 1e-5 * (1 + std::fabs(b)); };
    auto sameDfa = [&](const zs::DfaResult& got, const zs::DfaResult& want) {
      QCOMPARE(got.dest, want.dest);
      QCOMPARE(got.dfa.size(), want.dfa.size());
      for (size_t i = 0; i < want.dfa.size(); ++i) QVERIFY(near(got.dfa[i], want.dfa[i]));
      for (size_t i = 0; i < want.bySource.size(); ++i) QVERIFY(near(got.bySource[i], want.bySource[i]));
      QCOMPARE(got.byHead.size(), want.byHead.size());
      for (size_t i = 0; i < want.byHead.size(); ++i) QVERIFY(near(got.byHead[i], want.byHead[i]));
      QVERIFY(near(got.bias, want.bias) && near(got.preActivation, want.preActivation));
    };
    for (const QString& b : {aligned, shorter}) {
      for (const int destA : {nA - 1, 3}) {
        x()->selectPosition(destA);
        QSignalSpy done(cv, &CompareView::compared);
        cv->setPromptB(b);
        QTRY_VERIFY_WITH_TIMEOUT(done.count() >= 1 && cv->hasResult(), 20000);
        const zs::PromptComparison c = cv->comparison();
        QCOMPARE(c.layer, layer);
        QCOMPARE(c.feature, int64_t(feature));
        // Reference: each prompt analysed on its own by an independent engine.
        ref_->analyse(prompt_.toStdString(), true);
        const std::vector<float> actsA = ref_->feature(layer, feature, destA).acts;
        const zs::DfaResult dfaA = ref_->dfa(layer, feature, destA);
        const zs::PromptAnalysis rb = ref_->analyse(b.toStdString(), true);
        const int nB = int(rb.tokens.size());
        const int destB = nB == nA ? destA : std::clamp(nB - (nA - destA), 0, nB - 1);
        const std::vector<float> actsB = ref_->feature(layer, feature, destB).acts;
        const zs::DfaResult dfaB = ref_->dfa(layer, feature, destB);
        QCOMPARE(c.aligned, nB == nA);
        QCOMPARE(int(c.a.acts.size()), nA);
        QCOMPARE(int(c.b.acts.size()), nB);
        for (int p = 0; p < nA; ++p) QVERIFY(near(c.a.acts[p], actsA[p]));
        for (int p = 0; p < nB; ++p) QVERIFY(near(c.b.acts[p], actsB[p]));
        for (int p = 0; p < nB; ++p) QCOMPARE(c.b.tokens[p].id, rb.tokens[p].id);
        sameDfa(c.a.dfa, dfaA);
        sameDfa(c.b.dfa, dfaB);
        // The models show the same numbers; B − A only where positions pair up.
        PromptCompareModel* tm = cv->tokenModel();
        QCOMPARE(tm->rowCount(), std::max(nA, nB));
        for (int p = 0; p < tm->rowCount(); ++p) {
          const QVariant diff = tm->index(p, PromptCompareModel::ActDiff).data(PromptCompareModel::ValueRole);
          if (c.aligned) QVERIFY(near(diff.toDouble(), double(actsB[p]) - double(actsA[p])));
          else QVERIFY(!diff.isValid());
          if (p < nA) QVERIFY(near(tm->index(p, PromptCompareModel::ActA).data(PromptCompareModel::ValueRole).toDouble(), actsA[p]));
          if (p <= destA) QVERIFY(near(tm->index(p, PromptCompareModel::DfaA).data(PromptCompareModel::ValueRole).toDouble(), dfaA.bySource[p]));
          if (c.aligned && p <= destA)
            QVERIFY(near(tm->index(p, PromptCompareModel::DfaDiff).data(PromptCompareModel::ValueRole).toDouble(),
                         double(dfaB.bySource[p]) - double(dfaA.bySource[p])));
        }
        PromptCompareModel* hmodel = cv->headModel();
        QCOMPARE(hmodel->rowCount(), 4);
        for (int h = 0; h < 4; ++h) {
          QVERIFY(near(hmodel->index(h, PromptCompareModel::HeadB).data(PromptCompareModel::ValueRole).toDouble(), dfaB.byHead[h]));
          const QVariant diff = hmodel->index(h, PromptCompareModel::HeadDiff).data(PromptCompareModel::ValueRole);
          QCOMPARE(diff.isValid(), c.aligned);
          if (c.aligned) QVERIFY(near(diff.toDouble(), double(dfaB.byHead[h]) - double(dfaA.byHead[h])));
        }
        // The plot draws the same numbers: A and B per position, B − A only when aligned.
        const ComparePlot* plot = cv->comparePlot();
        const QVector<double> pa = plot->values(ComparePlot::A), pb = plot->values(ComparePlot::B),
                              pd = plot->values(ComparePlot::Diff);
        QCOMPARE(pa.size(), nA);
        QCOMPARE(pb.size(), nB);
        for (int p = 0; p < nA; ++p) QVERIFY(near(pa[p], actsA[p]));
        for (int p = 0; p < nB; ++p) QVERIFY(near(pb[p], actsB[p]));
        QCOMPARE(pd.size(), c.aligned ? nA : 0);
        for (int p = 0; p < pd.size(); ++p) QVERIFY(near(pd[p], double(actsB[p]) - double(actsA[p])));
        QCOMPARE(plot->figureName(), QString("compare_L%1_F%2").arg(layer).arg(feature));
        QCOMPARE(plot->figureCsv().count('\n'), std::max(nA, nB) + 1);
        QVERIFY2(cv->status().contains(c.aligned ? "pair up" : "do not pair up"), qPrintable(cv->status()));
        QCOMPARE(cv->tokensB()->count(), nB);
        qInfo("compare: %d and %d tokens in %.1f ms on the worker", nA, nB, cv->lastMs());
      }
    }
    // The explorer's own analysis is untouched by the comparisons.
    QCOMPARE(x()->analysis().generation, generation);
    QCOMPARE(x()->analysis().prompt, prompt_.toStdString());
    // Stale results are never shown: a new selection right after a request wins.
    {
      x()->selectPosition(nA - 1);
      QTRY_VERIFY_WITH_TIMEOUT(cv->hasResult() && cv->comparison().a.dfa.dest == nA - 1, 20000);
      QSignalSpy done(cv, &CompareView::compared);
      cv->setPromptB(aligned);
      x()->selectPosition(2);  // compares again; the first request's result is dropped
      QVERIFY(!cv->hasResult());
      QTRY_VERIFY_WITH_TIMEOUT(cv->hasResult(), 20000);
      QTest::qWait(100);
      QCOMPARE(done.count(), 1);
      QCOMPARE(cv->comparison().a.dfa.dest, 2);
    }
    // Double-clicking a position selects it (a history entry): Back returns.
    const Selection before = x()->selection();
    QTableView* tt = cv->tokenTable();
    cv->window()->show();
    for (QDockWidget* d : w_->findChildren<QDockWidget*>("compareDock")) d->raise();
    QTRY_VERIFY(tt->isVisible());
    const QModelIndex row4 = cv->tokenModel()->index(4, 0);
    tt->scrollTo(row4);
    QVERIFY2(tt->viewport()->rect().contains(tt->visualRect(row4).center()), "the row is visible");
    dClick(tt, row4);
    QCOMPARE(x()->selection().pos, 4);
    QCOMPARE(x()->selection().feature, feature);
    x()->back();
    QCOMPARE(x()->selection(), before);
    // A prompt B that does not fit is a message in the view, not a crash or a dialog.
    QString longPrompt;
    for (int i = 0; i < 80; ++i) longPrompt += "cat ";
    QSignalSpy failed(cv, &CompareView::failed);
    cv->setPromptB(longPrompt);
    QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, 20000);
    QVERIFY2(cv->status().contains("prompt B"), qPrintable(cv->status()));
    QVERIFY(!cv->hasResult());
    cv->setPromptB("");
    for (QDockWidget* d : w_->findChildren<QDockWidget*>("rdfaDock")) d->raise();
  }

  void errorsAreMessagesNotCrashes() {
    QString longPrompt;
    for (int i = 0; i < 80; ++i) longPrompt += "cat ";
    x()->prompt()->setText(longPrompt);
    x()->prompt()->run();
    QTRY_VERIFY_WITH_TIMEOUT(x()->lastError().contains("context"), 10000);
    // A refused prompt is not kept in the history; the window offers to truncate it.
    QVERIFY(!gui::settings::promptHistory.get().contains(longPrompt));
    QTRY_VERIFY(w_->findChild<QMessageBox*>("truncateBox") != nullptr);
    QVERIFY(w_->findChild<QMessageBox*>("errorBox") == nullptr);
    QSignalSpy shown(x(), &ExplorerController::analysisShown);
    w_->findChild<QMessageBox*>("truncateBox")->findChild<QPushButton*>("truncateButton")->click();
    QTRY_COMPARE_WITH_TIMEOUT(shown.count(), 1, 10000);
    QVERIFY(x()->analysis().truncatedFrom > 64);
    QCOMPARE(int64_t(x()->analysis().tokens.size()), int64_t(64));
    QVERIFY(gui::settings::promptHistory.get().contains(longPrompt));  // it ran (truncated)
    for (auto* b : w_->findChildren<QMessageBox*>()) b->close();
    QTest::qWait(50);
    // A mismatched SAE (d_in 32) is refused with a clear message; nothing changes.
    const std::string bad = zs::test::tempDir() + "/badsae";
    zs::test::writeRandomSae(bad, 0, 32, 8, 4, 3);
    QSignalSpy failed(w_->worker(), &Worker::failed);
    w_->openSae(QString::fromStdString(bad + "/blocks.0.attn.hook_z"));
    QTRY_VERIFY_WITH_TIMEOUT(failed.count() == 1, 10000);
    QVERIFY(failed.at(0).at(2).toString().contains("d_in 32"));
    // One failure, one dialog.
    QTRY_VERIFY(w_->findChild<QMessageBox*>("errorBox") != nullptr);
    QTest::qWait(100);
    int boxes = 0;
    for (auto* b : w_->findChildren<QMessageBox*>("errorBox")) boxes += b->isVisible() && b->text().contains("d_in 32");
    QCOMPARE(boxes, 1);
    for (auto* b : w_->findChildren<QMessageBox*>()) b->close();
    runPrompt(prompt_);
    QVERIFY(x()->featureModel()->rowCount() > 0);
  }
};

QTEST_MAIN(TestExplorerWindow)
#include "test_explorer_window.moc"
