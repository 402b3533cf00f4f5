// isLibTorchError (core/base/torch_error.h): the one place outside torch-using code that
// needs to recognise c10::Error by type (its what() may or may not carry a trace).
#include <c10/util/Exception.h>

#include "core/base/torch_error.h"

namespace zs {

bool isLibTorchError(const std::exception& e) { return dynamic_cast<const c10::Error*>(&e) != nullptr; }

}  // namespace zs
