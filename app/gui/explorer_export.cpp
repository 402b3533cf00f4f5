// exportFigureInteractive: see explorer_export.h.
#include "app/gui/explorer_export.h"

#include <QDialog>
#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QMessageBox>
#include <QSettings>
#include <QSpinBox>

#include "widgets/figure_export.h"

using namespace zs::gui;

void exportFigureInteractive(QWidget* parent, FigureSource* src) {
  QSettings s;
  const QString dir = s.value("export/dir").toString();
  QString selected;
  const QString file = QFileDialog::getSaveFileName(parent, QObject::tr("Export figure"), dir + "/" + src->figureName() + ".png",
      QObject::tr("PNG image (*.png);;SVG vector image (*.svg);;PDF document (*.pdf);;Numbers as CSV (*.csv)"), &selected);
  if (file.isEmpty()) return;
  s.setValue("export/dir", QFileInfo(file).absolutePath());
  QSize size = src->figureSize();
  int dpi = s.value("export/dpi", 300).toInt();
  const FigureFormat f = formatForFile(file);
  if (f == FigureFormat::Png || f == FigureFormat::Pdf || f == FigureFormat::Svg) {
    QDialog d(parent);
    d.setWindowTitle(QObject::tr("Figure size"));
    auto* form = new QFormLayout(&d);
    auto* w = new QSpinBox;
    w->setRange(100, 8000);
    w->setValue(s.value("export/width", size.width()).toInt());
    auto* h = new QSpinBox;
    h->setRange(100, 8000);
    h->setValue(s.value("export/height", size.height()).toInt());
    auto* dp = new QSpinBox;
    dp->setRange(48, 1200);
    dp->setValue(dpi);
    form->addRow(QObject::tr("Width (px at 96 DPI)"), w);
    form->addRow(QObject::tr("Height (px at 96 DPI)"), h);
    form->addRow(QObject::tr("DPI"), dp);
    auto* bb = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);
    form->addRow(bb);
    QObject::connect(bb, &QDialogButtonBox::accepted, &d, &QDialog::accept);
    QObject::connect(bb, &QDialogButtonBox::rejected, &d, &QDialog::reject);
    if (d.exec() != QDialog::Accepted) return;
    size = QSize(w->value(), h->value());
    dpi = dp->value();
    s.setValue("export/width", size.width());
    s.setValue("export/height", size.height());
    s.setValue("export/dpi", dpi);
  }
  QString error;
  if (!exportFigure(*src, file, size, dpi, &error)) QMessageBox::warning(parent, QObject::tr("Export failed"), error);
}
