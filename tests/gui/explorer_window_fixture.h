#pragma once
// The explorer's main window on ../shared/testdata/tiny-gpt2 with two random
// SAEs (layers 0 and 1), plus an independent Engine on the test's thread that
// computes the reference numbers. Shared by the explorer window test programs
// (test_explorer_window, test_explorer_whatif): each derives its Qt Test class
// from this and calls openWindow() in initTestCase.
#include <QAbstractItemView>
#include <QPlainTextEdit>
#include <QSettings>
#include <QStandardPaths>
#include <QTest>

#include <memory>
#include <string>
#include <vector>

#include "app/gui/explorer/explorer_controller.h"
#include "app/gui/explorer/explorer_prompt.h"
#include "app/gui/explorer/mainwindow.h"
#include "core/engine/engine.h"
#include "explorer_fixture.h"
#include "testutil.h"

class ExplorerWindowFixture : public QObject {
 protected:
  std::string model_;
  std::string saeRoot_;
  std::vector<zs::test::RandomSae> saes_;
  std::unique_ptr<MainWindow> w_;
  std::unique_ptr<zs::Engine> ref_;  // an independent engine on this thread: the reference numbers
  const QString prompt_ = "the cat sat on the mat. the cat sat";

  ExplorerController* x() { return w_->explorer(); }

  // Opens the window on the model and SAEs and waits until the model is loaded.
  // A failure is recorded by QTest (check QTest::currentTestFailed() after it).
  void openWindow(const std::string& shared) {
    QStandardPaths::setTestModeEnabled(true);
    QSettings().clear();
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
};
