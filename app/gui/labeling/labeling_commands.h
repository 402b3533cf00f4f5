#pragma once
// Undo commands of the labeling session. A confirmed label is written to the
// database before the command is pushed (so a failed write never enters the
// stack); undo reverts it through the database's append-only history
// (zs::db::undoLabel) and brings that feature back into the form, so Ctrl+Z
// works across features; redo writes it again.
#include <QUndoCommand>

#include "core/db/labels.h"

namespace zs::gui {

class LabelingPanel;

class SetLabelCommand : public QUndoCommand {
 public:
  // `label` is already written; the first redo() (from QUndoStack::push) does nothing.
  SetLabelCommand(LabelingPanel* panel, zs::db::Label label);
  void undo() override;
  void redo() override;

 private:
  LabelingPanel* panel_;
  zs::db::Label label_;
  bool written_ = true;
};

}  // namespace zs::gui
