// CompareView: see compare_view.h.
#include "app/gui/explorer/compare_view.h"

#include <QElapsedTimer>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPointer>
#include <QPushButton>
#include <QScrollArea>
#include <QSplitter>
#include <QTabWidget>
#include <QTableView>
#include <QVBoxLayout>

#include "app/gui/explorer/explorer_controller.h"
#include "app/gui/worker.h"
#include "widgets/compare_model.h"
#include "widgets/compare_plot.h"
#include "widgets/token_view.h"

using namespace zs::gui;

static QTableView* compactTable(QAbstractItemModel* m, const char* name) {
  auto* t = new QTableView;
  t->setObjectName(name);
  t->setModel(m);
  t->setSelectionBehavior(QAbstractItemView::SelectRows);
  t->setSelectionMode(QAbstractItemView::SingleSelection);
  t->verticalHeader()->hide();
  t->verticalHeader()->setDefaultSectionSize(t->fontMetrics().height() + 4);
  t->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  t->setMinimumHeight(40);
  return t;
}

CompareView::CompareView(Worker* worker, ExplorerController* explorer, QWidget* parent)
    : QWidget(parent), worker_(worker), explorer_(explorer) {
  setObjectName("compareView");
  auto* lay = new QVBoxLayout(this);
  lay->setContentsMargins(2, 2, 2, 2);
  lay->setSpacing(2);
  auto* row = new QHBoxLayout;
  promptB_ = new QLineEdit;
  promptB_->setObjectName("comparePrompt");
  promptB_->setPlaceholderText(tr("Second prompt (B), e.g. the same sentence with two names swapped"));
  promptB_->setClearButtonEnabled(true);
  auto* go = new QPushButton(tr("Compare"));
  go->setObjectName("compareButton");
  row->addWidget(new QLabel(tr("B:")));
  row->addWidget(promptB_, 1);
  row->addWidget(go);
  lay->addLayout(row);
  status_ = new QLabel(tr("Enter a second prompt to compare the selected feature on both."));
  status_->setObjectName("compareStatus");
  status_->setWordWrap(true);
  lay->addWidget(status_);
  tokensA_ = new TokenView;
  tokensA_->setObjectName("compareTokensA");
  tokensB_ = new TokenView;
  tokensB_->setObjectName("compareTokensB");
  // Token chips of A and B (scrolling) above the two tables; the splitter gives the tables most of the room.
  auto* chips = new QWidget;
  auto* cl = new QVBoxLayout(chips);
  cl->setContentsMargins(0, 0, 0, 0);
  cl->setSpacing(2);
  cl->addWidget(tokensA_);
  cl->addWidget(tokensB_);
  auto* chipScroll = new QScrollArea;
  chipScroll->setWidgetResizable(true);
  chipScroll->setWidget(chips);
  chipScroll->setMinimumHeight(30);
  tokenModel_ = new PromptCompareModel(PromptCompareModel::Tokens, this);
  headModel_ = new PromptCompareModel(PromptCompareModel::Heads, this);
  tokenTable_ = compactTable(tokenModel_, "compareTokens");
  headTable_ = compactTable(headModel_, "compareHeads");
  auto* split = new QSplitter(Qt::Horizontal);
  split->addWidget(tokenTable_);
  split->addWidget(headTable_);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 1);
  auto* vsplit = new QSplitter(Qt::Vertical);
  vsplit->addWidget(chipScroll);
  // The tables and the plot share the room as two tabs (the dock is small).
  plot_ = new ComparePlot;
  auto* tabs = new QTabWidget;
  tabs->setObjectName("compareTabs");
  tabs->setDocumentMode(true);
  tabs->addTab(split, tr("Numbers"));
  tabs->addTab(plot_, tr("Plot"));
  vsplit->addWidget(tabs);
  vsplit->setStretchFactor(0, 1);
  vsplit->setStretchFactor(1, 3);
  lay->addWidget(vsplit, 1);
  setMinimumSize(150, 80);

  connect(go, &QPushButton::clicked, this, &CompareView::compare);
  connect(promptB_, &QLineEdit::returnPressed, this, &CompareView::compare);
  // Follow the explorer: a new prompt, position or feature compares again.
  connect(explorer_, &ExplorerController::selectionChanged, this, [this] {
    if (!promptB_->text().isEmpty()) compare();
  });
  // Double-click a position: select it in every view (recorded in the history).
  auto choose = [this](const QModelIndex& i) {
    if (!i.isValid() || !shown_) return;
    const int pos = i.data(PromptCompareModel::PositionRole).toInt();
    if (pos < static_cast<int>(result_.a.tokens.size())) explorer_->selectPosition(pos);
  };
  connect(tokenTable_, &QTableView::doubleClicked, this, choose);
  connect(tokenTable_, &QTableView::activated, this, choose);
  connect(tokensA_, &TokenView::tokenClicked, explorer_, &ExplorerController::selectPosition);
}

