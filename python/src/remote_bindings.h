// remote_bindings.h — engram.RemoteDatabase / engram.RemoteMemory: the C++ HTTP client, bound.
#pragma once

#include <pybind11/pybind11.h>

namespace engram::python {

void bind_remote(pybind11::module_& m);

}  // namespace engram::python
