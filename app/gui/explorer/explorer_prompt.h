#pragma once
// The prompt editor dock's widget: text, Ctrl+Enter to run, optional live
// mode (runs after a short pause in typing), prompt history, BOS toggle.
#include <QWidget>

class QPlainTextEdit;
class QComboBox;
class QCheckBox;
class QTimer;

class PromptEditor : public QWidget {
  Q_OBJECT
 public:
  explicit PromptEditor(QWidget* parent = nullptr);
  QString text() const;
  void setText(const QString& t);
  bool bos() const;
  void setBos(bool on);
  void setLive(bool on);
  QPlainTextEdit* editor() const { return edit_; }
  QStringList history() const { return history_; }
  void addToHistory(const QString& t);  // most recent first, saved in QSettings

 Q_SIGNALS:
  void runRequested(const QString& text, bool bos);

 public Q_SLOTS:
  void run();

 protected:
  bool eventFilter(QObject* o, QEvent* e) override;

 private:
  QPlainTextEdit* edit_;
  QComboBox* historyBox_;
  QCheckBox* bos_;
  QCheckBox* live_;
  QTimer* debounce_;
  QStringList history_;
};
