// database_bindings.h — engram.Database: an embedded database folder, closable from Python.
#pragma once

#include <pybind11/pybind11.h>

namespace engram::python {

void bind_database(pybind11::module_& m);

}  // namespace engram::python
