// ExplorerController: selection state, requests to the worker and the
// handling of their results (docks are built in explorer_docks.cpp).
#include "app/gui/explorer/explorer_controller.h"

#include <QComboBox>
#include <QDockWidget>
#include <QDebug>
#include <QFontMetrics>
#include <QItemSelectionModel>
#include <QLabel>
#include <QListWidget>
#include <QPointer>
#include <QMainWindow>
#include <QRegularExpression>
#include <QTableView>

#include <algorithm>

#include "app/gui/explorer/compare_view.h"
#include "app/gui/explorer/explorer_prompt.h"
#include "app/gui/explorer/intervention_panel.h"
#include "widgets/dashboard_view.h"
#include "widgets/feature_table_model.h"
#include "widgets/head_feature_model.h"
#include "widgets/compare_plot.h"
#include "widgets/qcp.h"
#include "widgets/heatmap_plot.h"
#include "widgets/rdfa_tree_model.h"
#include "widgets/token_view.h"

using namespace zs::gui;

ExplorerController::ExplorerController(QMainWindow* window, Worker* worker)
    : QObject(window), window_(window), worker_(worker) {
  buildDocks(window);
  // Two prompts side by side: a tab beside the RDFA tree (the default arrangement stays as it is).
  compare_ = new CompareView(worker_, this);
  QDockWidget* compareDock = addDock(window, "compareDock", tr("Compare prompts"), compare_, Qt::BottomDockWidgetArea);
  addExportMenu(compare_->comparePlot()->plot(), compare_->comparePlot());
  for (QDockWidget* d : docks_)
    if (d->objectName() == QLatin1String("rdfaDock")) {
      window->tabifyDockWidget(d, compareDock);
      d->raise();
    }
  connect(worker_, &Worker::analysed, this, &ExplorerController::onAnalysed);
  connect(worker_, &Worker::featureReady, this, &ExplorerController::onFeature);
  connect(worker_, &Worker::dfaReady, this, &ExplorerController::onDfa);
  connect(worker_, &Worker::failed, this, &ExplorerController::onFailed);
  connect(worker_, &Worker::rootReady, this, [this](quint64 id, const zs::RdfaNode& root) {
    if (!worker_->isCurrent(RequestKind::Feature, id)) return;
    treeModel_->setRoot(root);
    tree_->expand(treeModel_->index(0, 0));  // fetches the root's children
  });
  connect(worker_, &Worker::expanded, this, [this](quint64, quint64 gen, int nodeId, const std::vector<zs::RdfaNode>& kids) {
    treeModel_->addChildren(gen, nodeId, kids);
  });
  connect(worker_, &Worker::dashboardReady, this, [this](quint64 id, const zs::Dashboard& d) {
    if (worker_->isCurrent(RequestKind::Dashboard, id)) dash_->setDashboard(d);
  });
  // The head table's rows come from the feature database when one is open:
  // opening or closing one lists the clicked head's features again.
  auto refreshHead = [this] {
    if (headLayer_ >= 0) requestHeadFeatures(headLayer_, headHead_);
  };
  connect(worker_, &Worker::databaseOpened, this, refreshHead);
  connect(worker_, &Worker::databaseClosed, this, refreshHead);
  connect(worker_, &Worker::databaseOpened, this, [this] { refreshDashboard(true); });
  connect(worker_, &Worker::databaseClosed, this, [this] { refreshDashboard(false); });
  connect(worker_, &Worker::headTopReady, this, [this](quint64 id, int layer, int head, const std::vector<zs::HeadTopFeature>& v) {
    if (!worker_->isCurrent(RequestKind::HeadTop, id)) return;
    headModel_->setFeatures(layer, head, v);
    const bool fromDb = !v.empty() && v.front().density >= 0;
    headTable_->setToolTip(
        tr("L%1 H%2: %3 features by their share of this head's decoder norm, %4. Double-click one to select it.")
            .arg(layer).arg(head).arg(v.size())
            .arg(fromDb ? tr("from the feature database (live features, labels, families)")
                        : tr("from the loaded SAE's decoder (open a feature database for families and densities)")));
  });
}

