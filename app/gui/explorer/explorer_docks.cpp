// ExplorerController: dock construction and the widgets' wiring to the
// controller's slots. The state machine is in explorer_controller.cpp.
#include <QComboBox>
#include <QDockWidget>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QMainWindow>
#include <QMenu>
#include <QScrollArea>
#include <QSplitter>
#include <QTableView>
#include <QVBoxLayout>

#include <algorithm>

#include "app/gui/explorer/compare_view.h"
#include "app/gui/explorer/explorer_controller.h"
#include "app/gui/explorer/explorer_export.h"
#include "app/gui/explorer/explorer_prompt.h"
#include "app/gui/explorer/intervention_panel.h"
#include "widgets/compare_plot.h"
#include "widgets/dashboard_view.h"
#include "widgets/feature_table_model.h"
#include "widgets/head_feature_model.h"
#include "widgets/heatmap_plot.h"
#include "widgets/qcp.h"
#include "widgets/rdfa_tree_figure.h"
#include "widgets/rdfa_tree_model.h"
#include "widgets/token_view.h"

using namespace zs::gui;

QDockWidget* ExplorerController::addDock(QMainWindow* w, const QString& name, const QString& title, QWidget* content,
                                         Qt::DockWidgetArea area) {
  auto* d = new QDockWidget(title, w);
  d->setObjectName(name);
  d->setWidget(content);
  w->addDockWidget(area, d);
  docks_ << d;
  return d;
}

// A context menu "Export figure…" on any figure widget (on the widget that
// receives the right-click: a plot's QCustomPlot, not its wrapper).
void addExportMenu(QWidget* w, FigureSource* src) {
  w->setContextMenuPolicy(Qt::CustomContextMenu);
  QObject::connect(w, &QWidget::customContextMenuRequested, w, [w, src](const QPoint& p) {
    QMenu m;
    m.addAction(QObject::tr("Export figure (PNG, SVG, PDF, CSV)…"), w, [w, src] { exportFigureInteractive(w, src); });
    m.exec(w->mapToGlobal(p));
  });
}

