// bench_bindings.h — engram._engram._bench: the C++ side of bench/python_bench.py.
#pragma once

#include <pybind11/pybind11.h>

namespace engram::python {

void bind_bench(pybind11::module_& m);

}  // namespace engram::python
