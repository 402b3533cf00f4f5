// The model & SAE manager: mismatched SAE folders are refused with a clear
// message and change nothing (no load is requested); good ones are requested;
// paths are classified for drops and recent files; a drop on the window opens.
#include <QDropEvent>
#include <QLabel>
#include <QMimeData>
#include <QSignalSpy>

#include <fstream>

#include "app/gui/manager/manager_panel.h"
#include "testutil.h"

using namespace zs::gui;

namespace {

// An SAELens folder; the weights file only has to exist for the pre-check.
QString makeSae(const QString& name, const std::string& hook, int dIn) {
  const QString dir = QString::fromStdString(zs::test::tempDir()) + "/" + name;
  QDir().mkpath(dir);
  std::ofstream(dir.toStdString() + "/cfg.json")
      << "{\"d_in\": " << dIn << ", \"d_sae\": 128, \"hook_name\": \"" << hook
      << "\", \"apply_b_dec_to_input\": true, \"normalize_activations\": \"none\"}";
  std::ofstream(dir.toStdString() + "/sae_weights.safetensors") << "x";
  return dir;
}

}  // namespace

class TestManager : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase() { QStandardPaths::setTestModeEnabled(true); }

  void mismatchedSaeChangesNothing() {
    ZS_REQUIRE_SHARED(shared);
    const QString model = QString::fromStdString(shared + "/testdata/tiny-gpt2");
    ManagerPanel m;
    QSignalSpy saeSpy(&m, &ManagerPanel::openSaeRequested);
    // No model yet: an SAE cannot be checked, so it is refused.
    QVERIFY(!m.openSae(makeSae("early", "blocks.0.attn.hook_z", 64)));
    QVERIFY(m.errorText().contains("Open a model"));

    m.setModel(model);
    QCOMPARE(m.model().nLayer, 2);
    QCOMPARE(m.model().dIn(), int64_t(64));
    const QStringList recentBefore = m.recentFiles();

    QVERIFY(!m.openSae(makeSae("narrow", "blocks.0.attn.hook_z", 32)));
    QVERIFY2(m.errorText().contains("d_in 32 does not match"), qPrintable(m.errorText()));
    QVERIFY(m.errorText().contains("narrow"));  // names the folder
    QVERIFY(!m.openSae(makeSae("deep", "blocks.5.attn.hook_z", 64)));
    QVERIFY(m.errorText().contains("layer 5"));
    QVERIFY(!m.openSae(makeSae("resid", "blocks.0.hook_resid_pre", 64)));
    QVERIFY(m.errorText().contains("not an attention-output hook"));
    QCOMPARE(saeSpy.count(), 0);               // nothing requested
    QCOMPARE(m.recentFiles(), recentBefore);   // nothing remembered
    QCOMPARE(m.model().dIn(), int64_t(64));    // model unchanged

    // A tree with one bad member is refused as a whole.
    const QString tree = QString::fromStdString(zs::test::tempDir()) + "/tree";
    QDir().mkpath(tree);
    QDir().rename(makeSae("t0", "blocks.0.attn.hook_z", 64), tree + "/blocks.0.attn.hook_z");
    QDir().rename(makeSae("t1", "blocks.1.attn.hook_z", 48), tree + "/blocks.1.attn.hook_z");
    QCOMPARE(classifyPath(tree), PathKind::SaeTree);
    QVERIFY(!m.openSae(tree));
    QCOMPARE(saeSpy.count(), 0);

    // Matching folders are requested, and remembered.
    QVERIFY(m.openSae(makeSae("good", "blocks.1.attn.hook_z", 64)));
    QCOMPARE(saeSpy.count(), 1);
    QVERIFY(m.errorText().isEmpty());
    QVERIFY(m.recentFiles().first().endsWith("/good"));
  }

  void classifiesAndDrops() {
    ZS_REQUIRE_SHARED(shared);
    const QString model = QString::fromStdString(shared + "/testdata/tiny-gpt2");
    QCOMPARE(classifyPath(model), PathKind::Model);
    QCOMPARE(classifyPath(makeSae("c", "blocks.0.attn.hook_z", 64)), PathKind::Sae);
    const QString dbFile = QString::fromStdString(zs::test::tempDir()) + "/x.zscope.db";
    std::ofstream(dbFile.toStdString()) << "";
    QCOMPARE(classifyPath(dbFile), PathKind::Database);
    const QString empty = QString::fromStdString(zs::test::tempDir()) + "/empty";
    QDir().mkpath(empty);
    QCOMPARE(classifyPath(empty), PathKind::Unknown);

    ManagerPanel m;
    QVERIFY(!m.openPath(empty));
    QVERIFY(m.errorText().contains("not a GPT-2 model folder"));
    QVERIFY(!m.openModel(empty));  // no config.json
    QVERIFY(m.errorText().contains("config.json"));

    // Dropping a model and a matching SAE together onto the window: model first.
    QWidget window;
    m.installDropTarget(&window);
    QSignalSpy modelSpy(&m, &ManagerPanel::openModelRequested);
    QSignalSpy saeSpy(&m, &ManagerPanel::openSaeRequested);
    QMimeData mime;
    mime.setUrls({QUrl::fromLocalFile(makeSae("dropped", "blocks.1.attn.hook_z", 64)), QUrl::fromLocalFile(model)});
    // Qt routes a drop to the widget that accepted the drag's enter event.
    QDragEnterEvent enter(QPoint(5, 5), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QCoreApplication::sendEvent(&window, &enter);
    QVERIFY(enter.isAccepted());
    QDropEvent drop(QPointF(5, 5), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QCoreApplication::sendEvent(&window, &drop);
    QVERIFY2(modelSpy.count() == 1, qPrintable(m.errorText()));
    QCOMPARE(modelSpy.first().first().toString(), model);
    QCOMPARE(saeSpy.count(), 1);
    QVERIFY(drop.isAccepted());
  }
};

QTEST_MAIN(TestManager)
#include "test_manager.moc"
