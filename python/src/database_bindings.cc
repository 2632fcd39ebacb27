// database_bindings.cc — the embedded database.
//
// Python cannot rely on destructors running at a known time, so the database has an explicit
// close() (and is a context manager). The C++ Database sits in a shared_ptr that close() empties:
// later calls on the Database raise FailedPreconditionError, and its memories' calls raise
// NotFoundError ("... its database closed") from the library itself, never a crash. A call in
// flight on another thread holds its own reference, so close() never frees a database under it.
// Memories keep their Database object alive (keep_alive), so dropping the last Python reference
// to a database while its memories are still used does not close them.
#include "database_bindings.h"

#include <memory>
#include <optional>
#include <string>

#include <engram/database.h>
#include <pybind11/stl.h>

#include "errors.h"
#include "memory_bindings.h"

namespace py = pybind11;
using namespace pybind11::literals;

namespace engram::python {
namespace {

class PyDatabase {
 public:
  PyDatabase(const std::string& path, bool create_if_missing) {
    DatabaseOptions options;
    options.create_if_missing = create_if_missing;
    py::gil_scoped_release nogil;
    db_ = Database::open(path, options);
  }
  ~PyDatabase() {
    // The last reference went away without close(): close here, still without the GIL, since
    // closing checkpoints every index.
    if (db_) {
      py::gil_scoped_release nogil;
      db_.reset();
    }
  }

  // The open database (called with the GIL held, which serialises it against close()).
  std::shared_ptr<Database> get(const char* what) const {
    if (!db_) throw_closed(what);
    return db_;
  }

  void close() {
    std::shared_ptr<Database> db = std::move(db_);
    py::gil_scoped_release nogil;
    db.reset();  // closes unless a call in flight still holds it; then that call's end closes it
  }
  bool closed() const { return !db_; }

 private:
  std::shared_ptr<Database> db_;
};

// Runs fn(Database&) with the GIL released.
template <class Fn>
auto with_db(PyDatabase& self, const char* what, Fn&& fn) {
  std::shared_ptr<Database> db = self.get(what);
  py::gil_scoped_release nogil;
  return fn(*db);
}

}  // namespace

void bind_database(py::module_& m) {
  py::class_<PyDatabase>(m, "Database", R"doc(
An embedded Engram database: a folder of named memories (RocksDB store + FAISS indexes).

Open one with engram.open(path). Only one process may have a folder open (BusyError).
Use it as a context manager, or call close(); closing checkpoints every index.)doc")
      .def(py::init<const std::string&, bool>(), "path"_a, "create_if_missing"_a = true,
           "Opens (creating if missing and allowed) the database in `path`.")
      .def(
          "create_memory",
          [](PyDatabase& self, const std::string& name, int key_dim, int value_dim, const py::kwargs& options) {
            MemoryConfig config = config_from_kwargs(key_dim, value_dim, options);
            return with_db(self, "create_memory",
                           [&](Database& db) { return db.create_memory(name, config); });
          },
          "name"_a, py::kw_only(), "key_dim"_a, "value_dim"_a, py::keep_alive<0, 1>(),
          R"doc(Creates the memory `name` and returns it.

key_dim, value_dim: widths of keys and values. Further keyword options (the C++ MemoryConfig):
metric ("ip" or "l2"), index (a FAISS factory string: "Flat", "HNSW32", "IVF1024,Flat", ...),
search_params, ef_construction, default_k, temperature, gate_bias, sync, cache_values, device.
Raises AlreadyExistsError if the name is taken, InvalidArgumentError for a bad name or option.)doc")
      .def(
          "memory",
          [](PyDatabase& self, const std::string& name) {
            return with_db(self, "memory", [&](Database& db) { return db.memory(name); });
          },
          "name"_a, py::keep_alive<0, 1>(), "The memory called `name`. Raises NotFoundError.")
      .def(
          "has_memory",
          [](PyDatabase& self, const std::string& name) {
            return with_db(self, "has_memory", [&](Database& db) { return db.has_memory(name); });
          },
          "name"_a, "Whether a memory called `name` exists.")
      .def(
          "list_memories",
          [](PyDatabase& self) {
            return with_db(self, "list_memories", [](Database& db) { return db.list_memories(); });
          },
          "The names of the database's memories.")
      .def(
          "describe",
          [](PyDatabase& self, const std::string& name) {
            return config_to_dict(with_db(self, "describe", [&](Database& db) { return db.describe(name); }));
          },
          "name"_a, "The configuration of memory `name` as a dict. Raises NotFoundError.")
      .def(
          "drop_memory",
          [](PyDatabase& self, const std::string& name) {
            with_db(self, "drop_memory", [&](Database& db) { db.drop_memory(name); });
          },
          "name"_a, "Deletes the memory and all its slots. Raises NotFoundError.")
      .def(
          "snapshot",
          [](PyDatabase& self, const std::string& dir, const std::optional<std::vector<std::string>>& memories) {
            with_db(self, "snapshot", [&](Database& db) { db.snapshot(dir, memories.value_or(std::vector<std::string>{})); });
          },
          "dir"_a, "memories"_a = py::none(),
          R"doc(Writes a consistent, openable copy of the database into `dir` (which must not exist):
every memory, or only those named in `memories` (the copy then holds none of the others' bytes).
Raises NotFoundError for an unknown name, writing nothing.)doc")
      .def_property_readonly(
          "path", [](PyDatabase& self) { return self.get("path")->path(); }, "The database folder.")
      .def(
          "disk_bytes",
          [](PyDatabase& self) { return with_db(self, "disk_bytes", [](Database& db) { return db.disk_bytes(); }); },
          "Bytes the database occupies on disk.")
      .def("close", &PyDatabase::close,
           "Checkpoints every index and closes the database. Idempotent; later calls raise.")
      .def_property_readonly("closed", &PyDatabase::closed, "Whether close() was called.")
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](PyDatabase& self, py::args) { self.close(); });
}

}  // namespace engram::python
