// zscope: the explorer GUI. Parses the command line and opens the main window.
#include <QApplication>

#include "app/gui/mainwindow.h"

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QApplication::setOrganizationName("Zscope");
  QApplication::setApplicationName("zscope");
  MainWindow w;
  w.show();
  return app.exec();
}
