#include "app/gui/manager/manager_panel.h"
#include "app/gui/settings.h"

#include <QComboBox>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QMimeData>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QVBoxLayout>

#include "core/base/runtime.h"

namespace zs::gui {

namespace {
constexpr int kMaxRecent = 12;
}  // namespace

ManagerPanel::ManagerPanel(QWidget* parent) : QWidget(parent) {
  auto* v = new QVBoxLayout(this);
  auto* loaded = new QGroupBox(tr("Loaded"), this);
  auto* lf = new QFormLayout(loaded);
  modelLabel_ = new QLabel(tr("none"), loaded);
  saeLabel_ = new QLabel(tr("none"), loaded);
  dbLabel_ = new QLabel(tr("none"), loaded);
  for (auto* l : {modelLabel_, saeLabel_, dbLabel_}) {
    l->setWordWrap(true);
    l->setTextInteractionFlags(Qt::TextSelectableByMouse);
  }
  lf->addRow(tr("Model"), modelLabel_);
  lf->addRow(tr("SAEs"), saeLabel_);
  lf->addRow(tr("Database"), dbLabel_);
  v->addWidget(loaded);

  auto* buttons = new QHBoxLayout;
  auto* bModel = new QPushButton(tr("Open model…"), this);
  auto* bSae = new QPushButton(tr("Add SAE folder…"), this);
  auto* bDb = new QPushButton(tr("Open database…"), this);
  buttons->addWidget(bModel);
  buttons->addWidget(bSae);
  buttons->addWidget(bDb);
  v->addLayout(buttons);
  connect(bModel, &QPushButton::clicked, this, [this] {
    const QString d = QFileDialog::getExistingDirectory(this, tr("Open a Hugging Face GPT-2 folder"));
    if (!d.isEmpty()) openModel(d);
  });
  connect(bSae, &QPushButton::clicked, this, [this] {
    const QString d = QFileDialog::getExistingDirectory(this, tr("SAELens folder (or a folder of them)"));
    if (!d.isEmpty()) openSae(d);
  });
  connect(bDb, &QPushButton::clicked, this, [this] {
    const QString f = QFileDialog::getOpenFileName(this, tr("Open feature database"), QString(),
                                                   tr("Feature databases (*.zscope.db *.db);;All files (*)"));
    if (!f.isEmpty()) openDatabase(f);
  });

  message_ = new QLabel(this);
  message_->setObjectName(QStringLiteral("managerMessage"));
  message_->setWordWrap(true);
  message_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  v->addWidget(message_);

  auto* rt = new QGroupBox(tr("Runtime"), this);
  auto* rf = new QFormLayout(rt);
  device_ = new QComboBox(rt);
  device_->addItems({QStringLiteral("auto"), QStringLiteral("cpu"), QStringLiteral("cuda")});
  threads_ = new QSpinBox(rt);
  threads_->setRange(1, std::max(1, zs::runtime::hardwareThreads()));
  threads_->setValue(std::max(1, zs::runtime::threads()));
  device_->setCurrentText(gui::settings::device.get());
  runtimeLabel_ = new QLabel(rt);
  runtimeLabel_->setText(tr("CUDA %1 · %2 hardware threads")
                             .arg(zs::runtime::cudaAvailable() ? tr("available") : tr("not available"))
                             .arg(zs::runtime::hardwareThreads()));
  auto* apply = new QPushButton(tr("Apply (reloads the model)"), rt);
  connect(apply, &QPushButton::clicked, this, [this] {
    gui::settings::device.set(device_->currentText());
    Q_EMIT runtimeChangeRequested(device_->currentText(), threads_->value());
  });
  rf->addRow(tr("Device"), device_);
  rf->addRow(tr("Threads"), threads_);
  rf->addRow(runtimeLabel_);
  rf->addRow(apply);
  v->addWidget(rt);

  v->addWidget(new QLabel(tr("Recent (double-click to open; folders can also be dropped on the window)"), this));
  recent_ = new QListWidget(this);
  recent_->setObjectName(QStringLiteral("managerRecent"));
  connect(recent_, &QListWidget::itemActivated, this,
          [this](QListWidgetItem* it) { openPath(it->data(Qt::UserRole).toString()); });
  v->addWidget(recent_, 1);
  refreshRecent();
}

void ManagerPanel::showError(const QString& msg) {
  lastWasError_ = true;
  message_->setText(QStringLiteral("<span style=\"color:#c00\">%1</span>").arg(msg.toHtmlEscaped()));
}

void ManagerPanel::showInfo(const QString& msg) {
  lastWasError_ = false;
  message_->setText(msg.toHtmlEscaped());
}

QString ManagerPanel::errorText() const { return lastWasError_ ? message_->text() : QString(); }

void ManagerPanel::setModel(const QString& dir) {
  ModelShape m;
  const QString err = readModelShape(dir, m);
  if (!err.isEmpty()) {
    showError(err);
    return;
  }
  model_ = m;
  modelLabel_->setText(tr("%1\n%2 layers × %3 heads, d_model %4, context %5")
                           .arg(dir)
                           .arg(m.nLayer)
                           .arg(m.nHead)
                           .arg(m.dModel)
                           .arg(m.nCtx));
}

void ManagerPanel::setLoadedSaes(const QStringList& lines) {
  saes_ = lines;
  saeLabel_->setText(lines.isEmpty() ? tr("none") : lines.join(QLatin1Char('\n')));
}

void ManagerPanel::setDatabase(const QString& file) {
  db_ = file;
  dbLabel_->setText(file.isEmpty() ? tr("none") : file);
}

bool ManagerPanel::openModel(const QString& dir) {
  ModelShape m;
  const QString err = readModelShape(dir, m);
  if (!err.isEmpty()) {
    showError(err);
    return false;
  }
  if (!QFileInfo::exists(dir + QStringLiteral("/model.safetensors"))) {
    showError(tr("%1: no model.safetensors").arg(dir));
    return false;
  }
  showInfo(tr("Loading model %1…").arg(dir));
  addRecent(gui::settings::RecentKind::Model, dir);
  Q_EMIT openModelRequested(dir);
  return true;
}

bool ManagerPanel::openSae(const QString& path) {
  const PathKind k = classifyPath(path);
  QStringList dirs;
  if (k == PathKind::SaeTree)
    dirs = saeFoldersUnder(path);
  else
    dirs << path;
  // All or nothing: one bad folder in a tree refuses the whole tree.
  for (const QString& d : dirs) {
    const QString err = checkSaeAgainstModel(d, model_);
    if (!err.isEmpty()) {
      showError(err);
      return false;
    }
  }
  showInfo(tr("Loading %n SAE(s)…", nullptr, static_cast<int>(dirs.size())));
  addRecent(gui::settings::RecentKind::Sae, path);
  for (const QString& d : dirs) Q_EMIT openSaeRequested(d);
  return true;
}

bool ManagerPanel::openDatabase(const QString& file) {
  if (!QFileInfo(file).isFile()) {
    showError(tr("%1: no such file").arg(file));
    return false;
  }
  showInfo(tr("Opening database %1…").arg(file));
  addRecent(gui::settings::RecentKind::Database, file);
  Q_EMIT openDatabaseRequested(file);
  return true;
}

bool ManagerPanel::openPath(const QString& path) {
  switch (classifyPath(path)) {
    case PathKind::Model: return openModel(path);
    case PathKind::Sae:
    case PathKind::SaeTree: return openSae(path);
    case PathKind::Database: return openDatabase(path);
    case PathKind::Unknown: break;
  }
  showError(tr("%1: not a GPT-2 model folder (config.json + model.safetensors), an SAELens folder "
               "(cfg.json + sae_weights.safetensors) or a feature database (.db)")
                .arg(path));
  return false;
}

void ManagerPanel::addRecent(gui::settings::RecentKind kind, const QString& path) {
  gui::settings::addRecentFile(kind, path);
  refreshRecent();
}

QStringList ManagerPanel::recentFiles() const {
  QStringList out;
  for (const auto& f : gui::settings::recentFiles()) out << gui::settings::recentKindName(f.kind) + QLatin1Char('\t') + f.path;
  return out;
}

void ManagerPanel::refreshRecent() {
  recent_->clear();
  for (const auto& f : gui::settings::recentFiles()) {
    auto* it = new QListWidgetItem(QStringLiteral("[%1] %2").arg(gui::settings::recentKindName(f.kind), f.path), recent_);
    it->setData(Qt::UserRole, f.path);
  }
}

void ManagerPanel::installDropTarget(QWidget* w) {
  w->setAcceptDrops(true);
  w->installEventFilter(this);
}

bool ManagerPanel::eventFilter(QObject* obj, QEvent* ev) {
  if (ev->type() == QEvent::DragEnter || ev->type() == QEvent::DragMove) {
    auto* e = static_cast<QDropEvent*>(ev);
    if (e->mimeData()->hasUrls()) {
      e->acceptProposedAction();
      return true;
    }
  } else if (ev->type() == QEvent::Drop) {
    auto* e = static_cast<QDropEvent*>(ev);
    if (e->mimeData()->hasUrls()) {
      // Models first, so that SAEs dropped together are checked against the new model's shape.
      QStringList models, rest;
      for (const QUrl& u : e->mimeData()->urls()) {
        const QString p = u.toLocalFile();
        if (p.isEmpty()) continue;
        (classifyPath(p) == PathKind::Model ? models : rest) << p;
      }
      for (const QString& p : models) {
        if (openModel(p)) setModel(p);  // shape known now; the worker loads it
      }
      for (const QString& p : rest) openPath(p);
      e->acceptProposedAction();
      return true;
    }
  }
  return QWidget::eventFilter(obj, ev);
}

}  // namespace zs::gui
