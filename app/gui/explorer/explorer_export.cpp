// FigureExportDialog: see explorer_export.h.
#include "app/gui/explorer/explorer_export.h"
#include "app/gui/settings.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>

#include "widgets/figure_export.h"

using namespace zs::gui;

namespace {
struct Fmt {
  const char* name;
  const char* suffix;
  FigureFormat format;
};
const Fmt kFormats[] = {{"PNG image", "png", FigureFormat::Png},
                        {"SVG vector image", "svg", FigureFormat::Svg},
                        {"PDF document", "pdf", FigureFormat::Pdf},
                        {"Numbers as CSV", "csv", FigureFormat::Csv}};
}  // namespace

FigureExportDialog::FigureExportDialog(FigureSource* src, QWidget* parent) : QDialog(parent), src_(src) {
  setObjectName("figureExportDialog");
  setWindowTitle(tr("Export figure"));
  auto* form = new QFormLayout(this);

  file_ = new QLineEdit;
  file_->setObjectName("exportFile");
  auto* browse = new QPushButton(tr("Browse…"));
  auto* fileRow = new QHBoxLayout;
  fileRow->addWidget(file_, 1);
  fileRow->addWidget(browse);
  form->addRow(tr("File"), fileRow);

  format_ = new QComboBox;
  for (const Fmt& f : kFormats) format_->addItem(tr(f.name) + QString(" (*.%1)").arg(f.suffix), QString(f.suffix));
  form->addRow(tr("Format"), format_);

  const QSize natural = src_->figureSize();
  width_ = new QSpinBox;
  width_->setRange(100, 8000);
  width_->setValue((gui::settings::exportWidth.get() > 0 ? gui::settings::exportWidth.get() : natural.width()));
  height_ = new QSpinBox;
  height_->setRange(100, 8000);
  height_->setValue((gui::settings::exportHeight.get() > 0 ? gui::settings::exportHeight.get() : natural.height()));
  dpi_ = new QSpinBox;
  dpi_->setRange(48, 1200);
  dpi_->setValue(gui::settings::exportDpi.get());
  form->addRow(tr("Width (px at 96 DPI)"), width_);
  form->addRow(tr("Height (px at 96 DPI)"), height_);
  form->addRow(tr("DPI"), dpi_);
  pixels_ = new QLabel;
  form->addRow(QString(), pixels_);
  error_ = new QLabel;
  error_->setObjectName("exportError");
  error_->setWordWrap(true);
  error_->setStyleSheet("color: #c03020");
  error_->hide();
  form->addRow(error_);

  auto* bb = new QDialogButtonBox(QDialogButtonBox::Save | QDialogButtonBox::Cancel);
  form->addRow(bb);
  connect(bb, &QDialogButtonBox::accepted, this, &FigureExportDialog::accept);
  connect(bb, &QDialogButtonBox::rejected, this, &QDialog::reject);
  connect(browse, &QPushButton::clicked, this, &FigureExportDialog::browse);
  connect(format_, &QComboBox::currentIndexChanged, this, &FigureExportDialog::formatChosen);
  connect(file_, &QLineEdit::editingFinished, this, &FigureExportDialog::fileEdited);
  for (QSpinBox* b : {width_, height_, dpi_}) connect(b, &QSpinBox::valueChanged, this, &FigureExportDialog::updateEnabled);

  const QString dir = gui::settings::exportDir.get().isEmpty() ? QDir::homePath() : gui::settings::exportDir.get();
  const QString suffix = gui::settings::exportFormat.get();
  setFile(dir + "/" + src_->figureName() + "." + suffix);
}

QString FigureExportDialog::file() const { return file_->text().trimmed(); }
QSize FigureExportDialog::figureSize() const { return QSize(width_->value(), height_->value()); }
int FigureExportDialog::dpi() const { return dpi_->value(); }
void FigureExportDialog::setFigureSize(QSize size) {
  width_->setValue(size.width());
  height_->setValue(size.height());
}
void FigureExportDialog::setDpi(int dpi) { dpi_->setValue(dpi); }

void FigureExportDialog::setFile(const QString& file) {
  file_->setText(file);
  fileEdited();
}

void FigureExportDialog::fileEdited() {
  const QString suffix = QFileInfo(file()).suffix().toLower();
  const int i = format_->findData(suffix);
  if (i >= 0 && i != format_->currentIndex()) {
    const QSignalBlocker b(format_);
    format_->setCurrentIndex(i);
  }
  updateEnabled();
}

void FigureExportDialog::formatChosen(int index) {
  const QString suffix = format_->itemData(index).toString();
  QFileInfo fi(file());
  const QString stem = fi.completeBaseName().isEmpty() ? src_->figureName() : fi.completeBaseName();
  file_->setText(QDir(fi.absolutePath()).filePath(stem + "." + suffix));
  updateEnabled();
}

void FigureExportDialog::updateEnabled() {
  const FigureFormat f = formatForFile(file());
  const bool image = f == FigureFormat::Png || f == FigureFormat::Pdf || f == FigureFormat::Svg;
  width_->setEnabled(image);
  height_->setEnabled(image);
  dpi_->setEnabled(f == FigureFormat::Png || f == FigureFormat::Pdf);
  if (f == FigureFormat::Png) {
    const double scale = dpi_->value() / 96.0;
    pixels_->setText(tr("%1 × %2 pixels").arg(qRound(width_->value() * scale)).arg(qRound(height_->value() * scale)));
  } else {
    pixels_->setText(f == FigureFormat::Csv ? tr("the numbers behind the figure") : QString());
  }
}

void FigureExportDialog::browse() {
  QString selected = format_->currentText();
  QStringList filters;
  for (int i = 0; i < format_->count(); ++i) filters << format_->itemText(i);
  const QString f = QFileDialog::getSaveFileName(this, tr("Export figure"), file(), filters.join(";;"), &selected);
  if (f.isEmpty()) return;
  const int i = filters.indexOf(selected);
  setFile(QFileInfo(f).suffix().isEmpty() && i >= 0 ? f + "." + format_->itemData(i).toString() : f);
}

bool FigureExportDialog::exportNow(QString* error) {
  const QString f = file();
  if (f.isEmpty()) {
    *error = tr("Choose a file name.");
    return false;
  }
  if (!exportFigure(*src_, f, figureSize(), dpi(), error)) return false;
  gui::settings::exportDir.set(QFileInfo(f).absolutePath());
  gui::settings::exportFormat.set(QFileInfo(f).suffix().toLower());
  gui::settings::exportWidth.set(width_->value());
  gui::settings::exportHeight.set(height_->value());
  gui::settings::exportDpi.set(dpi_->value());
  return true;
}

void FigureExportDialog::accept() {
  QString err;
  if (!exportNow(&err)) {
    error_->setText(tr("Export failed: %1").arg(err));
    error_->show();
    return;
  }
  QDialog::accept();
}

bool exportFigureInteractive(QWidget* parent, FigureSource* src) {
  FigureExportDialog d(src, parent);
  return d.exec() == QDialog::Accepted;
}