void ExplorerController::requestHeadFeatures(int layer, int head) {
  headLayer_ = layer;
  headHead_ = head;
  const quint64 id = worker_->nextId(RequestKind::HeadTop);
  QMetaObject::invokeMethod(worker_, [w = worker_, id, layer, head] { w->headTopFeatures(id, layer, head, 50); }, Qt::QueuedConnection);
}

void ExplorerController::begin(const QString& what) {
  ++pending_;
  Q_EMIT busyChanged(true, what);
}

void ExplorerController::end() {
  if (pending_ > 0) --pending_;
  if (pending_ == 0) Q_EMIT busyChanged(false, QString());
}

void ExplorerController::cancel() { worker_->cancelIssued(); }

void ExplorerController::run(const QString& text, bool bos) {
  const quint64 id = worker_->nextId(RequestKind::Analyse);
  runTimer_.start();
  pendingText_ = text;
  pendingBos_ = bos;
  if (pending_ == 0) begin(tr("Analysing the prompt…"));
  QMetaObject::invokeMethod(worker_, [w = worker_, a0 = quint64(id), a1 = QString(text), a2 = bool(bos)] { w->analyse(a0, a1, a2); }, Qt::QueuedConnection);
}

void ExplorerController::runTruncated(const QString& text, bool bos) {
  const quint64 id = worker_->nextId(RequestKind::Analyse);
  runTimer_.start();
  pendingText_ = text;
  pendingBos_ = bos;
  if (pending_ == 0) begin(tr("Analysing the prompt…"));
  QMetaObject::invokeMethod(worker_, [w = worker_, a0 = quint64(id), a1 = QString(text), a2 = bool(bos)] { w->analyse(a0, a1, a2, true); }, Qt::QueuedConnection);
}

QString ExplorerController::tokenTooltip(int pos) const {
  const zs::TokenInfo& t = analysis_.tokens[pos];
  QString tip = QString("<b>%1</b><br>id %2 · position %3<br>firing (sum of activations): %4")
                    .arg(QString::fromStdString(t.display).toHtmlEscaped()).arg(t.id).arg(pos)
                    .arg(analysis_.firing[pos], 0, 'f', 3);
  const auto& rows = analysis_.perPosition[pos];
  for (size_t i = 0; i < rows.size() && i < 5; ++i)
    tip += QString("<br>L%1 F%2: %3 %4").arg(rows[i].layer).arg(rows[i].feature).arg(rows[i].activation, 0, 'f', 3)
               .arg(QString::fromStdString(rows[i].label).toHtmlEscaped());
  return tip;
}

QStringList ExplorerController::tokenLabels(int upTo) const {
  QStringList l;
  for (int i = 0; i <= upTo && i < static_cast<int>(analysis_.tokens.size()); ++i)
    l << QString("%1 %2").arg(i).arg(QFontMetrics(QFont()).elidedText(QString::fromStdString(analysis_.tokens[i].display), Qt::ElideRight, 80));
  return l;
}

void ExplorerController::onAnalysed(quint64 id, const zs::PromptAnalysis& r, double ms) {
  if (!worker_->isCurrent(RequestKind::Analyse, id)) return;  // a newer prompt is on its way
  end();
  analysis_ = r;
  // Only prompts that ran reach the history (a refused one is not kept).
  prompt_->addToHistory(QString::fromStdString(r.prompt));
  QStringList disp, tips;
  for (int i = 0; i < static_cast<int>(r.tokens.size()); ++i) disp << QString::fromStdString(r.tokens[i].display);
  for (int i = 0; i < static_cast<int>(r.tokens.size()); ++i) tips << tokenTooltip(i);
  tokens_->setTokens(disp, tips);
  const int previousLayer = layerFilter_->currentData().toInt();
  layerFilter_->blockSignals(true);
  layerFilter_->clear();
  layerFilter_->addItem(tr("All layers"), -1);
  for (int l : r.saeLayers) layerFilter_->addItem(tr("Layer %1").arg(l), l);
  layerFilter_->setCurrentIndex(std::max(0, layerFilter_->findData(previousLayer)));
  layerFilter_->blockSignals(false);
  proxy_->setLayerFilter(layerFilter_->currentData().toInt());
  history_.clear();
  historyIndex_ = -1;
  sel_ = Selection();  // everything below refreshes from the new analysis
  apply(Selection{static_cast<int>(r.tokens.size()) - 1, -1, -1}, true);
  lastLatencyMs_ = runTimer_.nsecsElapsed() / 1e6;
  qInfo().noquote() << QString("zscope: prompt of %1 tokens analysed in %2 ms (worker %3 ms)")
                           .arg(r.tokens.size()).arg(lastLatencyMs_, 0, 'f', 1).arg(ms, 0, 'f', 1);
  Q_EMIT latencyMeasured(lastLatencyMs_, ms);
  Q_EMIT analysisShown(QString::fromStdString(r.prompt));
}

