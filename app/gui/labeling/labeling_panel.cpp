#include "app/gui/labeling/labeling_panel.h"
#include "app/gui/settings.h"

#include <QCheckBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QMessageBox>
#include <QPushButton>
#include <QSaveFile>
#include <QSettings>
#include <QSplitter>
#include <QStackedWidget>
#include <QTextBrowser>
#include <QUndoStack>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrent>

#include "app/gui/labeling/labeling_commands.h"
#include "app/gui/labeling/labeling_start.h"
#include "core/db/db.h"
#include "core/base/error.h"
#include "widgets/labeling_dashboard.h"
#include "widgets/labeling_form.h"

namespace zs::gui {

LabelingPanel::LabelingPanel(QWidget* parent) : QWidget(parent) {
  undo_ = new QUndoStack(this);
  buildUi();
  connect(&dashWatcher_, &QFutureWatcher<DashboardResult>::finished, this, [this] {
    const DashboardResult r = dashWatcher_.result();
    // A newer feature was shown meanwhile: drop the stale dashboard.
    if (r.generation != dashGeneration_) return;
    shownDashboard_ = r.dashboard;
    if (r.dashboard)
      showDashboard();
    else
      dash_->showPlaceholder(QStringLiteral("L%1 F%2").arg(r.layer).arg(r.feature), r.error);
  });
}

LabelingPanel::~LabelingPanel() { dashWatcher_.waitForFinished(); }

void LabelingPanel::showDashboard() {
  if (!shownDashboard_) return;
  zs::db::FeatureDashboard d = *shownDashboard_;
  if (blind_->isChecked()) zs::db::hideSuggestion(d);
  dash_->showDashboard(d);
}

void LabelingPanel::buildUi() {
  auto* v = new QVBoxLayout(this);
  auto* bar = new QHBoxLayout;
  header_ = new QLabel(tr("No feature database open"), this);
  progress_ = new QLabel(this);
  progress_->setObjectName(QStringLiteral("labelingProgress"));
  QFont big = progress_->font();
  big.setBold(true);
  big.setPointSizeF(big.pointSizeF() * 1.3);
  progress_->setFont(big);
  timing_ = new QLabel(this);
  auto* newBtn = new QPushButton(tr("New session…"), this);
  auto* undoBtn = new QPushButton(tr("Undo"), this);
  auto* skipBtn = new QPushButton(tr("Skip (not judged)"), this);
  auto* exportBtn = new QPushButton(tr("Export labels…"), this);
  for (auto* b : {newBtn, undoBtn, skipBtn, exportBtn}) b->setFocusPolicy(Qt::NoFocus);
  blind_ = new QCheckBox(tr("Blind"), this);
  blind_->setObjectName(QStringLiteral("labelingBlind"));
  blind_->setToolTip(tr("Hide the feature database's family suggestion while labeling, so that the labels can "
                        "test it (the paper-style measurement)"));
  blind_->setFocusPolicy(Qt::NoFocus);
  blind_->setChecked(gui::settings::labelingBlind.get());
  connect(blind_, &QCheckBox::toggled, this, [this](bool on) {
    gui::settings::labelingBlind.set(on);
    showDashboard();
  });
  connect(newBtn, &QPushButton::clicked, this, &LabelingPanel::newSessionDialog);
  connect(undoBtn, &QPushButton::clicked, undo_, &QUndoStack::undo);
  connect(undo_, &QUndoStack::canUndoChanged, undoBtn, &QPushButton::setEnabled);
  undoBtn->setEnabled(false);
  connect(skipBtn, &QPushButton::clicked, this, &LabelingPanel::skip);
  connect(exportBtn, &QPushButton::clicked, this, &LabelingPanel::exportDialog);
  bar->addWidget(header_, 1);
  bar->addWidget(timing_);
  bar->addWidget(progress_);
  bar->addWidget(blind_);
  bar->addWidget(newBtn);
  bar->addWidget(undoBtn);
  bar->addWidget(skipBtn);
  bar->addWidget(exportBtn);
  v->addLayout(bar);

  stack_ = new QStackedWidget(this);
  auto* split = new QSplitter(Qt::Horizontal, stack_);
  dash_ = new LabelingDashboard(split);
  form_ = new LabelingForm(split);
  form_->setMinimumWidth(300);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 1);
  stack_->addWidget(split);
  reportView_ = new QTextBrowser(stack_);
  reportView_->setObjectName(QStringLiteral("labelingReport"));
  stack_->addWidget(reportView_);
  v->addWidget(stack_, 1);

