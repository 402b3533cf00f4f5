#pragma once
// The "New labeling session" dialog: a layer, then either N random live
// features with a seed (as the paper sampled them) or an explicit list of
// feature ids (e.g. a head's top features, pasted from the explorer).
#include <QDialog>

#include <cstdint>
#include <vector>

class QComboBox;
class QPlainTextEdit;
class QSpinBox;

namespace zs::db {
class Db;
}

namespace zs::gui {

struct SessionRequest {
  int layer = 0;
  int count = 30;
  quint64 seed = 1;
  std::vector<int64_t> features;  // non-empty: a list session
};

// Parses "12, 40 7\n9" into ids; false with the bad token in *bad.
bool parseFeatureList(const QString& text, std::vector<int64_t>& out, QString* bad = nullptr);

class LabelingStartDialog : public QDialog {
  Q_OBJECT
 public:
  LabelingStartDialog(zs::db::Db& db, QWidget* parent = nullptr);
  SessionRequest request() const;
  // Runs the dialog; false when cancelled.
  static bool ask(QWidget* parent, zs::db::Db& db, SessionRequest& out);

 protected:
  void accept() override;

 private:
  QComboBox* layer_ = nullptr;
  QSpinBox* count_ = nullptr;
  QSpinBox* seed_ = nullptr;
  QPlainTextEdit* list_ = nullptr;
};

}  // namespace zs::gui