void ExplorerController::selectPosition(int pos) { apply(Selection{pos, sel_.layer, sel_.feature}, true); }

void ExplorerController::selectFeature(int layer, qint64 feature) { apply(Selection{sel_.pos, layer, feature}, true); }

bool ExplorerController::goTo(const QString& spec, QString* error) {
  // L:F, L:F@POS (a negative position counts from the end), or "L F".
  static const QRegularExpression re(QStringLiteral("^\\s*L?(\\d+)\\s*[:/ ]\\s*F?(\\d+)\\s*(?:@\\s*(-?\\d+))?\\s*$"),
                                     QRegularExpression::CaseInsensitiveOption);
  const QRegularExpressionMatch m = re.match(spec);
  auto fail = [error](const QString& e) {
    if (error) *error = e;
    return false;
  };
  if (!m.hasMatch()) return fail(tr("Write LAYER:FEATURE, optionally @POSITION (e.g. 1:63 or 1:63@-1)."));
  if (analysis_.tokens.empty()) return fail(tr("Run a prompt first."));
  const int layer = m.captured(1).toInt();
  const qint64 feature = m.captured(2).toLongLong();
  if (std::find(analysis_.saeLayers.begin(), analysis_.saeLayers.end(), layer) == analysis_.saeLayers.end())
    return fail(tr("No SAE is loaded for layer %1.").arg(layer));
  int pos = sel_.pos;
  if (!m.captured(3).isEmpty()) {
    const int n = static_cast<int>(analysis_.tokens.size());
    pos = m.captured(3).toInt();
    if (pos < 0) pos += n;
    if (pos < 0 || pos >= n) return fail(tr("Position %1 is outside the prompt's %2 tokens.").arg(m.captured(3)).arg(n));
  }
  apply(Selection{pos, layer, feature}, true);
  return true;
}

void ExplorerController::back() {
  if (historyIndex_ > 0) apply(history_[--historyIndex_], false);
}

void ExplorerController::forward() {
  if (historyIndex_ + 1 < history_.size()) apply(history_[++historyIndex_], false);
}

// Makes `s` the current selection: table and colours update at once from the
// cached analysis; feature detail, DFA, tree and dashboard come from the worker.
void ExplorerController::apply(const Selection& s, bool record) {
  if (analysis_.tokens.empty() || s.pos < 0 || s.pos >= static_cast<int>(analysis_.tokens.size())) return;
  const bool featureChanged = s.layer != sel_.layer || s.feature != sel_.feature;
  const bool posChanged = s.pos != sel_.pos;
  sel_ = s;
  if (record && !(historyIndex_ >= 0 && history_[historyIndex_] == s)) {
    history_.resize(historyIndex_ + 1);
    history_ << s;
    historyIndex_ = history_.size() - 1;
  }
  Q_EMIT navigationChanged(historyIndex_ > 0, historyIndex_ + 1 < history_.size());
  Q_EMIT selectionChanged();
  tokens_->setSelected(s.pos);
  intervene_->setTarget(analysis_.generation, s.pos, s.layer, s.feature,
                        QString::fromStdString(analysis_.tokens[s.pos].display));
  if (posChanged) requestPredictions();
  showPosition(posChanged || tableModel_->rowCount() == 0);
  if (s.feature < 0) {
    detail_ = zs::FeatureDetail();
    dfa_ = zs::DfaResult();
    tokens_->setValues(analysis_.firing, tr("firing (sum of feature activations)"));
    tokens_->setSourceValues({}, {});
    showTokenHeads();
    dfaMap_->clear(tr("Select a feature to see its DFA"));
    treeModel_->clear();
    return;
  }
  const quint64 id = worker_->nextId(RequestKind::Feature);
  QMetaObject::invokeMethod(worker_, [w = worker_, a0 = quint64(id), a1 = int(s.layer), a2 = qint64(s.feature), a3 = int(s.pos)] { w->selectFeature(a0, a1, a2, a3); }, Qt::QueuedConnection);
  if (featureChanged) requestDashboard(s.layer, s.feature);
}