  connect(form_, &LabelingForm::confirmed, this, &LabelingPanel::confirm);
  connect(form_, &LabelingForm::skipRequested, this, &LabelingPanel::defer);
  connect(form_, &LabelingForm::undoRequested, undo_, &QUndoStack::undo);
  connect(form_, &LabelingForm::redoRequested, undo_, &QUndoStack::redo);
  // When the focus is elsewhere in the panel (buttons, dashboard).
  auto* undoAct = undo_->createUndoAction(this);
  undoAct->setShortcut(QKeySequence::Undo);
  undoAct->setShortcutContext(Qt::WidgetWithChildrenShortcut);
  auto* redoAct = undo_->createRedoAction(this);
  redoAct->setShortcuts(QKeySequence::Redo);
  redoAct->setShortcutContext(Qt::WidgetWithChildrenShortcut);
  addAction(undoAct);
  addAction(redoAct);
  form_->setEnabled(false);
}

bool LabelingPanel::guard(const std::function<void()>& fn) {
  try {
    fn();
    lastError_.clear();
    return true;
  } catch (const std::exception& e) {
    lastError_ = QString::fromUtf8(e.what());
  }
  form_->setMessage(QStringLiteral("<span style=\"color:#c00\">%1</span>").arg(lastError_.toHtmlEscaped()));
  return false;
}

bool LabelingPanel::openDatabase(const QString& file) {
  std::unique_ptr<zs::db::Db> db;
  try {
    zs::db::OpenOptions o;
    o.create = false;  // a labeling session needs a built database
    db = zs::db::Db::open(file.toStdString(), o);
  } catch (const std::exception& e) {
    lastError_ = QString::fromUtf8(e.what());
    return false;
  }
  db_ = std::move(db);
  dbFile_ = file;
  undo_->clear();
  sessionId_ = 0;
  current_.reset();
  shownDashboard_.reset();  // toggling Blind must not bring back the previous database's feature
  gui::settings::labelingDatabase.set(file);
  header_->setText(QFileInfo(file).fileName());
  if (auto s = zs::db::activeSession(*db_)) {
    sessionId_ = s->id;
    advance();
  } else {
    form_->setEnabled(false);
    stack_->setCurrentIndex(0);
    dash_->showPlaceholder(tr("No active session"), tr("Start one with \"New session…\"."));
    updateStatus();
  }
  return true;
}

bool LabelingPanel::startSession(int layer, int n, quint64 seed) {
  if (!db_) return (lastError_ = tr("open a feature database first")), false;
  zs::db::Session s;
  if (!guard([&] { s = zs::db::startSession(*db_, layer, n, seed); })) return false;
  sessionId_ = s.id;
  undo_->clear();
  advance();
  return true;
}

bool LabelingPanel::startSessionWithList(int layer, const std::vector<int64_t>& features) {
  if (!db_) return (lastError_ = tr("open a feature database first")), false;
  zs::db::Session s;
  if (!guard([&] { s = zs::db::startSessionWithList(*db_, layer, features); })) return false;
  sessionId_ = s.id;
  undo_->clear();
  advance();
  return true;
}

void LabelingPanel::advance() {
  std::optional<zs::db::SessionItem> next;
  if (!guard([&] { next = zs::db::nextItem(*db_, sessionId_); })) return;
  if (!next) {
    current_.reset();
    showReport();
    return;
  }
  showItem(*next, true);
}

void LabelingPanel::showItem(const zs::db::SessionItem& item, bool prefillFromDb) {
  current_ = item;
  stack_->setCurrentIndex(0);
  form_->setEnabled(true);
  if (prefillFromDb) {
    // A feature labeled before (outside this session) starts from its label.
    std::optional<zs::db::Label> old;
    guard([&] { old = zs::db::getLabel(*db_, item.layer, item.feature); });
    if (old)
      form_->load(QString::fromStdString(old->text), QString::fromStdString(old->family),
                  QString::fromStdString(old->notes));
    else
      form_->clear();
  }
  form_->focusLabel();
  featureClock_.start();
  loadDashboard(item.layer, item.feature);
  updateStatus();
}