void ExplorerController::buildDocks(QMainWindow* w) {
  prompt_ = new PromptEditor;
  addDock(w, "promptDock", tr("Prompt"), prompt_, Qt::TopDockWidgetArea);
  connect(prompt_, &PromptEditor::runRequested, this, &ExplorerController::run);

  tokens_ = new TokenView;
  tokens_->setObjectName("tokenView");
  auto* scroll = new QScrollArea;
  scroll->setWidgetResizable(true);
  scroll->setWidget(tokens_);
  auto* tokensBox = new QWidget;
  auto* tokLay = new QVBoxLayout(tokensBox);
  tokLay->setContentsMargins(0, 0, 0, 0);
  tokLay->setSpacing(2);
  tokLay->addWidget(scroll, 1);
  predictions_ = new QLabel;
  predictions_->setObjectName("predictions");
  predictions_->setTextFormat(Qt::RichText);
  predictions_->setToolTip(tr("The model's most probable next tokens after the selected position, and its loss on "
                              "the selected token (−log p of it given the tokens before)"));
  predictions_->setContentsMargins(4, 0, 4, 2);
  tokLay->addWidget(predictions_);
  addDock(w, "tokensDock", tr("Tokens"), tokensBox, Qt::TopDockWidgetArea);
  connect(tokens_, &TokenView::tokenClicked, this, &ExplorerController::selectPosition);
  addExportMenu(tokens_, tokens_);

  // Feature table with a search box and a layer filter.
  auto* tableBox = new QWidget;
  auto* tl = new QVBoxLayout(tableBox);
  tl->setContentsMargins(2, 2, 2, 2);
  auto* filters = new QHBoxLayout;
  search_ = new QLineEdit;
  search_->setObjectName("featureSearch");
  search_->setPlaceholderText(tr("Search label, family or feature id"));
  search_->setClearButtonEnabled(true);
  layerFilter_ = new QComboBox;
  layerFilter_->setObjectName("layerFilter");
  layerFilter_->addItem(tr("All layers"), -1);
  filters->addWidget(search_, 1);
  filters->addWidget(layerFilter_);
  tl->addLayout(filters);
  tableModel_ = new FeatureTableModel(this);
  proxy_ = new FeatureFilterProxy(this);
  proxy_->setSourceModel(tableModel_);
  table_ = new QTableView;
  table_->setObjectName("featureTable");
  table_->setModel(proxy_);
  table_->setSortingEnabled(true);
  table_->sortByColumn(FeatureTableModel::Activation, Qt::DescendingOrder);
  table_->setSelectionBehavior(QAbstractItemView::SelectRows);
  table_->setSelectionMode(QAbstractItemView::SingleSelection);
  table_->setItemDelegateForColumn(FeatureTableModel::Heads, new HeadBarDelegate(table_));
  table_->verticalHeader()->hide();
  table_->horizontalHeader()->setSectionResizeMode(FeatureTableModel::Label, QHeaderView::Stretch);
  table_->verticalHeader()->setDefaultSectionSize(table_->fontMetrics().height() + 6);
  tl->addWidget(table_);
  addDock(w, "featuresDock", tr("Features at position"), tableBox, Qt::LeftDockWidgetArea);
  connect(search_, &QLineEdit::textChanged, proxy_, &FeatureFilterProxy::setText);
  connect(layerFilter_, &QComboBox::currentIndexChanged, this,
          [this](int i) { proxy_->setLayerFilter(layerFilter_->itemData(i).toInt()); });
  connect(table_, &QTableView::clicked, this, [this](const QModelIndex& i) {
    selectFeature(i.data(FeatureTableModel::LayerRole).toInt(), i.data(FeatureTableModel::FeatureRole).toLongLong());
  });
  // Arrow keys (and Page Up/Down, Home/End) move the current row: every view follows.
  connect(table_->selectionModel(), &QItemSelectionModel::currentRowChanged, this, [this](const QModelIndex& i) {
    if (!i.isValid()) return;
    const int layer = i.data(FeatureTableModel::LayerRole).toInt();
    const qint64 feature = i.data(FeatureTableModel::FeatureRole).toLongLong();
    if (layer != sel_.layer || feature != sel_.feature) selectFeature(layer, feature);
  });
  connect(table_, &QTableView::activated, this, [this](const QModelIndex& i) {
    selectFeature(i.data(FeatureTableModel::LayerRole).toInt(), i.data(FeatureTableModel::FeatureRole).toLongLong());
  });

  // Head attribution heatmap with the clicked head's top features below it.
  auto* headSplit = new QSplitter(Qt::Vertical);
  heads_ = new HeatmapPlot("head_attribution");
  heads_->setObjectName("headHeatmap");
  heads_->setAxisLabels(tr("layer"), tr("head"));
  heads_->setMinimumHeight(100);  // leaves the head's feature list room under it in a small dock
  heads_->clear(tr("Run a prompt to see which heads its features come from"));
  // The clicked head's features (the paper's polysemanticity view).
  headModel_ = new HeadFeatureModel(this);
  headTable_ = new QTableView;
  headTable_->setObjectName("headFeatures");
  headTable_->setModel(headModel_);
  headTable_->setSelectionBehavior(QAbstractItemView::SelectRows);
  headTable_->setSelectionMode(QAbstractItemView::SingleSelection);
  headTable_->verticalHeader()->hide();
  headTable_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  headTable_->horizontalHeader()->setSectionResizeMode(HeadFeatureModel::Label, QHeaderView::Stretch);  // elided, no scroll bar
  headTable_->verticalHeader()->setDefaultSectionSize(headTable_->fontMetrics().height() + 4);
  headTable_->setMinimumHeight(40);
  headTable_->setToolTip(tr("Click a heatmap cell to list that head's features; double-click one to select it"));
  headTable_->hide();  // shown once a cell is clicked
  headSplit->addWidget(heads_);
  headSplit->addWidget(headTable_);
  headSplit->setStretchFactor(0, 1);
  headSplit->setStretchFactor(1, 1);
  addDock(w, "headsDock", tr("Head attribution"), headSplit, Qt::RightDockWidgetArea);
  addExportMenu(heads_->plot(), heads_);
  connect(heads_, &HeatmapPlot::cellClicked, this, [this, headSplit](int layer, int head) {
    headModel_->clear();
    if (headTable_->isHidden()) {
      headTable_->show();
      const int h = std::max(200, headSplit->height());
      headSplit->setSizes({h / 2, h / 2});
    }
    requestHeadFeatures(layer, head);
  });
  auto chooseHeadFeature = [this](const QModelIndex& i) {
    if (i.isValid()) selectFeature(i.data(HeadFeatureModel::LayerRole).toInt(), i.data(HeadFeatureModel::FeatureRole).toLongLong());
  };
  connect(headTable_, &QTableView::doubleClicked, this, chooseHeadFeature);
  connect(headTable_, &QTableView::activated, this, chooseHeadFeature);

  dfaMap_ = new HeatmapPlot("dfa");
  dfaMap_->setObjectName("dfaHeatmap");
  dfaMap_->setAxisLabels(tr("source token"), tr("head"));
  dfaMap_->setTransposed(true);
  dfaMap_->setMinimumHeight(160);
  dfaMap_->setScaleLabel(tr("DFA"));
  dfaMap_->clear(tr("Select a feature to see its DFA"));
  addDock(w, "dfaDock", tr("DFA (source × head)"), dfaMap_, Qt::RightDockWidgetArea);
  addExportMenu(dfaMap_->plot(), dfaMap_);

  treeModel_ = new RdfaTreeModel(this);
  tree_ = new RdfaTreeView;
  tree_->setObjectName("rdfaTree");
  tree_->setModel(treeModel_);
  tree_->header()->setSectionResizeMode(RdfaTreeModel::Node, QHeaderView::Stretch);
  tree_->header()->resizeSection(RdfaTreeModel::Value, 160);
  addDock(w, "rdfaDock", tr("RDFA tree"), tree_, Qt::BottomDockWidgetArea);
  connect(treeModel_, &RdfaTreeModel::expandRequested, this, [this](quint64 gen, int nodeId) {
    const quint64 id = worker_->nextId(RequestKind::Expand);
    QMetaObject::invokeMethod(worker_, [w = worker_, a0 = quint64(id), a1 = quint64(gen), a2 = int(nodeId)] { w->expand(a0, a1, a2); }, Qt::QueuedConnection);
  });
  connect(tree_, &RdfaTreeView::positionHovered, tokens_, &TokenView::setHighlighted);
  connect(tree_, &RdfaTreeView::featureActivated, this, [this](int layer, int feature, int pos) {
    apply(Selection{pos, layer, feature}, true);
  });

  dash_ = new DashboardView;
  dash_->setObjectName("dashboardView");
  addDock(w, "dashboardDock", tr("Feature dashboard"), dash_, Qt::RightDockWidgetArea);
  addExportMenu(dash_->histogramPlot(), dash_);
  addExportMenu(dash_->logitsPlot(), dash_->logitsFigure());
  addExportMenu(dash_->headsPlot(), dash_->headsFigure());
  treeFigure_ = std::make_unique<RdfaTreeFigure>(tree_);
  addExportMenu(tree_->viewport(), treeFigure_.get());

  intervene_ = new InterventionPanel(worker_);
  addDock(w, "interventionDock", tr("Intervene"), intervene_, Qt::RightDockWidgetArea);
  addExportMenu(intervene_->lossPlot(), intervene_->lossFigure());
  arrangeDocks(w);
}

