// errors.h — engram::Error as Python exceptions: engram.Error and one subclass per ErrorCode.
#pragma once

#include <pybind11/pybind11.h>

namespace engram::python {

// Creates the exception classes in `m` and registers the translator that raises them (with the
// C++ message) wherever an engram::Error crosses into Python.
void bind_errors(pybind11::module_& m);

// Raises engram.FailedPreconditionError: used for calls on a closed Database.
[[noreturn]] void throw_closed(const char* what);

}  // namespace engram::python