void ExplorerController::requestDashboard(int layer, qint64 feature) {
  const quint64 id = worker_->nextId(RequestKind::Dashboard);
  QMetaObject::invokeMethod(worker_, [w = worker_, id, layer, feature] { w->dashboard(id, layer, feature); }, Qt::QueuedConnection);
}

// A database opened or closed: the selected feature's dashboard comes from it (or goes with it); with no
// feature selected the dashboard says what to do next.
void ExplorerController::refreshDashboard(bool databaseOpen) {
  if (sel_.feature >= 0) return requestDashboard(sel_.layer, sel_.feature);
  dash_->showMessage(databaseOpen ? tr("Feature database open: select a feature to see its dashboard")
                                  : tr("no feature database loaded"));
}

void ExplorerController::requestPredictions() {
  const int pos = sel_.pos;
  const quint64 gen = analysis_.generation;
  QPointer<ExplorerController> self(this);
  worker_->post([self, pos, gen](zs::Engine& e) {
    zs::PositionPredictions p;
    try {
      if (e.generation() != gen) return;
      p = e.predictions(pos, 5);
    } catch (const std::exception&) {
      return;
    }
    if (!self) return;
    QMetaObject::invokeMethod(
        self.data(),
        [self, p, pos, gen] {
          if (!self || self->sel_.pos != pos || self->analysis_.generation != gen) return;
          self->predictions_data_ = p;
          QString s = tr("<b>Next after %1:</b> ").arg(pos);
          for (const auto& t : p.top)
            s += QString("<code>%1</code>&nbsp;%2% &nbsp; ").arg(QString::fromStdString(t.display).toHtmlEscaped())
                     .arg(100.0 * t.prob, 0, 'f', 1);
          if (pos > 0)
            s += tr(" · <b>loss</b> on this token %1 nats (p = %2%)").arg(p.loss, 0, 'f', 2).arg(100.0 * p.probOfActual, 0, 'f', 1);
          self->predictions_->setText(s);
        },
        Qt::QueuedConnection);
  });
}