QString CompareView::promptB() const { return promptB_->text(); }
QString CompareView::status() const { return status_->text(); }

void CompareView::setPromptB(const QString& text) {
  promptB_->setText(text);
  compare();
}

void CompareView::clearResult(const QString& message) {
  shown_ = false;
  result_ = zs::PromptComparison();
  tokenModel_->clear();
  headModel_->clear();
  plot_->clear();
  tokensA_->setTokens({}, {});
  tokensB_->setTokens({}, {});
  status_->setText(message);
}

void CompareView::compare() {
  const quint64 id = ++request_;  // any result still on its way is now stale
  const QString b = promptB_->text();
  const zs::PromptAnalysis& a = explorer_->analysis();
  const Selection sel = explorer_->selection();
  if (b.isEmpty()) return clearResult(tr("Enter a second prompt to compare the selected feature on both."));
  if (a.tokens.empty()) return clearResult(tr("Run a prompt (A) first."));
  if (sel.feature < 0) return clearResult(tr("Select a feature to compare it on both prompts."));
  clearResult(tr("Comparing L%1 F%2 on both prompts…").arg(sel.layer).arg(sel.feature));
  const std::string textA = a.prompt, textB = b.toStdString();
  const bool bos = a.bos, truncate = a.truncatedFrom > 0;
  const int layer = sel.layer, dest = sel.pos;
  const qint64 feature = sel.feature;
  QPointer<CompareView> self(this);
  worker_->post([self, id, textA, textB, bos, truncate, layer, feature, dest](zs::Engine& e) {
    zs::PromptComparison c;
    QString error;
    QElapsedTimer timer;
    timer.start();
    try {
      c = e.comparePrompts(textA, textB, bos, layer, feature, dest, truncate);
    } catch (const std::exception& ex) {
      error = QString::fromStdString(ex.what());
    }
    const double ms = timer.nsecsElapsed() / 1e6;
    if (!self) return;
    QMetaObject::invokeMethod(
        self.data(),
        [self, id, c = std::move(c), error, ms] {
          if (!self || self->request_ != id) return;  // a newer request (or selection) superseded it
          self->lastMs_ = ms;
          if (!error.isEmpty()) {
            self->clearResult(tr("Cannot compare: %1").arg(error));
            Q_EMIT self->failed(error);
            return;
          }
          self->showResult(c);
        },
        Qt::QueuedConnection);
  });
}

void CompareView::showResult(const zs::PromptComparison& c) {
  result_ = c;
  shown_ = true;
  tokenModel_->setComparison(c);
  headModel_->setComparison(c);
  plot_->setComparison(c);
  auto fill = [](TokenView* v, const zs::PromptSide& s, const QString& which) {
    QStringList disp, tips;
    for (size_t i = 0; i < s.tokens.size(); ++i) {
      disp << QString::fromStdString(s.tokens[i].display);
      tips << QString("%1 · position %2: activation %3").arg(which).arg(i).arg(i < s.acts.size() ? s.acts[i] : 0.f, 0, 'f', 4);
    }
    v->setTokens(disp, tips);
    v->setValues(s.acts, tr("%1: activation").arg(which));
    v->setSourceValues(s.dfa.bySource, tr("%1: DFA by source → %2").arg(which).arg(s.dfa.dest));
    v->setSelected(s.dfa.dest);
  };
  fill(tokensA_, c.a, "A");
  fill(tokensB_, c.b, "B");
  const QString name = QString("L%1 F%2").arg(c.layer).arg(c.feature);
  if (c.aligned)
    status_->setText(tr("%1 on A and B (%2 tokens each): positions pair up; the B − A columns are the differences. "
                        "DFA at position %3 of both.")
                         .arg(name).arg(c.a.tokens.size()).arg(c.a.dfa.dest));
  else
    status_->setText(tr("%1: A has %2 tokens, B has %3, so positions do not pair up and no differences are shown; "
                        "each prompt on its own. DFA at position %4 of A and %5 of B (as far from the end).")
                         .arg(name).arg(c.a.tokens.size()).arg(c.b.tokens.size()).arg(c.a.dfa.dest).arg(c.b.dfa.dest));
  status_->setToolTip(tr("Both prompts analysed in %1 ms on the worker").arg(lastMs_, 0, 'f', 1));
  Q_EMIT compared();
}