void LabelingPanel::loadDashboard(int layer, qint64 feature) {
  const quint64 gen = ++dashGeneration_;
  dash_->showPlaceholder(QStringLiteral("L%1 F%2").arg(layer).arg(feature), tr("loading dashboard…"));
  const std::string file = dbFile_.toStdString();
  // One read-only connection per call, on a pool thread (never share a connection).
  dashWatcher_.setFuture(QtConcurrent::run([file, layer, feature, gen] {
    DashboardResult r;
    r.layer = layer;
    r.feature = feature;
    r.generation = gen;
    try {
      zs::db::OpenOptions o;
      o.create = false;
      o.readOnly = true;
      o.migrate = false;
      auto db = zs::db::Db::open(file, o);
      r.dashboard = zs::db::readDashboard(*db, layer, feature);
    } catch (const std::exception& e) {
      r.error = QString::fromUtf8(e.what());
    }
    return r;
  }));
}

void LabelingPanel::confirm() {
  if (!db_ || !current_) return;
  const QString family = form_->family();
  if (family.isEmpty()) {
    form_->setMessage(tr("Pick a family first: keys 1–%1 (Alt+1–%1 once you have typed).")
                          .arg(LabelingForm::families().size()));
    return;
  }
  QString text = form_->text();
  if (text.isEmpty() && family != QStringLiteral("uninterpretable")) {
    form_->setMessage(tr("Type a label (only \"uninterpretable\" may be left empty)."));
    return;
  }
  if (text.isEmpty()) text = family;
  zs::db::Label l;
  l.layer = current_->layer;
  l.feature = current_->feature;
  l.text = text.toStdString();
  l.family = family.toStdString();
  l.notes = form_->notes().toStdString();
  l.author = qEnvironmentVariable("USER", QStringLiteral("zscope")).toStdString();
  zs::db::Label stored;
  // Written (and fsynced) before the command enters the undo stack.
  if (!guard([&] { stored = zs::db::labelInSession(*db_, sessionId_, l); })) return;
  const double s = featureClock_.elapsed() / 1000.0;
  secondsTotal_ += s;
  ++timedCount_;
  undo_->push(new SetLabelCommand(this, stored));
  Q_EMIT labelSaved(stored.layer, stored.feature);
  advance();
}

void LabelingPanel::applyLabel(const zs::db::Label& label) {
  if (!guard([&] { zs::db::labelInSession(*db_, sessionId_, label); })) return;
  Q_EMIT labelSaved(label.layer, static_cast<qint64>(label.feature));
  advance();
}

void LabelingPanel::revertLabel(int layer, qint64 feature, const QString& text, const QString& family,
                                const QString& notes) {
  if (!guard([&] { zs::db::undoLabel(*db_, layer, feature); })) return;
  // Back to that feature with the undone label in the form, ready to fix.
  zs::db::SessionItem item;
  item.layer = layer;
  item.feature = feature;
  item.state = "pending";
  showItem(item, false);
  form_->load(text, family, notes);
  form_->setMessage(tr("Undone: the label is no longer saved. Enter saves it again."));
}

void LabelingPanel::defer() {
  if (!db_ || !current_) return;
  if (!guard([&] { zs::db::deferItem(*db_, sessionId_, current_->layer, current_->feature); })) return;
  advance();
}

void LabelingPanel::skip() {
  if (!db_ || !current_) return;
  if (!guard([&] { zs::db::skipItem(*db_, sessionId_, current_->layer, current_->feature); })) return;
  advance();
}

QString LabelingPanel::progressText() const {
  if (!db_ || sessionId_ <= 0) return {};
  zs::db::Session s;
  try {
    s = zs::db::getSession(*db_, sessionId_);
  } catch (const std::exception&) {
    return {};
  }
  return QStringLiteral("%1 / %2").arg(s.done).arg(s.total);
}

