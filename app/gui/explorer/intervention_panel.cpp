// InterventionPanel: see intervention_panel.h.
#include "app/gui/explorer/intervention_panel.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QSplitter>
#include <QTableView>
#include <QVBoxLayout>

#include <cmath>

#include "app/gui/settings.h"
#include "widgets/heatmap_plot.h"
#include "widgets/qcp.h"

using namespace zs::gui;

// ---------------------------------------------------------------- the table model

void PredictionChangeModel::setRows(std::vector<zs::PredictionChange> rows) {
  beginResetModel();
  rows_ = std::move(rows);
  endResetModel();
}

int PredictionChangeModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(rows_.size());
}

int PredictionChangeModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant PredictionChangeModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() >= rowCount() || index.column() >= ColumnCount) return {};
  const zs::PredictionChange& r = rows_[static_cast<size_t>(index.row())];
  const double change = double(r.intervened) - double(r.clean);
  const int c = index.column();
  if (role == Qt::DisplayRole) {
    if (c == Token) return QString::fromStdString(r.display);
    if (c == Clean) return QString("%1%").arg(100.0 * r.clean, 0, 'f', 2);
    if (c == Intervened) return QString("%1%").arg(100.0 * r.intervened, 0, 'f', 2);
    return QString("%1%2 pp").arg(change >= 0 ? "+" : "").arg(100.0 * change, 0, 'f', 2);
  }
  if (role == ValueRole) {
    if (c == Token) return static_cast<qlonglong>(r.id);
    if (c == Clean) return double(r.clean);
    if (c == Intervened) return double(r.intervened);
    return change;
  }
  if (role == Qt::TextAlignmentRole && c != Token) return QVariant(Qt::AlignRight | Qt::AlignVCenter);
  if (role == Qt::ToolTipRole) {
    auto rank = [](int k) { return k < 0 ? QObject::tr("not in its top list") : QObject::tr("rank %1").arg(k + 1); };
    return QObject::tr("token id %1 · clean: %2 · intervened: %3").arg(r.id).arg(rank(r.cleanRank)).arg(rank(r.intervenedRank));
  }
  if (role == Qt::ForegroundRole && c == Change && std::fabs(change) >= 0.005)
    return QColor(change > 0 ? QColor(178, 24, 43) : QColor(33, 102, 172));
  return {};
}

QVariant PredictionChangeModel::headerData(int section, Qt::Orientation o, int role) const {
  if (o != Qt::Horizontal || role != Qt::DisplayRole) return QAbstractTableModel::headerData(section, o, role);
  switch (section) {
    case Token: return tr("Next token");
    case Clean: return tr("Clean");
    case Intervened: return tr("Intervened");
    case Change: return tr("Change");
    default: return {};
  }
}

// ---------------------------------------------------------------- the panel

