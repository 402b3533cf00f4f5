#include "widgets/training_form.h"

#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLineEdit>
#include <QPushButton>
#include <QRegularExpression>
#include <QSpinBox>
#include <algorithm>

namespace zs::gui {

bool parseLayers(const QString& text, int nLayer, std::vector<int64_t>& out) {
  out.clear();
  for (const QString& t : text.split(QRegularExpression(QStringLiteral("[\\s,;]+")), Qt::SkipEmptyParts)) {
    bool ok = false;
    const int v = t.toInt(&ok);
    if (!ok || v < 0 || (nLayer > 0 && v >= nLayer)) return false;
    if (std::find(out.begin(), out.end(), v) == out.end()) out.push_back(v);
  }
  return !out.empty();
}

namespace {
QWidget* withBrowse(QWidget* parent, QLineEdit* edit, bool folder) {
  auto* w = new QWidget(parent);
  auto* h = new QHBoxLayout(w);
  h->setContentsMargins(0, 0, 0, 0);
  h->addWidget(edit, 1);
  auto* b = new QPushButton(QObject::tr("…"), w);
  b->setMaximumWidth(30);
  QObject::connect(b, &QPushButton::clicked, w, [edit, folder, w] {
    const QString p = folder ? QFileDialog::getExistingDirectory(w, QObject::tr("Folder"), edit->text())
                             : QFileDialog::getOpenFileName(w, QObject::tr("Corpus"), edit->text());
    if (!p.isEmpty()) edit->setText(p);
  });
  h->addWidget(b);
  return w;
}
}  // namespace

TrainingForm::TrainingForm(QWidget* parent) : QWidget(parent) {
  auto* f = new QFormLayout(this);
  layers_ = new QLineEdit(this);
  layers_->setObjectName(QStringLiteral("trainLayers"));
  layers_->setPlaceholderText(tr("e.g. 0,1"));
  sizeMode_ = new QComboBox(this);
  sizeMode_->addItems({tr("expansion × d_in"), tr("d_sae")});
  expansion_ = new QDoubleSpinBox(this);
  expansion_->setRange(0.25, 256);
  expansion_->setValue(8);
  dSae_ = new QSpinBox(this);
  dSae_->setRange(1, 1 << 24);
  dSae_->setValue(2048);
  dSae_->setVisible(false);
  auto* size = new QWidget(this);
  auto* sh = new QHBoxLayout(size);
  sh->setContentsMargins(0, 0, 0, 0);
  sh->addWidget(sizeMode_);
  sh->addWidget(expansion_, 1);
  sh->addWidget(dSae_, 1);
  connect(sizeMode_, &QComboBox::currentIndexChanged, this, [this](int i) {
    expansion_->setVisible(i == 0);
    dSae_->setVisible(i == 1);
  });
  l1_ = new QDoubleSpinBox(this);
  l1_->setDecimals(4);
  l1_->setRange(0, 1000);
  l1_->setSingleStep(0.1);
  // 0 = automatic: trainSaes scales λ to the RMS norm of the layer's centred z.
  l1_->setSpecialValueText(tr("auto (0.3 × RMS of z)"));
  l1_->setValue(0);
  arch_ = new QComboBox(this);
  arch_->setObjectName(QStringLiteral("trainArchitecture"));
  arch_->addItems({QStringLiteral("standard"), QStringLiteral("topk"), QStringLiteral("batchtopk"),
                   QStringLiteral("jumprelu")});
  arch_->setItemData(0, tr("ReLU + L1 penalty λ, dead features resampled"), Qt::ToolTipRole);
  arch_->setItemData(1, tr("the k largest pre-activations per token; AuxK loss on dead latents"), Qt::ToolTipRole);
  arch_->setItemData(2, tr("the k·batch largest over the batch; saved as JumpReLU with one threshold"),
                     Qt::ToolTipRole);
  arch_->setItemData(3, tr("learned per-feature thresholds, L0 penalty"), Qt::ToolTipRole);
  k_ = new QSpinBox(this);
  k_->setObjectName(QStringLiteral("trainK"));
  k_->setRange(1, 1 << 20);
  k_->setValue(32);
  k_->setToolTip(tr("TopK / BatchTopK: active features per token (BatchTopK: on average over the batch)"));
  l0_ = new QDoubleSpinBox(this);
  l0_->setObjectName(QStringLiteral("trainL0"));
  l0_->setDecimals(4);
  l0_->setRange(0, 1e6);
  l0_->setSingleStep(0.1);
  l0_->setValue(1.0);
  l0_->setToolTip(tr("JumpReLU: the coefficient of the L0 penalty"));
  arch_->setCurrentText(TrainingRequest{}.architecture);
  k_->setValue(static_cast<int>(TrainingRequest{}.k));
  connect(arch_, &QComboBox::currentIndexChanged, this, [this] { updateArchitecture(); });
  lr_ = new QDoubleSpinBox(this);
  lr_->setDecimals(6);
  lr_->setRange(1e-6, 1);
  lr_->setSingleStep(1e-4);
  lr_->setValue(1.2e-3);
  batch_ = new QSpinBox(this);
  batch_->setRange(8, 1 << 20);
  batch_->setValue(4096);
  tokensK_ = new QSpinBox(this);
  tokensK_->setRange(1, 1 << 30);
  tokensK_->setSuffix(tr(" k tokens"));
  tokensK_->setValue(2000);
  context_ = new QSpinBox(this);
  context_->setRange(2, 1 << 16);
  context_->setValue(128);
  seed_ = new QSpinBox(this);
  seed_->setRange(0, 1 << 30);
  seed_->setValue(1);
  device_ = new QComboBox(this);
  device_->addItems({QStringLiteral("auto"), QStringLiteral("cpu"), QStringLiteral("cuda")});
  corpus_ = new QLineEdit(this);
  corpus_->setObjectName(QStringLiteral("trainCorpus"));
  corpus_->setPlaceholderText(tr("text file, folder, .jsonl or .bin"));
  out_ = new QLineEdit(this);
  out_->setObjectName(QStringLiteral("trainOut"));
  f->addRow(tr("Layers"), layers_);
  f->addRow(tr("Dictionary"), size);
  f->addRow(tr("Architecture"), arch_);
  f->addRow(tr("k (TopK)"), k_);
  f->addRow(tr("L1 coefficient λ"), l1_);
  f->addRow(tr("L0 coefficient"), l0_);
  f->addRow(tr("Learning rate"), lr_);
  f->addRow(tr("Batch (activations)"), batch_);
  f->addRow(tr("Training tokens"), tokensK_);
  f->addRow(tr("Context"), context_);
  f->addRow(tr("Seed"), seed_);
  f->addRow(tr("Device"), device_);
  f->addRow(tr("Corpus"), withBrowse(this, corpus_, false));
  f->addRow(tr("Output folder"), withBrowse(this, out_, true));
  for (auto* e : {layers_, corpus_, out_}) connect(e, &QLineEdit::textChanged, this, &TrainingForm::changed);
  updateArchitecture();
}

void TrainingForm::updateArchitecture() {
  const QString a = arch_->currentText();
  k_->setEnabled(a == QLatin1String("topk") || a == QLatin1String("batchtopk"));
  l1_->setEnabled(a == QLatin1String("standard"));
  l0_->setEnabled(a == QLatin1String("jumprelu"));
  Q_EMIT changed();
}

void TrainingForm::setModel(const QString& dir, int nLayer, int64_t dIn, int64_t nCtx) {
  // The same model reported again (e.g. after SAEs loaded): keep the user's settings.
  if (dir == modelDir_ && nLayer == nLayer_ && dIn == dIn_) return;
  modelDir_ = dir;
  nLayer_ = nLayer;
  dIn_ = dIn;
  QStringList all;
  for (int l = 0; l < nLayer; ++l) all << QString::number(l);
  layers_->setText(all.join(QLatin1Char(',')));
  context_->setValue(static_cast<int>(std::min<int64_t>(nCtx > 0 ? nCtx : 128, 128)));
  dSae_->setValue(static_cast<int>(8 * dIn));
  if (out_->text().isEmpty())
    out_->setText(QDir::home().filePath(QStringLiteral("zscope-saes/") + QFileInfo(dir).fileName()));
}

TrainingRequest TrainingForm::request() const {
  TrainingRequest r;
  r.modelDir = modelDir_;
  r.dIn = dIn_;
  parseLayers(layers_->text(), nLayer_, r.layers);
  r.dSae = sizeMode_->currentIndex() == 1 ? dSae_->value() : 0;
  r.expansion = expansion_->value();
  r.l1 = l1_->value();
  r.lr = lr_->value();
  r.architecture = arch_->currentText();
  r.k = k_->value();
  r.l0 = l0_->value();
  r.batch = batch_->value();
  r.tokens = static_cast<int64_t>(tokensK_->value()) * 1000;
  r.context = context_->value();
  r.seed = static_cast<uint64_t>(seed_->value());
  r.device = device_->currentText();
  r.corpus = corpus_->text().trimmed();
  r.outDir = out_->text().trimmed();
  return r;
}

void TrainingForm::setRequest(const TrainingRequest& r) {
  QStringList ls;
  for (auto l : r.layers) ls << QString::number(l);
  layers_->setText(ls.join(QLatin1Char(',')));
  sizeMode_->setCurrentIndex(r.dSae > 0 ? 1 : 0);
  if (r.dSae > 0) dSae_->setValue(static_cast<int>(r.dSae));
  expansion_->setValue(r.expansion);
  l1_->setValue(r.l1);
  lr_->setValue(r.lr);
  if (arch_->findText(r.architecture) >= 0) arch_->setCurrentText(r.architecture);
  k_->setValue(static_cast<int>(r.k));
  l0_->setValue(r.l0);
  batch_->setValue(static_cast<int>(r.batch));
  tokensK_->setValue(static_cast<int>(std::max<int64_t>(1, r.tokens / 1000)));
  context_->setValue(static_cast<int>(r.context));
  seed_->setValue(static_cast<int>(r.seed));
  device_->setCurrentText(r.device);
  corpus_->setText(r.corpus);
  out_->setText(r.outDir);
}

QString TrainingForm::validate() const {
  if (modelDir_.isEmpty()) return tr("Open a model first (File ▸ Open model or the Models panel).");
  std::vector<int64_t> ls;
  if (!parseLayers(layers_->text(), nLayer_, ls))
    return tr("Layers: comma-separated numbers from 0 to %1.").arg(nLayer_ - 1);
  const QString a = arch_->currentText();
  const int64_t dSae = sizeMode_->currentIndex() == 1 ? dSae_->value() : static_cast<int64_t>(expansion_->value() * dIn_ + 0.5);
  if ((a == QLatin1String("topk") || a == QLatin1String("batchtopk")) && dIn_ > 0 && k_->value() > dSae)
    return tr("k (%1) must not exceed d_sae (%2).").arg(k_->value()).arg(dSae);
  if (corpus_->text().trimmed().isEmpty()) return tr("Choose a corpus.");
  if (!QFileInfo::exists(corpus_->text().trimmed())) return tr("Corpus %1 does not exist.").arg(corpus_->text());
  if (out_->text().trimmed().isEmpty()) return tr("Choose an output folder.");
  return {};
}

}  // namespace zs::gui
