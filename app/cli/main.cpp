// zscope-cli: the headless entry point. All commands live in core/commands so
// that the CLI builds on a GPU server without Qt.
#include "app/cli/command.h"

int main(int argc, char** argv) { return zs::cli::runMain(argc, argv); }
