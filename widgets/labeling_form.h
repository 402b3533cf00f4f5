#pragma once
// The label form of a labeling session: five family buttons, the label text,
// notes. Built for the keyboard (the paper labeled hundreds of features):
//   1..5        pick the family while the label field is empty (digits then type
//               normally); Alt+1..5 picks the family at any time
//   typing      goes straight into the label field (it always has focus)
//   Enter       confirm (confirmed() is emitted; the session saves and moves on)
//   Tab         skip/defer this feature (skipRequested())
//   Ctrl+Z      undo the last confirmed label (across features) once the field
//               has no typing of its own to undo; Ctrl+Shift+Z / Ctrl+Y redo
#include <QString>
#include <QWidget>

class QButtonGroup;
class QLabel;
class QLineEdit;

namespace zs::gui {

class LabelingForm : public QWidget {
  Q_OBJECT
 public:
  explicit LabelingForm(QWidget* parent = nullptr);

  // Canonical family names (zs::db::labelFamilies order); index 0..4.
  static const QStringList& families();

  QString text() const;
  QString notes() const;
  QString family() const;  // empty when none picked
  void setFamily(const QString& family);  // empty clears
  // Shows a feature's existing label (or clears the form), focuses the label field.
  void load(const QString& text, const QString& family, const QString& notes);
  void clear() { load({}, {}, {}); }
  void setMessage(const QString& msg);
  QLineEdit* labelEdit() const { return edit_; }
  void focusLabel();

 Q_SIGNALS:
  void confirmed();
  void skipRequested();
  void familyChanged(const QString& family);
  // Ctrl+Z / Ctrl+Shift+Z (or Ctrl+Y) pressed in a field with no text edit to undo/redo.
  void undoRequested();
  void redoRequested();

 protected:
  bool eventFilter(QObject* obj, QEvent* ev) override;

 private:
  QButtonGroup* group_ = nullptr;
  QLineEdit* edit_ = nullptr;
  QLineEdit* notes_ = nullptr;
  QLabel* message_ = nullptr;
};

}  // namespace zs::gui