// The default arrangement (1366×768 up to 1920×1080 and beyond): prompt and
// tokens side by side on top; the feature table on the left; the two heatmaps
// stacked beside the dashboard on the right; the RDFA tree under the heatmaps.
// Nothing shares a tab; a saved layout replaces it.
void ExplorerController::arrangeDocks(QMainWindow* w) {
  auto dock = [this](const char* name) {
    for (QDockWidget* d : docks_)
      if (d->objectName() == QLatin1String(name)) return d;
    return static_cast<QDockWidget*>(nullptr);
  };
  QDockWidget *prompt = dock("promptDock"), *tokens = dock("tokensDock"), *features = dock("featuresDock"),
              *heads = dock("headsDock"), *dfa = dock("dfaDock"), *tree = dock("rdfaDock"), *dash = dock("dashboardDock");
  w->setCorner(Qt::BottomLeftCorner, Qt::LeftDockWidgetArea);
  w->setCorner(Qt::BottomRightCorner, Qt::RightDockWidgetArea);
  w->splitDockWidget(prompt, tokens, Qt::Horizontal);
  w->splitDockWidget(heads, dash, Qt::Horizontal);
  w->splitDockWidget(heads, dfa, Qt::Vertical);
  w->splitDockWidget(dfa, tree, Qt::Vertical);
  // The Intervene panel waits behind the dashboard until it is asked for.
  if (QDockWidget* intervene = dock("interventionDock")) {
    w->tabifyDockWidget(dash, intervene);
    dash->raise();
  }
  sizeDocks(w);
}