InterventionPanel::InterventionPanel(Worker* worker, QWidget* parent) : QWidget(parent), worker_(worker) {
  setObjectName("interventionPanel");
  auto* lay = new QVBoxLayout(this);
  lay->setContentsMargins(2, 2, 2, 2);
  lay->setSpacing(3);
  target_ = new QLabel(tr("Select a feature at a position to intervene on it."));
  target_->setObjectName("interventionTarget");
  target_->setWordWrap(true);
  lay->addWidget(target_);

  auto* row = new QHBoxLayout;
  mode_ = new QComboBox;
  mode_->setObjectName("interventionMode");
  mode_->addItem(tr("Zero-ablate"), "zero");
  mode_->addItem(tr("Scale by"), "scale");
  mode_->addItem(tr("Clamp to"), "clamp");
  mode_->setToolTip(tr("Zero-ablate: set the feature's activation to 0 · Scale by: multiply it · Clamp to: set it "
                       "to the value (also where it does not fire)"));
  value_ = new QDoubleSpinBox;
  value_->setObjectName("interventionValue");
  value_->setRange(-10000, 10000);
  value_->setDecimals(3);
  value_->setSingleStep(0.5);
  scope_ = new QComboBox;
  scope_->setObjectName("interventionScope");
  scope_->addItem(tr("this position"), false);
  scope_->addItem(tr("all positions"), true);
  run_ = new QPushButton(tr("Run"));
  run_->setObjectName("interventionRun");
  run_->setToolTip(tr("Replace hook_z of the feature's layer by the SAE's reconstruction of the edited activations "
                      "plus its error term (no edit reproduces the clean run exactly)"));
  row->addWidget(mode_);
  row->addWidget(value_);
  row->addWidget(scope_);
  row->addWidget(run_);
  row->addStretch(1);
  lay->addLayout(row);

  summary_ = new QLabel;
  summary_->setObjectName("interventionSummary");
  summary_->setTextFormat(Qt::RichText);
  summary_->setWordWrap(true);
  summary_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  lay->addWidget(summary_);

  auto* split = new QSplitter(Qt::Vertical);
  split->setChildrenCollapsible(false);
  model_ = new PredictionChangeModel(this);
  table_ = new QTableView;
  table_->setObjectName("interventionTable");
  table_->setModel(model_);
  table_->verticalHeader()->hide();
  table_->setSelectionBehavior(QAbstractItemView::SelectRows);
  table_->horizontalHeader()->setSectionResizeMode(PredictionChangeModel::Token, QHeaderView::Stretch);
  table_->verticalHeader()->setDefaultSectionSize(table_->fontMetrics().height() + 6);
  table_->setMinimumHeight(90);
  split->addWidget(table_);
  plot_ = new QCustomPlot;
  plot_->setObjectName("interventionLossPlot");
  plot_->setMinimumSize(160, 180);
  plot_->plotLayout()->insertRow(0);
  plot_->plotLayout()->addElement(
      0, 0, new QCPTextElement(plot_, tr("Per-token loss: intervened − clean"), QFont(plot_->font().family(), 9, QFont::Bold)));
  plot_->xAxis->setLabel(tr("token"));
  plot_->yAxis->setLabel(tr("Δ loss (nats)"));
  split->addWidget(plot_);
  split->setStretchFactor(0, 1);
  split->setStretchFactor(1, 1);
  split->setSizes({1000, 1000});
  lay->addWidget(split, 1);
  figure_ = std::make_unique<PlotFigure>(
      plot_,
      [this] {
        return QString("intervention_L%1_F%2_%3").arg(result_.intervention.layer).arg(result_.intervention.feature)
            .arg(QString::fromStdString(zs::interventionModeName(result_.intervention.mode)));
      },
      [this] { return csv(); });
  applyPlotTheme(plot_, isDarkPalette());

  // Remembered settings.
  mode_->setCurrentIndex(std::max(0, mode_->findData(settings::interventionMode.get())));
  value_->setValue(settings::interventionValue.get());
  scope_->setCurrentIndex(settings::interventionAllPositions.get() ? 1 : 0);
  connect(mode_, &QComboBox::currentIndexChanged, this, [this] {
    settings::interventionMode.set(mode_->currentData().toString());
    updateControls();
  });
  connect(value_, &QDoubleSpinBox::valueChanged, this, [](double v) { settings::interventionValue.set(v); });
  connect(scope_, &QComboBox::currentIndexChanged, this,
          [this] { settings::interventionAllPositions.set(scope_->currentData().toBool()); });
  connect(run_, &QPushButton::clicked, this, &InterventionPanel::run);
  connect(worker_, &Worker::intervened, this, &InterventionPanel::onResult);
  connect(worker_, &Worker::failed, this, [this](quint64 id, int kind, const QString& msg) {
    if (kind == static_cast<int>(RequestKind::Intervene) && id == pendingId_) {
      pendingId_ = 0;  // the explorer shows a message in a dialog
      summary_->setText(msg.isEmpty() ? tr("The model, the SAEs or the prompt changed since: run the prompt again.")
                                      : QString());
      updateControls();
    }
  });
  updateControls();
}

InterventionPanel::~InterventionPanel() = default;

void InterventionPanel::updateControls() {
  value_->setEnabled(mode_->currentData().toString() != "zero");
  run_->setEnabled(feature_ >= 0 && layer_ >= 0 && pos_ >= 0 && pendingId_ == 0);
}

void InterventionPanel::setControls(const QString& mode, double value, bool allPositions) {
  const QSignalBlocker b1(mode_), b2(value_), b3(scope_);
  mode_->setCurrentIndex(std::max(0, mode_->findData(mode)));
  value_->setValue(value);
  scope_->setCurrentIndex(allPositions ? 1 : 0);
  updateControls();
}

void InterventionPanel::setTarget(quint64 generation, int pos, int layer, qint64 feature, const QString& token) {
  if (generation == generation_ && pos == pos_ && layer == layer_ && feature == feature_) return;
  generation_ = generation;
  pos_ = pos;
  layer_ = layer;
  feature_ = feature;
  token_ = token;
  if (pendingId_) worker_->nextId(RequestKind::Intervene);  // the worker skips the superseded request
  pendingId_ = 0;
  target_->setText(feature < 0 || layer < 0 || pos < 0
                       ? tr("Select a feature at a position to intervene on it.")
                       : tr("<b>L%1 F%2</b> at position %3 <code>%4</code>")
                             .arg(layer).arg(feature).arg(pos).arg(token.toHtmlEscaped()));
  clearResult(QString());
  updateControls();
}

void InterventionPanel::clearResult(const QString& why) {
  hasResult_ = false;
  result_ = zs::InterventionResult();
  model_->setRows({});
  plot_->clearPlottables();
  plot_->clearItems();
  plot_->replot(QCustomPlot::rpQueuedReplot);
  summary_->setText(why);
}

void InterventionPanel::run() {
  if (feature_ < 0 || layer_ < 0 || pos_ < 0) return;
  zs::Intervention iv;
  iv.layer = layer_;
  iv.feature = feature_;
  iv.mode = zs::parseInterventionMode(mode_->currentData().toString().toStdString());
  iv.value = iv.mode == zs::InterventionMode::Zero ? 0.0 : value_->value();
  iv.position = scope_->currentData().toBool() ? -1 : pos_;
  const quint64 id = worker_->nextId(RequestKind::Intervene);
  pendingId_ = id;
  clearResult(tr("Running…"));
  updateControls();
  QMetaObject::invokeMethod(
      worker_, [w = worker_, id, g = generation_, iv, p = pos_] { w->intervene(id, g, iv, p, 10); }, Qt::QueuedConnection);
}

