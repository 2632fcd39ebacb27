// bench_bindings.cc — times a memory call in a C++ loop, on the same memory and queries the
// Python calls use, so bench/python_bench.py measures the binding's overhead alone: no second
// process, no second copy of the data, the same FAISS index.
#include "bench_bindings.h"

#include <chrono>
#include <string>

#include <engram/memory_interface.h>

#include "arrays.h"

namespace py = pybind11;
using namespace pybind11::literals;

namespace engram::python {

void bind_bench(py::module_& m) {
  py::module_ b = m.def_submodule("_bench", "C++ timing loops for bench/python_bench.py (not API).");
  b.def(
      "time_cpp",
      [](MemoryInterface& mem, const std::string& op, py::handle queries, int k, int reps) {
        Matrix q = as_matrix(queries, "queries", static_cast<std::size_t>(mem.config().key_dim));
        py::gil_scoped_release nogil;
        const auto t0 = std::chrono::steady_clock::now();
        for (int i = 0; i < reps; ++i) {
          if (op == "read") {
            ReadResult r = mem.read(q.view, {k});
          } else if (op == "search") {
            SearchResult r = mem.search(q.view, {k});
          } else {
            throw std::invalid_argument("op: expected 'read' or 'search'");
          }
        }
        const std::chrono::duration<double> dt = std::chrono::steady_clock::now() - t0;
        return dt.count() / reps;
      },
      "memory"_a, "op"_a, "queries"_a, "k"_a, "reps"_a,
      "Seconds per call of memory.<op>(queries, k) ('read' or 'search'), timed in C++ over reps calls.");
}

}  // namespace engram::python
