#pragma once
// Interactive figure export: one dialog for the file (PNG, SVG, PDF or CSV),
// the size and the DPI, remembered between exports; the file is written through
// zs::gui::exportFigure (atomic: an existing file is replaced only on success).
#include <QDialog>
#include <QSize>
#include <QString>

class QComboBox;
class QLabel;
class QLineEdit;
class QSpinBox;
namespace zs::gui {
class FigureSource;
}

class FigureExportDialog : public QDialog {
  Q_OBJECT
 public:
  explicit FigureExportDialog(zs::gui::FigureSource* src, QWidget* parent = nullptr);

  QString file() const;
  QSize figureSize() const;
  int dpi() const;
  // Tests and callers may preset the fields; the format follows the suffix.
  void setFile(const QString& file);
  void setFigureSize(QSize size);
  void setDpi(int dpi);

  // Writes the figure with the dialog's choices; false with *error on failure.
  // Remembers the folder, size and DPI on success.
  bool exportNow(QString* error);

  QLineEdit* fileEdit() const { return file_; }
  QComboBox* formatBox() const { return format_; }

 public Q_SLOTS:
  void accept() override;  // exports; stays open with the error shown when it fails

 private:
  void browse();
  void formatChosen(int index);
  void fileEdited();
  void updateEnabled();

  zs::gui::FigureSource* src_;
  QLineEdit* file_ = nullptr;
  QComboBox* format_ = nullptr;
  QSpinBox* width_ = nullptr;
  QSpinBox* height_ = nullptr;
  QSpinBox* dpi_ = nullptr;
  QLabel* pixels_ = nullptr;
  QLabel* error_ = nullptr;
};

// Opens the dialog (modal) and exports on OK. True when a file was written.
bool exportFigureInteractive(QWidget* parent, zs::gui::FigureSource* src);
