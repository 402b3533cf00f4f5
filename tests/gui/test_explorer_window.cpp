// The explorer end to end on ../shared/testdata/tiny-gpt2 with two random
// SAEs (layers 0 and 1): Ctrl+Enter fills the token view and feature table;
// clicking a token, then a feature, updates both heatmaps with the numbers
// core computes; RDFA children sum to their parent; stale results are never
// shown; errors reach the user without a crash. Interventions and two-prompt
// comparison: test_explorer_whatif.
#include <QAbstractItemModelTester>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QTableView>

#include "app/gui/explorer/explorer_controller.h"
#include "app/gui/explorer/explorer_prompt.h"
#include "app/gui/explorer/feature_search.h"
#include "widgets/feature_hit_model.h"
#include "app/gui/explorer/mainwindow.h"
#include "app/gui/settings.h"
#include "app/gui/worker.h"
#include "core/db/builder.h"
#include "core/db/db.h"
#include "core/db/features.h"
#include "core/db/labels.h"
#include "core/engine/engine.h"
#include "explorer_window_fixture.h"
#include "testutil.h"
#include "widgets/dashboard_view.h"
#include "widgets/feature_table_model.h"
#include "widgets/head_feature_model.h"
#include "widgets/heatmap_plot.h"
#include "widgets/rdfa_tree_model.h"
#include "widgets/token_view.h"
#include "widgets/qcp.h"

using namespace zs::gui;

class TestExplorerWindow : public ExplorerWindowFixture {
  Q_OBJECT
  std::string dbFile_;  // the feature database built by dashboardFromFeatureDatabase

 private Q_SLOTS:
  void initTestCase() {
    ZS_REQUIRE_SHARED(shared);
    openWindow(shared);
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
    // A feature selected before the database opens gets its dashboard once it opens, without another click.
    x()->selectFeature(layer, feature);
    QTRY_VERIFY_WITH_TIMEOUT(x()->dashboard()->html().contains("no feature database loaded"), 10000);
    w_->openDatabase(QString::fromStdString(o.out));
    QTRY_COMPARE_WITH_TIMEOUT(opened.count(), 1, 10000);
    QTRY_VERIFY_WITH_TIMEOUT(x()->dashboard()->dashboard().available && x()->dashboard()->dashboard().feature == feature, 10000);
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
