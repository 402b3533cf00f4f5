// zscope: the explorer GUI. Parses the command line and opens the main window.
//   zscope [--model DIR|default] [--sae DIR ...] [--db FILE] [--prompt TEXT]
//          [--threads N] [--device auto|cpu|cuda] [--screenshot FILE [--select L:F]] [--dark|--light]
//          [--bench-latency N]
//          [--export-figure tokens|heads|dfa|histogram|logits|headbars|tree|intervention|compare --out FILE
//           [--width W --height H --dpi D] [--select L:F[@POS]]
//           [--intervene zero|scale:V|clamp:V[@all]] [--prompt-b TEXT]]
//          [--export-figure pareto --data results.json --out FILE]   (a sweep; no model needed)
#include <QApplication>
#include <QCommandLineParser>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <initializer_list>

#include "app/gui/explorer/latency_bench.h"
#include "app/gui/explorer/mainwindow.h"
#include "app/gui/sweep_figure.h"
#include "core/base/runtime.h"

namespace {

// Whether the command line holds one of NAMES (as "--name" or "--name=value").
bool hasOption(int argc, char** argv, std::initializer_list<const char*> names) {
  for (int i = 1; i < argc; ++i)
    for (const char* n : names) {
      const size_t len = std::strlen(n);
      if (std::strncmp(argv[i], n, len) == 0 && (argv[i][len] == '\0' || argv[i][len] == '=')) return true;
    }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  // Scripted figures render offscreen unless a platform was chosen. Help and version need no display, and
  // screenshots and the latency benchmark render offscreen where there is none (a server, CI); the window
  // itself needs one, and says so instead of Qt's plugin error.
  if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) {
    const bool noDisplay = qEnvironmentVariableIsEmpty("DISPLAY") && qEnvironmentVariableIsEmpty("WAYLAND_DISPLAY");
    if (hasOption(argc, argv, {"--export-figure"}) ||
        (noDisplay && hasOption(argc, argv, {"-h", "--help", "--help-all", "-v", "--version", "--screenshot",
                                             "--bench-latency"}))) {
      qputenv("QT_QPA_PLATFORM", "offscreen");
    } else if (noDisplay) {
#if defined(__linux__)
      std::fprintf(stderr,
                   "zscope: no display (DISPLAY and WAYLAND_DISPLAY are unset). Run it in a desktop session or "
                   "under xvfb-run; without a display, zscope-cli does the analyses and zscope --export-figure "
                   "and --screenshot render offscreen.\n");
      return 1;
#endif
    }
  }
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
  p.addOption({"select", "With --screenshot or --export-figure: feature to select, as LAYER:FEATURE or "
                          "LAYER:FEATURE@POSITION (default position: the last token).", "L:F[@POS]"});
  p.addOption({"bench-latency", "Benchmark: once loaded, run a 64-token prompt (or --prompt) N times like "
                                 "Ctrl+Enter, print latency percentiles as JSON, quit.", "N"});
  p.addOption({"export-figure", "Render one figure offscreen once loaded and quit: tokens, heads, dfa, histogram, "
                                 "logits, headbars, tree, intervention (with --intervene), compare (with --prompt-b), "
                                 "or pareto (a sweep, with --data) (with --out, --width, --height, --dpi).", "KIND"});
  p.addOption({"intervene", "With --export-figure intervention: zero, scale:V or clamp:V, applied to the selected "
                             "feature at the selected position, or at every position with @all (default: zero).",
               "MODE[:V][@all]"});
  p.addOption({"prompt-b", "With --export-figure compare: the second prompt (B), compared with --prompt (A).", "TEXT"});
  p.addOption({"data", "With --export-figure pareto: the sweep's results JSON (scripts/sae_sweep.sh).", "FILE"});
  p.addOption({"out", "With --export-figure: the file (.png, .svg, .pdf or .csv).", "FILE"});
  p.addOption({"width", "With --export-figure: width in pixels at 96 DPI (default: the figure's own).", "W"});
  p.addOption({"height", "With --export-figure: height in pixels at 96 DPI.", "H"});
  p.addOption({"dpi", "With --export-figure: resolution of a PNG (default 300).", "D"});
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
  if (p.isSet("export-figure")) {
    static const QStringList kinds = {"tokens", "heads", "dfa", "histogram", "logits", "headbars", "tree",
                                      "intervention", "compare", "pareto"};
    o.exportFigure = p.value("export-figure");
    o.exportOut = p.value("out");
    if (!kinds.contains(o.exportFigure)) {
      std::fprintf(stderr, "zscope: --export-figure must be one of %s\n", qPrintable(kinds.join(", ")));
      return 2;
    }
    if (o.exportOut.isEmpty()) {
      std::fprintf(stderr, "zscope: --export-figure needs --out FILE\n");
      return 2;
    }
    bool okW = true, okH = true, okD = true;
    if (p.isSet("width")) o.exportSize.setWidth(p.value("width").toInt(&okW));
    if (p.isSet("height")) o.exportSize.setHeight(p.value("height").toInt(&okH));
    if (p.isSet("dpi")) o.exportDpi = p.value("dpi").toInt(&okD);
    if (!okW || !okH || !okD || o.exportDpi < 24 || o.exportDpi > 1200 || (p.isSet("width") && o.exportSize.width() < 16) ||
        (p.isSet("height") && o.exportSize.height() < 16)) {
      std::fprintf(stderr, "zscope: --width/--height need at least 16 pixels and --dpi 24 to 1200\n");
      return 2;
    }
  }
  if (p.isSet("intervene")) {
    // MODE[:VALUE][@all]
    QString spec = p.value("intervene").trimmed();
    if (spec.endsWith("@all")) {
      o.interveneAll = true;
      spec.chop(4);
    }
    o.interveneMode = spec.section(':', 0, 0);
    const QString value = spec.section(':', 1);
    bool ok = true;
    if (!value.isEmpty()) o.interveneValue = value.toDouble(&ok);
    const bool needsValue = o.interveneMode == "scale" || o.interveneMode == "clamp";
    if (!(o.interveneMode == "zero" || needsValue) || !ok || !std::isfinite(o.interveneValue) ||
        (needsValue && value.isEmpty()) || (o.interveneMode == "zero" && !value.isEmpty())) {
      std::fprintf(stderr, "zscope: --intervene must be zero, scale:VALUE or clamp:VALUE, optionally followed by @all\n");
      return 2;
    }
  }
  if (o.exportFigure == "compare") {
    o.promptB = p.value("prompt-b");
    if (o.promptB.isEmpty()) {
      std::fprintf(stderr, "zscope: --export-figure compare needs --prompt-b TEXT (the second prompt)\n");
      return 2;
    }
  }
  if (o.exportFigure == "pareto") {  // a figure of data, not of a model: no main window
    if (!p.isSet("data")) {
      std::fprintf(stderr, "zscope: --export-figure pareto needs --data results.json\n");
      return 2;
    }
    return zs::gui::exportSweepFigure(p.value("data"), o.exportOut, o.exportSize, o.exportDpi, p.isSet("dark"));
  }
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