void InterventionPanel::onResult(quint64 id, quint64 generation, const zs::InterventionResult& r) {
  if (id != pendingId_ || generation != generation_ || r.intervention.layer != layer_ ||
      r.intervention.feature != feature_ || r.predictPosition != pos_)
    return;  // stale: another selection or prompt since
  pendingId_ = 0;
  hasResult_ = true;
  result_ = r;
  model_->setRows(r.predictions);

  // Loss difference per position (position 0 has no loss).
  plot_->clearPlottables();
  plot_->clearItems();
  auto* up = new QCPBars(plot_->xAxis, plot_->yAxis);
  auto* down = new QCPBars(plot_->xAxis, plot_->yAxis);
  up->setBrush(QColor(178, 24, 43));
  down->setBrush(QColor(33, 102, 172));
  QStringList labels;
  double lo = 0, hi = 0;
  for (size_t t = 0; t < r.lossDiff.size(); ++t) {
    QString tok = QString::fromStdString(r.tokens[t]);
    if (tok.size() > 10) tok = tok.left(9) + QChar(0x2026);
    labels << QString("%1 %2").arg(t).arg(tok);
    const double v = r.lossDiff[t];
    if (!std::isfinite(v)) continue;
    (v >= 0 ? up : down)->addData(double(t), v);
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  for (QCPBars* b : {up, down}) {
    b->setPen(Qt::NoPen);
    b->setWidth(0.75);
  }
  plot_->xAxis->setTicker(thinTextTicker(plot_->xAxis, labels));
  plot_->xAxis->setTickLabelRotation(labels.size() > 6 ? 90 : 0);
  plot_->xAxis->setRange(-0.6, labels.size() - 0.4);
  const double pad = 0.08 * std::max(1e-6, hi - lo);
  plot_->yAxis->setRange(lo - pad, hi + pad);
  if (r.intervention.position >= 0) {
    auto* mark = new QCPItemStraightLine(plot_);
    mark->point1->setCoords(r.intervention.position, 0);
    mark->point2->setCoords(r.intervention.position, 1);
    mark->setPen(QPen(QColor(128, 128, 128), 1, Qt::DashLine));
  }
  plot_->replot(QCustomPlot::rpQueuedReplot);

  const int p = r.predictPosition;
  const zs::Intervention& iv = r.intervention;
  QString what = iv.mode == zs::InterventionMode::Zero    ? tr("zero-ablated")
                 : iv.mode == zs::InterventionMode::Scale ? tr("scaled by %1").arg(iv.value)
                                                          : tr("clamped to %1").arg(iv.value);
  QString s = tr("<b>L%1 F%2</b> %3 at %4: activation at %5 %6 → %7")
                  .arg(iv.layer).arg(iv.feature).arg(what)
                  .arg(iv.position < 0 ? tr("every position") : tr("position %1").arg(iv.position))
                  .arg(p).arg(r.actsBefore[p], 0, 'f', 3).arg(r.actsAfter[p], 0, 'f', 3);
  if (p + 1 < static_cast<int>(r.lossDiff.size()))
    s += tr(" · loss on the next token %1 → %2 nats").arg(r.lossClean[p + 1], 0, 'f', 3).arg(r.lossIntervened[p + 1], 0, 'f', 3);
  s += tr(" · largest logit change there %1").arg(r.maxLogitChange[p], 0, 'g', 3);
  auto list = [](const std::vector<zs::LogitEffectToken>& v) {
    QStringList l;
    for (size_t i = 0; i < v.size() && i < 5; ++i)
      l << QString("<code>%1</code>&nbsp;%2").arg(QString::fromStdString(v[i].display).toHtmlEscaped())
               .arg(v[i].value, 0, 'f', 3);
    return l.join(", ");
  };
  s += tr("<br><b>Direct logit effect</b> per unit activation at %1: ↑ %2 · ↓ %3").arg(p).arg(list(r.directTop))
           .arg(list(r.directBottom));
  summary_->setText(s);
  updateControls();
  Q_EMIT resultShown();
}

void InterventionPanel::applyTheme(bool dark) {
  applyPlotTheme(plot_, dark);
  plot_->replot(QCustomPlot::rpQueuedReplot);
}

QString InterventionPanel::csv() const {
  QString out = "position,token,loss_clean,loss_intervened,loss_diff,activation_before,activation_after\n";
  auto num = [](float v) { return std::isfinite(v) ? QString::number(v, 'g', 9) : QString(); };
  for (size_t t = 0; t < result_.tokens.size(); ++t)
    out += QString("%1,%2,%3,%4,%5,%6,%7\n").arg(t).arg(csvField(QString::fromStdString(result_.tokens[t])))
               .arg(num(result_.lossClean[t])).arg(num(result_.lossIntervened[t])).arg(num(result_.lossDiff[t]))
               .arg(num(result_.actsBefore[t])).arg(num(result_.actsAfter[t]));
  return out;
}
