#pragma once
// The SAE training configuration form: layers, dictionary size (d_sae or an
// expansion factor of d_in), architecture (standard ReLU + L1, topk, batchtopk,
// jumprelu) with its sparsity knob (λ for standard, k for topk/batchtopk, the
// L0 coefficient for jumprelu; the others are disabled), learning rate, batch, tokens,
// corpus, seed, device and the output folder. Defaults follow the loaded model
// (all layers, d_in = n_heads * d_head). Plain data out: TrainingRequest.
#include <QString>
#include <QWidget>

#include <cstdint>
#include <vector>

class QComboBox;
class QDoubleSpinBox;
class QLineEdit;
class QSpinBox;

namespace zs::gui {

struct TrainingRequest {
  QString modelDir, corpus, outDir, device = QStringLiteral("auto");
  std::vector<int64_t> layers;
  int64_t dSae = 0;        // > 0: explicit size
  double expansion = 8;    // used when dSae == 0: d_sae = expansion * d_in
  double l1 = 0, lr = 1.2e-3;  // l1 0: automatic
  QString architecture = QStringLiteral("topk");  // standard | topk | batchtopk | jumprelu (default: zs::TrainSaeParams's)
  int64_t k = 32;          // topk / batchtopk: active features per token
  double l0 = 1.0;         // jumprelu: L0 coefficient
  int64_t batch = 4096, tokens = 2'000'000, context = 128;
  uint64_t seed = 1;
  int64_t dIn = 0;         // from the model, for the d_sae shown
  int64_t effectiveDSae() const { return dSae > 0 ? dSae : static_cast<int64_t>(expansion * dIn + 0.5); }
};

class TrainingForm : public QWidget {
  Q_OBJECT
 public:
  explicit TrainingForm(QWidget* parent = nullptr);

  // Defaults from the model: every layer, d_in = n_embd, context = n_ctx (capped at 128).
  void setModel(const QString& dir, int nLayer, int64_t dIn, int64_t nCtx);
  TrainingRequest request() const;
  void setRequest(const TrainingRequest& r);
  // Empty when valid; otherwise what to fix.
  QString validate() const;

  QLineEdit* corpusEdit() const { return corpus_; }
  QComboBox* architectureBox() const { return arch_; }
  QSpinBox* kBox() const { return k_; }
  QDoubleSpinBox* l0Box() const { return l0_; }
  QDoubleSpinBox* l1Box() const { return l1_; }
  QLineEdit* outEdit() const { return out_; }

 Q_SIGNALS:
  void changed();

 private:
  QString modelDir_;
  int64_t dIn_ = 0;
  int nLayer_ = 0;
  QLineEdit* layers_ = nullptr;
  QComboBox* sizeMode_ = nullptr;
  QDoubleSpinBox* expansion_ = nullptr;
  QSpinBox* dSae_ = nullptr;
  QComboBox* arch_ = nullptr;
  QSpinBox* k_ = nullptr;
  QDoubleSpinBox* l0_ = nullptr;
  QDoubleSpinBox* l1_ = nullptr;
  QDoubleSpinBox* lr_ = nullptr;
  QSpinBox* batch_ = nullptr;
  QSpinBox* tokensK_ = nullptr;  // thousands of tokens
  QSpinBox* context_ = nullptr;
  QSpinBox* seed_ = nullptr;
  QComboBox* device_ = nullptr;
  QLineEdit* corpus_ = nullptr;
  QLineEdit* out_ = nullptr;
  void updateArchitecture();
};

// "0,1, 3" -> {0,1,3}; false on anything else or a layer outside [0, nLayer).
bool parseLayers(const QString& text, int nLayer, std::vector<int64_t>& out);

}  // namespace zs::gui
