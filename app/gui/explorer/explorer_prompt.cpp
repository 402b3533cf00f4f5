// PromptEditor: see explorer_prompt.h.
#include "app/gui/explorer/explorer_prompt.h"
#include "app/gui/settings.h"

#include <QCheckBox>
#include <QComboBox>
#include <QHBoxLayout>
#include <QKeyEvent>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSettings>
#include <QTimer>
#include <QVBoxLayout>

PromptEditor::PromptEditor(QWidget* parent) : QWidget(parent) {
  auto* lay = new QVBoxLayout(this);
  lay->setContentsMargins(4, 4, 4, 4);
  edit_ = new QPlainTextEdit(this);
  edit_->setObjectName("promptEdit");
  edit_->setPlaceholderText(tr("Type or paste a prompt; Ctrl+Enter runs it"));
  edit_->installEventFilter(this);
  lay->addWidget(edit_);
  auto* row = new QHBoxLayout;
  historyBox_ = new QComboBox(this);
  historyBox_->setObjectName("promptHistory");
  historyBox_->setToolTip(tr("Prompt history"));
  historyBox_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  historyBox_->setMinimumContentsLength(20);
  bos_ = new QCheckBox(tr("BOS"), this);
  bos_->setToolTip(tr("Prepend the beginning-of-sequence token (<|endoftext|>)"));
  bos_->setChecked(true);
  live_ = new QCheckBox(tr("Live"), this);
  live_->setToolTip(tr("Run automatically 400 ms after typing stops"));
  auto* runButton = new QPushButton(tr("Run"), this);
  runButton->setObjectName("runButton");
  runButton->setToolTip(tr("Run the prompt (Ctrl+Enter)"));
  row->addWidget(historyBox_, 1);
  row->addWidget(bos_);
  row->addWidget(live_);
  row->addWidget(runButton);
  lay->addLayout(row);

  debounce_ = new QTimer(this);
  debounce_->setSingleShot(true);
  debounce_->setInterval(400);
  connect(debounce_, &QTimer::timeout, this, &PromptEditor::run);
  connect(edit_, &QPlainTextEdit::textChanged, this, [this] {
    if (live_->isChecked()) debounce_->start();
  });
  connect(runButton, &QPushButton::clicked, this, &PromptEditor::run);
  connect(historyBox_, &QComboBox::activated, this, [this](int i) {
    if (i >= 0 && i < history_.size()) edit_->setPlainText(history_[i]);
  });
  history_ = gui::settings::promptHistory.get();
  for (const QString& h : history_) historyBox_->addItem(h.left(80).replace('\n', ' '));
  historyBox_->setCurrentIndex(-1);
}

QString PromptEditor::text() const { return edit_->toPlainText(); }
void PromptEditor::setText(const QString& t) { edit_->setPlainText(t); }
bool PromptEditor::bos() const { return bos_->isChecked(); }
void PromptEditor::setBos(bool on) { bos_->setChecked(on); }
void PromptEditor::setLive(bool on) { live_->setChecked(on); }

void PromptEditor::addToHistory(const QString& t) {
  if (t.trimmed().isEmpty()) return;
  history_.removeAll(t);
  history_.prepend(t);
  while (history_.size() > 50) history_.removeLast();
  gui::settings::promptHistory.set(history_);
  historyBox_->clear();
  for (const QString& h : history_) historyBox_->addItem(QString(h).left(80).replace('\n', ' '));
  historyBox_->setCurrentIndex(0);
}

void PromptEditor::run() {
  debounce_->stop();
  const QString t = text();
  addToHistory(t);
  Q_EMIT runRequested(t, bos());
}

bool PromptEditor::eventFilter(QObject* o, QEvent* e) {
  if (o == edit_ && e->type() == QEvent::KeyPress) {
    auto* k = static_cast<QKeyEvent*>(e);
    if ((k->key() == Qt::Key_Return || k->key() == Qt::Key_Enter) && (k->modifiers() & Qt::ControlModifier)) {
      run();
      return true;
    }
  }
  return QWidget::eventFilter(o, e);
}
