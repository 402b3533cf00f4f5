// zscope: the explorer GUI. Parses the command line and opens the main window.
//   zscope [--model DIR|default] [--sae DIR ...] [--db FILE] [--prompt TEXT]
//          [--threads N] [--device auto|cpu|cuda] [--screenshot FILE [--select L:F]] [--dark|--light]
//          [--bench-latency N]
#include <QApplication>
#include <QCommandLineParser>

#include <cstdio>

#include "app/gui/explorer/latency_bench.h"
#include "app/gui/explorer/mainwindow.h"
#include "core/base/runtime.h"

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QApplication::setOrganizationName("Zscope");
  QApplication::setApplicationName("zscope");
  QApplication::setApplicationVersion("0.1.0");
  zs::gui::settings::migrate();

  QCommandLineParser p;
  p.setApplicationDescription("Zscope: explore attention-SAE features of a GPT-2 model.");
  p.addHelpOption();
  p.addVersionOption();
  p.addOption({"model", "Model folder, or 'default' for the shipped model (default).", "DIR"});
  p.addOption({"sae", "SAE folder, or a folder of SAE folders (repeatable). Default: the shipped SAEs.", "DIR"});
  p.addOption({"db", "Feature database file.", "FILE"});
  p.addOption({"prompt", "Prompt to run at start-up.", "TEXT"});
  p.addOption({"threads", "LibTorch threads (0 = all cores).", "N"});
  p.addOption({"device", "auto, cpu or cuda.", "DEVICE"});
  p.addOption({"screenshot", "Render the window to FILE (PNG) once loaded, then quit.", "FILE"});
  p.addOption({"select", "With --screenshot: feature to select, as LAYER:FEATURE.", "L:F"});
  p.addOption({"bench-latency", "Benchmark: once loaded, run a 64-token prompt (or --prompt) N times like "
                                 "Ctrl+Enter, print latency percentiles as JSON, quit.", "N"});
  p.addOption({"dark", "Use the dark palette (remembered)."});
  p.addOption({"light", "Use the light palette (remembered)."});
  p.process(app);

  StartupOptions o;
  o.model = p.value("model");
  o.saes = p.values("sae");
  o.db = p.value("db");
  o.prompt = p.value("prompt");
  o.device = p.value("device");
  o.screenshot = p.value("screenshot");
  o.select = p.value("select");
  if (p.isSet("threads")) {
    bool ok = false;
    o.threads = p.value("threads").toInt(&ok);
    if (!ok || o.threads < 0) {
      std::fprintf(stderr, "zscope: --threads needs a non-negative integer\n");
      return 2;
    }
  }
  int benchIters = 0;
  if (p.isSet("bench-latency")) {
    bool ok = false;
    benchIters = p.value("bench-latency").toInt(&ok);
    if (!ok || benchIters < 1) {
      std::fprintf(stderr, "zscope: --bench-latency needs a positive number of runs\n");
      return 2;
    }
    o.prompt.clear();  // the benchmark runs it
  }
  if (!o.device.isEmpty() && o.device != "auto" && o.device != "cpu" && o.device != "cuda") {
    std::fprintf(stderr, "zscope: --device must be auto, cpu or cuda\n");
    return 2;
  }
  zs::runtime::initialise(o.threads, /*quiet=*/false);
  MainWindow w(o);
  if (p.isSet("dark")) w.setDarkPalette(true);
  if (p.isSet("light")) w.setDarkPalette(false);
  w.show();
  if (benchIters > 0) new LatencyBench(&w, benchIters, 3, 64, p.value("prompt"));
  return app.exec();
}