void ExplorerController::showPosition(bool refill) {
  if (refill) tableModel_->setRows(analysis_.perPosition[sel_.pos]);
  if (sel_.feature < 0) return;
  // Keep the selected feature highlighted in the table when it fires here.
  for (int r = 0; r < proxy_->rowCount(); ++r) {
    const QModelIndex i = proxy_->index(r, 0);
    if (i.data(FeatureTableModel::LayerRole).toInt() == sel_.layer &&
        i.data(FeatureTableModel::FeatureRole).toLongLong() == sel_.feature) {
      table_->selectionModel()->setCurrentIndex(i, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
      table_->scrollTo(i);
      break;
    }
  }
}

static QStringList layerLabels(int n) {
  QStringList l;
  for (int i = 0; i < n; ++i) l << QString("L%1").arg(i);
  return l;
}
static QStringList headLabels(int n) {
  QStringList l;
  for (int i = 0; i < n; ++i) l << QString("H%1").arg(i);
  return l;
}

// "L3H5: 0.42 — key/value group 2, shared with H4, H6, H7" (grouped-query
// attention: the heads of a group read the same value vectors).
static QString headCellTip(const zs::PromptAnalysis& a, const HeatmapPlot& plot, int layer, int head) {
  QString t = QString("L%1H%2: %3").arg(layer).arg(head).arg(plot.value(layer, head), 0, 'g', 4);
  const int H = a.nHead, K = a.nKvHead;
  if (K > 0 && K < H && H % K == 0) {
    const int per = H / K, group = head / per;
    QStringList others;
    for (int h = group * per; h < (group + 1) * per; ++h)
      if (h != head) others << QString("H%1").arg(h);
    t += others.isEmpty() ? QObject::tr(" — key/value head %1 (its own)").arg(group)
                          : QObject::tr(" — key/value group %1, shared with %2").arg(group).arg(others.join(", "));
  }
  return t;
}

void ExplorerController::showTokenHeads() {
  heads_->setCellToolTip([this](int l, int h) { return headCellTip(analysis_, *heads_, l, h); });
  const auto& v = analysis_.tokenHeads[sel_.pos];
  heads_->setData(v, analysis_.nLayer, analysis_.nHead, layerLabels(analysis_.nLayer), headLabels(analysis_.nHead), false);
  heads_->setTitle(tr("Token %1 '%2': Σ act × head fraction")
                       .arg(sel_.pos).arg(QString::fromStdString(analysis_.tokens[sel_.pos].display)));
  heads_->setScaleLabel(tr("Σ act × fraction"));
}

void ExplorerController::onFeature(quint64 id, const zs::FeatureDetail& d) {
  if (!worker_->isCurrent(RequestKind::Feature, id)) return;
  detail_ = d;
  const QString name = QString("L%1 F%2").arg(d.layer).arg(d.feature);
  tokens_->setValues(d.acts, tr("%1 activation").arg(name));
  // Layers × heads with only the feature's own layer non-zero.
  std::vector<float> m(static_cast<size_t>(analysis_.nLayer) * analysis_.nHead, 0.f);
  for (int h = 0; h < analysis_.nHead && h < static_cast<int>(d.headAttr.size()); ++h)
    m[static_cast<size_t>(d.layer) * analysis_.nHead + h] = d.headAttr[h];
  heads_->setData(m, analysis_.nLayer, analysis_.nHead, layerLabels(analysis_.nLayer), headLabels(analysis_.nHead), false);
  QString title = tr("%1: head fractions").arg(name);
  if (!d.label.empty()) title += " — " + QFontMetrics(QFont()).elidedText(QString::fromStdString(d.label), Qt::ElideRight, 160);
  heads_->setTitle(title);
  heads_->setScaleLabel(tr("fraction"));
  heads_->setToolTip(QString::fromStdString(d.familySuggestion));
  heads_->setCellToolTip([this](int l, int h) { return headCellTip(analysis_, *heads_, l, h); });
}

void ExplorerController::onDfa(quint64 id, const zs::DfaResult& d) {
  if (!worker_->isCurrent(RequestKind::Feature, id)) return;
  dfa_ = d;
  dfaMap_->setData(d.dfa, d.nSrc, d.nHead, tokenLabels(d.dest), headLabels(d.nHead), true);
  dfaMap_->setTitle(tr("DFA of L%1 F%2 at %3: pre-act %4 = Σ + bias %5")
                        .arg(d.layer).arg(d.feature).arg(d.dest).arg(d.preActivation, 0, 'f', 3).arg(d.bias, 0, 'f', 3));
  tokens_->setSourceValues(d.bySource, tr("DFA by source → %1").arg(d.dest));
}

void ExplorerController::onFailed(quint64 id, int kind, const QString& msg) {
  const auto k = static_cast<RequestKind>(kind);
  if (k == RequestKind::Analyse) {
    if (!worker_->isCurrent(k, id)) return;
    end();
  } else if (k == RequestKind::Expand) {
    // Leave the node collapsed; the message explains why.
  } else if (k == RequestKind::Load || k == RequestKind::Job) {
    return;  // the main window reports loads, once
  } else if (!worker_->isCurrent(k, id)) {
    return;
  }
  if (msg.isEmpty()) return;  // cancelled by the user
  lastError_ = msg;
  if (k == RequestKind::Analyse && msg.contains("exceed the model's context")) {
    Q_EMIT promptTooLong(pendingText_, pendingBos_, msg);
    return;
  }
  Q_EMIT error(msg);
}
