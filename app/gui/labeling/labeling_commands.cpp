#include "app/gui/labeling/labeling_commands.h"

#include "app/gui/labeling/labeling_panel.h"

namespace zs::gui {

SetLabelCommand::SetLabelCommand(LabelingPanel* panel, zs::db::Label label)
    : panel_(panel), label_(std::move(label)) {
  setText(QStringLiteral("label L%1 F%2 \"%3\"")
              .arg(label_.layer)
              .arg(label_.feature)
              .arg(QString::fromStdString(label_.text)));
}

void SetLabelCommand::redo() {
  if (written_) {
    written_ = false;  // pushed after the write: nothing to do the first time
    return;
  }
  panel_->applyLabel(label_);
}

void SetLabelCommand::undo() {
  panel_->revertLabel(label_.layer, label_.feature, QString::fromStdString(label_.text),
                      QString::fromStdString(label_.family), QString::fromStdString(label_.notes));
}

}  // namespace zs::gui
