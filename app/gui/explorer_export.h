#pragma once
// Interactive figure export: asks for a file (PNG, SVG, PDF or CSV) and, for
// images, the size and DPI; writes through zs::gui::exportFigure (atomic).
class QWidget;
namespace zs::gui {
class FigureSource;
}

void exportFigureInteractive(QWidget* parent, zs::gui::FigureSource* src);
