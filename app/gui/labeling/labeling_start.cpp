#include "app/gui/labeling/labeling_start.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QRegularExpression>
#include <QSpinBox>

#include "core/db/features.h"

namespace zs::gui {

bool parseFeatureList(const QString& text, std::vector<int64_t>& out, QString* bad) {
  out.clear();
  for (const QString& t : text.split(QRegularExpression(QStringLiteral("[\\s,;]+")), Qt::SkipEmptyParts)) {
    bool ok = false;
    const qlonglong v = t.toLongLong(&ok);
    if (!ok || v < 0) {
      if (bad) *bad = t;
      return false;
    }
    out.push_back(v);
  }
  return true;
}

LabelingStartDialog::LabelingStartDialog(zs::db::Db& db, QWidget* parent) : QDialog(parent) {
  setWindowTitle(tr("New labeling session"));
  auto* form = new QFormLayout(this);
  layer_ = new QComboBox(this);
  try {
    const zs::db::DbInfo info = zs::db::dbInfo(db);
    for (size_t i = 0; i < info.layers.size(); ++i) {
      const qint64 n = i < info.featuresPerLayer.size() ? info.featuresPerLayer[i] : 0;
      layer_->addItem(tr("layer %1 (%2 features)").arg(info.layers[i]).arg(n), info.layers[i]);
    }
  } catch (const std::exception&) {
  }
  if (layer_->count() == 0) layer_->addItem(tr("layer 0"), 0);
  count_ = new QSpinBox(this);
  count_->setRange(1, 100000);
  count_->setValue(30);
  seed_ = new QSpinBox(this);
  seed_->setRange(0, 1 << 30);
  seed_->setValue(1);
  list_ = new QPlainTextEdit(this);
  list_->setPlaceholderText(tr("optional: feature ids (e.g. a head's top features) — overrides the random sample"));
  list_->setMaximumHeight(80);
  form->addRow(tr("Layer"), layer_);
  form->addRow(tr("Random live features"), count_);
  form->addRow(tr("Seed"), seed_);
  form->addRow(tr("Or a list"), list_);
  auto* bb = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
  connect(bb, &QDialogButtonBox::accepted, this, &LabelingStartDialog::accept);
  connect(bb, &QDialogButtonBox::rejected, this, &QDialog::reject);
  form->addRow(bb);
}

void LabelingStartDialog::accept() {
  std::vector<int64_t> ids;
  QString bad;
  if (!parseFeatureList(list_->toPlainText(), ids, &bad)) {
    QMessageBox::warning(this, windowTitle(), tr("\"%1\" is not a feature id.").arg(bad));
    return;
  }
  QDialog::accept();
}

SessionRequest LabelingStartDialog::request() const {
  SessionRequest r;
  r.layer = layer_->currentData().toInt();
  r.count = count_->value();
  r.seed = static_cast<quint64>(seed_->value());
  parseFeatureList(list_->toPlainText(), r.features);
  return r;
}

bool LabelingStartDialog::ask(QWidget* parent, zs::db::Db& db, SessionRequest& out) {
  LabelingStartDialog d(db, parent);
  if (d.exec() != QDialog::Accepted) return false;
  out = d.request();
  return true;
}

}  // namespace zs::gui
