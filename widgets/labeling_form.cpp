#include "widgets/labeling_form.h"

#include <QButtonGroup>
#include <QGridLayout>
#include <QEvent>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QKeyEvent>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QVBoxLayout>

#include "core/db/labels.h"

namespace zs::gui {

const QStringList& LabelingForm::families() {
  static const QStringList f = [] {
    QStringList l;
    for (const std::string& s : zs::db::labelFamilies()) l << QString::fromStdString(s);
    return l;
  }();
  return f;
}

LabelingForm::LabelingForm(QWidget* parent) : QWidget(parent) {
  auto* v = new QVBoxLayout(this);
  // Two columns of family buttons, so that every name stays readable in a narrow dock.
  auto* grid = new QGridLayout;
  group_ = new QButtonGroup(this);
  group_->setExclusive(true);
  for (int i = 0; i < families().size(); ++i) {
    auto* b = new QPushButton(QStringLiteral("&%1 %2").arg(i + 1).arg(families()[i]), this);
    b->setCheckable(true);
    b->setFocusPolicy(Qt::NoFocus);  // the label field keeps the keyboard
    b->setObjectName(QStringLiteral("family%1").arg(i + 1));
    group_->addButton(b, i);
    grid->addWidget(b, i / 2, i % 2);
  }
  connect(group_, &QButtonGroup::idClicked, this, [this](int id) { Q_EMIT familyChanged(families()[id]); });
  v->addLayout(grid);

  auto* form = new QFormLayout;
  edit_ = new QLineEdit(this);
  edit_->setObjectName(QStringLiteral("labelEdit"));
  edit_->setPlaceholderText(tr("label (Enter saves and moves on, Tab skips)"));
  notes_ = new QLineEdit(this);
  notes_->setObjectName(QStringLiteral("notesEdit"));
  notes_->setPlaceholderText(tr("notes (optional)"));
  form->addRow(tr("Label"), edit_);
  form->addRow(tr("Notes"), notes_);
  v->addLayout(form);
  message_ = new QLabel(this);
  message_->setWordWrap(true);
  v->addWidget(message_);
  v->addStretch(1);

  edit_->installEventFilter(this);
  notes_->installEventFilter(this);
}

bool LabelingForm::eventFilter(QObject* obj, QEvent* ev) {
  if (ev->type() != QEvent::KeyPress && ev->type() != QEvent::ShortcutOverride) return QWidget::eventFilter(obj, ev);
  auto* k = static_cast<QKeyEvent*>(ev);
  const bool press = ev->type() == QEvent::KeyPress;
  const Qt::KeyboardModifiers mods = k->modifiers() & ~Qt::KeypadModifier;
  const int key = k->key();
  // QLineEdit claims Ctrl+Z/Ctrl+Y for its own text undo even when it has
  // nothing to undo; hand those to the session's undo stack instead.
  auto* line = qobject_cast<QLineEdit*>(obj);
  const bool undo = k->matches(QKeySequence::Undo), redo = k->matches(QKeySequence::Redo);
  if (line && (undo || redo)) {
    const bool own = undo ? line->isUndoAvailable() : line->isRedoAvailable();
    if (!own) {
      if (press) Q_EMIT(undo ? undoRequested() : redoRequested());
      ev->accept();
      return true;
    }
    return QWidget::eventFilter(obj, ev);
  }
  if (key >= Qt::Key_1 && key < Qt::Key_1 + families().size()) {
    // A digit picks the family only while the label is still empty, so that
    // labels like "3rd token" can still be typed; Alt+digit always picks.
    const bool pick = mods == Qt::AltModifier || (mods == Qt::NoModifier && obj == edit_ && edit_->text().isEmpty());
    if (pick) {
      if (press) {
        const int id = key - Qt::Key_1;
        group_->button(id)->setChecked(true);
        Q_EMIT familyChanged(families()[id]);
      }
      ev->accept();
      return true;
    }
  }
  if ((key == Qt::Key_Return || key == Qt::Key_Enter) && mods == Qt::NoModifier) {
    if (press) Q_EMIT confirmed();
    ev->accept();
    return true;
  }
  if (key == Qt::Key_Tab && mods == Qt::NoModifier && obj == edit_) {
    if (press) Q_EMIT skipRequested();
    ev->accept();
    return true;
  }
  return QWidget::eventFilter(obj, ev);
}

QString LabelingForm::text() const { return edit_->text().trimmed(); }
QString LabelingForm::notes() const { return notes_->text().trimmed(); }

QString LabelingForm::family() const {
  const int id = group_->checkedId();
  return id >= 0 ? families()[id] : QString();
}

void LabelingForm::setFamily(const QString& family) {
  const int id = families().indexOf(family);
  if (id >= 0) {
    group_->button(id)->setChecked(true);
    return;
  }
  // Exclusive groups refuse to uncheck their last button; lift it for a moment.
  group_->setExclusive(false);
  for (auto* b : group_->buttons()) b->setChecked(false);
  group_->setExclusive(true);
}

void LabelingForm::load(const QString& text, const QString& family, const QString& notes) {
  edit_->setText(text);
  notes_->setText(notes);
  setFamily(family);
  message_->clear();
  focusLabel();
}

void LabelingForm::focusLabel() { edit_->setFocus(Qt::OtherFocusReason); }

void LabelingForm::setMessage(const QString& msg) { message_->setText(msg); }

}  // namespace zs::gui