// Proportions of the default arrangement for the window's current size (run
// again once the window has its real size).
void ExplorerController::sizeDocks(QMainWindow* w) {
  auto dock = [this](const char* name) {
    for (QDockWidget* d : docks_)
      if (d->objectName() == QLatin1String(name)) return d;
    return static_cast<QDockWidget*>(nullptr);
  };
  QDockWidget *prompt = dock("promptDock"), *tokens = dock("tokensDock"), *features = dock("featuresDock"),
              *heads = dock("headsDock"), *dfa = dock("dfaDock"), *tree = dock("rdfaDock"), *dash = dock("dashboardDock");
  const int W = std::max(800, w->width()), H = std::max(500, w->height());
  w->resizeDocks({prompt, tokens}, {W * 2 / 5, W * 3 / 5}, Qt::Horizontal);
  w->resizeDocks({prompt, features}, {std::clamp(H / 7, 90, 150), H}, Qt::Vertical);
  w->resizeDocks({features, heads, dash}, {W * 27 / 100, W * 41 / 100, W * 32 / 100}, Qt::Horizontal);
  w->resizeDocks({heads, dfa, tree}, {H * 27 / 100, H * 30 / 100, H * 30 / 100}, Qt::Vertical);
}

QList<QPair<QString, FigureSource*>> ExplorerController::figures() const {
  return {{tr("Tokens"), tokens_},
          {tr("Head attribution"), heads_},
          {tr("DFA heatmap"), dfaMap_},
          {tr("Activation histogram"), dash_},
          {tr("Logit effects"), dash_->logitsFigure()},
          {tr("Head-attribution bars"), dash_->headsFigure()},
          {tr("RDFA tree"), treeFigure_.get()},
          {tr("Intervention: loss difference"), intervene_->lossFigure()},
          {tr("Compare prompts: activation per token"), compare_->comparePlot()}};
}

FigureSource* ExplorerController::figure(const QString& kind) const {
  if (kind == "tokens") return tokens_;
  if (kind == "heads") return heads_;
  if (kind == "dfa") return dfaMap_;
  if (kind == "histogram") return dash_;
  if (kind == "logits") return dash_->logitsFigure();
  if (kind == "headbars") return dash_->headsFigure();
  if (kind == "tree") return treeFigure_.get();
  if (kind == "intervention") return intervene_->lossFigure();
  if (kind == "compare") return compare_->comparePlot();
  return nullptr;
}

void ExplorerController::applyTheme(bool dark) {
  heads_->applyTheme(dark);
  dfaMap_->applyTheme(dark);
  dash_->applyTheme(dark);
  intervene_->applyTheme(dark);
  if (compare_) compare_->comparePlot()->applyTheme(dark);
  tokens_->update();
}
