// ExplorerController: dock construction and the widgets' wiring to the
// controller's slots. The state machine is in explorer_controller.cpp.
#include <QComboBox>
#include <QDockWidget>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QMainWindow>
#include <QMenu>
#include <QScrollArea>
#include <QSplitter>
#include <QTableView>
#include <QVBoxLayout>

#include "app/gui/explorer/explorer_controller.h"
#include "app/gui/explorer/explorer_export.h"
#include "app/gui/explorer/explorer_prompt.h"
#include "widgets/dashboard_view.h"
#include "widgets/feature_table_model.h"
#include "widgets/heatmap_plot.h"
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

// A context menu "Export figure…" on any figure widget.
static void addExportMenu(QWidget* w, FigureSource* src) {
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
  addDock(w, "tokensDock", tr("Tokens"), scroll, Qt::TopDockWidgetArea);
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
  connect(table_, &QTableView::activated, this, [this](const QModelIndex& i) {
    selectFeature(i.data(FeatureTableModel::LayerRole).toInt(), i.data(FeatureTableModel::FeatureRole).toLongLong());
  });

  // Head attribution heatmap with the clicked head's top features below it.
  auto* headSplit = new QSplitter(Qt::Vertical);
  heads_ = new HeatmapPlot("head_attribution");
  heads_->setObjectName("headHeatmap");
  heads_->setAxisLabels(tr("layer"), tr("head"));
  headTop_ = new QListWidget;
  headTop_->setObjectName("headTopFeatures");
  headTop_->setMaximumHeight(120);
  headTop_->setToolTip(tr("Click a heatmap cell to list that head's top features; double-click one to select it"));
  headSplit->addWidget(heads_);
  headSplit->addWidget(headTop_);
  headSplit->setStretchFactor(0, 3);
  addDock(w, "headsDock", tr("Head attribution"), headSplit, Qt::RightDockWidgetArea);
  addExportMenu(heads_, heads_);
  connect(heads_, &HeatmapPlot::cellClicked, this, [this](int layer, int head) {
    const quint64 id = worker_->nextId(RequestKind::HeadTop);
    headTop_->clear();
    QMetaObject::invokeMethod(worker_, [w = worker_, a0 = quint64(id), a1 = int(layer), a2 = int(head), a3 = int(20)] { w->headTopFeatures(a0, a1, a2, a3); }, Qt::QueuedConnection);
  });
  connect(headTop_, &QListWidget::itemDoubleClicked, this, [this](QListWidgetItem* it) {
    selectFeature(it->data(Qt::UserRole).toInt(), it->data(Qt::UserRole + 1).toLongLong());
  });

  dfaMap_ = new HeatmapPlot("dfa");
  dfaMap_->setObjectName("dfaHeatmap");
  dfaMap_->setAxisLabels(tr("source token"), tr("head"));
  dfaMap_->setTransposed(true);
  dfaMap_->setMinimumHeight(240);  // room for the rotated token labels
  dfaMap_->setScaleLabel(tr("DFA"));
  addDock(w, "dfaDock", tr("DFA (source × head)"), dfaMap_, Qt::RightDockWidgetArea);
  addExportMenu(dfaMap_, dfaMap_);

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
  addDock(w, "dashboardDock", tr("Feature dashboard"), dash_, Qt::BottomDockWidgetArea);
  addExportMenu(dash_, dash_);
  w->tabifyDockWidget(docks_[docks_.size() - 2], docks_.last());
  docks_[docks_.size() - 2]->raise();
}

QList<QPair<QString, FigureSource*>> ExplorerController::figures() const {
  return {{tr("Tokens"), tokens_}, {tr("Head attribution"), heads_}, {tr("DFA heatmap"), dfaMap_},
          {tr("Activation histogram"), dash_}};
}

void ExplorerController::applyTheme(bool dark) {
  heads_->applyTheme(dark);
  dfaMap_->applyTheme(dark);
  dash_->applyTheme(dark);
  tokens_->update();
}
