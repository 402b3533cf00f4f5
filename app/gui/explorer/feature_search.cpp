// FeatureSearchDialog: see feature_search.h.
#include "app/gui/explorer/feature_search.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPointer>
#include <QPushButton>
#include <QTableView>
#include <QVBoxLayout>

#include <algorithm>

#include "app/gui/explorer/explorer_controller.h"
#include "app/gui/worker.h"
#include "core/engine/engine.h"
#include "widgets/feature_hit_model.h"

using zs::gui::FeatureHitModel;

FeatureSearchDialog::FeatureSearchDialog(Worker* worker, ExplorerController* explorer, QWidget* parent)
    : QDialog(parent), worker_(worker), explorer_(explorer) {
  setObjectName("featureSearchDialog");
  setWindowTitle(tr("Search features"));
  resize(720, 420);
  auto* lay = new QVBoxLayout(this);
  auto* row = new QHBoxLayout;
  query_ = new QLineEdit;
  query_->setObjectName("featureSearchQuery");
  query_->setPlaceholderText(tr("Text in the label, family or peak token"));
  field_ = new QComboBox;
  field_->addItems({tr("Anywhere"), tr("Label"), tr("Family"), tr("Peak token")});
  auto* go = new QPushButton(tr("Search"));
  row->addWidget(query_, 1);
  row->addWidget(field_);
  row->addWidget(go);
  lay->addLayout(row);
  model_ = new FeatureHitModel(this);
  table_ = new QTableView;
  table_->setObjectName("featureSearchResults");
  table_->setModel(model_);
  table_->setSelectionBehavior(QAbstractItemView::SelectRows);
  table_->setSelectionMode(QAbstractItemView::SingleSelection);
  table_->verticalHeader()->hide();
  table_->horizontalHeader()->setSectionResizeMode(FeatureHitModel::Label, QHeaderView::Stretch);
  lay->addWidget(table_, 1);
  status_ = new QLabel;
  status_->setWordWrap(true);
  lay->addWidget(status_);
  connect(go, &QPushButton::clicked, this, &FeatureSearchDialog::search);
  connect(query_, &QLineEdit::returnPressed, this, &FeatureSearchDialog::search);
  connect(table_, &QTableView::activated, this, &FeatureSearchDialog::choose);
  connect(table_, &QTableView::doubleClicked, this, &FeatureSearchDialog::choose);
}

QString FeatureSearchDialog::status() const { return status_->text(); }

void FeatureSearchDialog::setQuery(const QString& text, int field) {
  query_->setText(text);
  field_->setCurrentIndex(std::clamp(field, 0, 3));
}

void FeatureSearchDialog::search() {
  const std::string text = query_->text().trimmed().toStdString();
  const int field = field_->currentIndex();
  const quint64 gen = ++generation_;
  status_->setText(tr("Searching…"));
  QPointer<FeatureSearchDialog> self(this);
  worker_->post([self, text, field, gen](zs::Engine& e) {
    std::vector<zs::FeatureSearchHit> hits;
    QString error;
    try {
      hits = e.searchFeatures(text, field);
    } catch (const std::exception& ex) {
      error = QString::fromUtf8(ex.what());
    }
    if (!self) return;
    QMetaObject::invokeMethod(
        self.data(),
        [self, hits = std::move(hits), error, gen]() mutable {
          if (!self || gen != self->generation_) return;
          self->model_->setHits(std::move(hits));
          const int n = self->model_->rowCount();
          self->status_->setText(!error.isEmpty() ? error
                                 : n == 0         ? tr("No feature matches.")
                                                  : tr("%1 features; double-click one to select it.").arg(n));
          Q_EMIT self->searched(n);
        },
        Qt::QueuedConnection);
  });
}

void FeatureSearchDialog::choose(const QModelIndex& index) {
  if (!index.isValid()) return;
  const QString spec = QString("%1:%2").arg(index.data(FeatureHitModel::LayerRole).toInt())
                           .arg(index.data(FeatureHitModel::FeatureRole).toLongLong());
  QString err;
  if (!explorer_->goTo(spec, &err)) status_->setText(err);
  else status_->setText(tr("Selected L%1.").arg(spec));
}