bool LabelingPanel::sessionComplete() const { return hasSession() && !current_; }

void LabelingPanel::updateStatus() {
  const QString p = progressText();
  progress_->setText(p);
  if (timedCount_ > 0)
    timing_->setText(tr("%1 s per feature").arg(secondsTotal_ / timedCount_, 0, 'f', 1));
  if (current_)
    header_->setText(QStringLiteral("%1 — L%2 F%3")
                         .arg(QFileInfo(dbFile_).fileName())
                         .arg(current_->layer)
                         .arg(current_->feature));
}

zs::db::SessionReport LabelingPanel::report() const {
  if (!db_ || sessionId_ <= 0) return {};
  return zs::db::sessionReport(*db_, sessionId_);
}

void LabelingPanel::showReport() {
  form_->setEnabled(false);
  stack_->setCurrentIndex(1);
  updateStatus();
  zs::db::SessionReport r;
  if (!guard([&] { r = report(); })) return;
  auto row = [](const QString& name, const zs::db::Proportion& p) {
    return QStringLiteral("<tr><td>%1</td><td align=right>%2 / %3</td><td align=right>%4%</td>"
                          "<td align=right>[%5%, %6%]</td></tr>")
        .arg(name.toHtmlEscaped())
        .arg(p.k)
        .arg(p.n)
        .arg(100 * p.share, 0, 'f', 1)
        .arg(100 * p.lo, 0, 'f', 1)
        .arg(100 * p.hi, 0, 'f', 1);
  };
  QString h = tr("<h3>Session complete</h3><p>%1 features: %2 labeled, %3 skipped.</p>")
                  .arg(r.total)
                  .arg(r.labeled)
                  .arg(r.skipped);
  h += QStringLiteral("<table cellpadding=4><tr><th></th><th>count</th><th>share</th><th>95% CI (Wilson)</th></tr>");
  h += row(tr("interpretable"), r.interpretable);
  for (const auto& [fam, p] : r.families) h += row(QString::fromStdString(fam), p);
  h += QStringLiteral("</table><p>") +
       tr("Ctrl+Z goes back to the last label; \"Export labels…\" writes CSV or JSONL.") + QStringLiteral("</p>");
  reportView_->setHtml(h);
}

bool LabelingPanel::exportLabels(const QString& file) {
  if (!db_) return (lastError_ = tr("no feature database open")), false;
  std::string text;
  const bool csv = file.endsWith(QStringLiteral(".csv"), Qt::CaseInsensitive);
  if (!guard([&] { text = csv ? zs::db::exportLabelsCsv(*db_) : zs::db::exportLabelsJsonl(*db_); })) return false;
  QSaveFile f(file);  // atomic: the old file stays intact until commit
  if (!f.open(QIODevice::WriteOnly) || f.write(text.data(), static_cast<qint64>(text.size())) < 0 || !f.commit()) {
    lastError_ = tr("%1: cannot write (%2)").arg(file, f.errorString());
    return false;
  }
  return true;
}

void LabelingPanel::exportDialog() {
  const QString file = QFileDialog::getSaveFileName(this, tr("Export labels"), QString(),
                                                    tr("CSV (*.csv);;JSONL (Neuronpedia fields) (*.jsonl)"));
  if (file.isEmpty()) return;
  if (!exportLabels(file)) QMessageBox::warning(this, tr("Export labels"), lastError_);
}

void LabelingPanel::newSessionDialog() {
  if (!db_) {
    const QString f = QFileDialog::getOpenFileName(this, tr("Open feature database"), QString(),
                                                   tr("Feature databases (*.zscope.db *.db);;All files (*)"));
    if (f.isEmpty()) return;
    if (!openDatabase(f)) {
      QMessageBox::warning(this, tr("Open feature database"), lastError_);
      return;
    }
  }
  SessionRequest req;
  if (!LabelingStartDialog::ask(this, *db_, req)) return;
  const bool ok = req.features.empty() ? startSession(req.layer, req.count, req.seed)
                                       : startSessionWithList(req.layer, req.features);
  if (!ok) QMessageBox::warning(this, tr("New labeling session"), lastError_);
}

}  // namespace zs::gui
