// module.cc — engram._engram, the compiled half of the `engram` package (engram/__init__.py
// re-exports it; users never import _engram directly).
#include <pybind11/pybind11.h>

#include "bench_bindings.h"
#include "database_bindings.h"
#include "errors.h"
#include "memory_bindings.h"
#include "remote_bindings.h"

PYBIND11_MODULE(_engram, m) {
  m.doc() = "Engram's C++ core, bound with pybind11. Import `engram`, not this module.";
  engram::python::bind_errors(m);
  engram::python::bind_memory(m);
  engram::python::bind_database(m);
  engram::python::bind_remote(m);
  engram::python::bind_bench(m);
}
