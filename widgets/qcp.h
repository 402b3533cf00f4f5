#pragma once
// Include QCustomPlot through this header: the project builds with
// QT_NO_KEYWORDS (torch uses `slots`), and qcustomplot.h still spells
// `signals`/`slots`/`emit`/`foreach`. Map them to the Q_ macros just for it.
#include <QtCore/qglobal.h>
#include <QtCore/qobjectdefs.h>
#define signals Q_SIGNALS
#define slots Q_SLOTS
#define emit Q_EMIT
#define foreach Q_FOREACH
#include <qcustomplot.h>
#undef signals
#undef slots
#undef emit
#undef foreach
