// The explorer's what-if tools end to end on ../shared/testdata/tiny-gpt2 with
// two random SAEs: the Intervene dock (zero, scale, clamp the selected feature)
// and two prompts side by side, each against an independent Engine's numbers.
#include <QAbstractItemModelTester>
#include <QDockWidget>
#include <QImage>
#include <QMessageBox>
#include <QPushButton>
#include <QSignalSpy>
#include <QTableView>

#include "app/gui/explorer/compare_view.h"
#include "app/gui/explorer/intervention_panel.h"
#include "app/gui/settings.h"
#include "app/gui/worker.h"
#include "explorer_window_fixture.h"
#include "widgets/compare_model.h"
#include "widgets/compare_plot.h"
#include "widgets/qcp.h"
#include "widgets/token_view.h"

using namespace zs::gui;

class TestExplorerWhatIf : public ExplorerWindowFixture {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() {
    ZS_REQUIRE_SHARED(shared);
    openWindow(shared);
  }

  void cleanupTestCase() { w_.reset(); }

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

};

QTEST_MAIN(TestExplorerWhatIf)
#include "test_explorer_whatif.moc"
