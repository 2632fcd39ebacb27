// memory_bindings.cc — the memory operations. Every call converts its arguments with the GIL
// held, runs the C++ operation with the GIL released (so other Python threads run, read in
// parallel, or call in too: the C++ memory is thread-safe), then builds its numpy results with
// the GIL held again.
#include "memory_bindings.h"

#include <memory>
#include <optional>

#include <engram/memory.h>
#include <engram/memory_interface.h>
#include <pybind11/stl.h>

#include "arrays.h"

namespace py = pybind11;
using namespace pybind11::literals;

namespace engram::python {
namespace {

using Shape = std::vector<py::ssize_t>;

WriteOptions write_options(std::optional<bool> sync) {
  WriteOptions o;
  o.sync = sync;
  return o;
}

int checked_k(std::optional<int> k) {
  // None: the memory's default_k (the C++ API's k = 0). The library checks the range.
  if (k && *k == 0) throw py::value_error("k: expected 1..4096 or None (the memory's default_k), received 0");
  return k.value_or(0);
}

// ef / nprobe: None is the memory's own setting (the C++ API's 0). The library checks the range.
int checked_knob(std::optional<int> v, const char* name, int max) {
  if (v && *v == 0) {
    throw py::value_error(std::string(name) + ": expected 1.." + std::to_string(max) +
                          " or None (the memory's setting), received 0");
  }
  return v.value_or(0);
}

// k, ef and nprobe of a read or search, None being the memory's own (the C++ API's 0).
SearchOptions search_options(std::optional<int> k, std::optional<int> ef, std::optional<int> nprobe) {
  SearchOptions o;
  o.k = checked_k(k);
  o.ef = checked_knob(ef, "ef", kMaxEf);
  o.nprobe = checked_knob(nprobe, "nprobe", kMaxNprobe);
  return o;
}

// A filter (engram/filter.h) given as None, its JSON text, or the same as Python dicts and lists.
Filter as_filter(py::handle f) {
  if (f.is_none()) return Filter();
  if (py::isinstance<py::str>(f)) return Filter::parse(f.cast<std::string>());
  // Not a static py::object: one would be released after the interpreter, without the GIL.
  return Filter::parse(py::module_::import("json").attr("dumps")(f).cast<std::string>());
}

py::ssize_t ssize(std::size_t n) { return static_cast<py::ssize_t>(n); }

// The queries of a read, retrieve, search or write: (n, key_dim) float32 rows.
Matrix query_rows(const MemoryInterface& mem, py::handle queries) {
  return as_matrix(queries, "queries", static_cast<std::size_t>(mem.config().key_dim));
}

// The values of an insert or write: (rows, value_dim) float32, one row per key or query (`per`).
Matrix value_rows(const MemoryInterface& mem, py::handle values, std::size_t rows, const char* per) {
  Matrix v = as_matrix(values, "values", static_cast<std::size_t>(mem.config().value_dim));
  if (v.view.rows != rows) {
    throw py::value_error("values: expected " + std::to_string(rows) + " rows (one per " + per + "), received " +
                          std::to_string(v.view.rows));
  }
  return v;
}

py::tuple read(MemoryInterface& mem, py::handle queries, std::optional<int> k, std::optional<float> temperature,
               std::optional<int> ef, std::optional<int> nprobe, py::handle filter) {
  Matrix q = query_rows(mem, queries);
  SearchOptions o = search_options(k, ef, nprobe);
  o.filter = as_filter(filter);
  if (temperature && !(*temperature > 0)) {
    throw py::value_error("temperature: expected > 0 or None (the memory's temperature), received " +
                          std::to_string(*temperature));
  }
  ReadResult r;
  {
    py::gil_scoped_release nogil;
    o.temperature = temperature.value_or(0.0f);
    r = mem.read(q.view, o);
  }
  const auto n = ssize(q.view.rows);
  return py::make_tuple(float_array(std::move(r.reads), Shape{n, ssize(r.value_dim)}),
                        id_array(std::move(r.ids), Shape{n, ssize(r.k)}),
                        float_array(std::move(r.weights), Shape{n, ssize(r.k)}));
}

py::object retrieve(MemoryInterface& mem, py::handle queries, std::optional<int> k, bool with_payloads,
                    py::handle filter) {
  Matrix q = query_rows(mem, queries);
  SearchOptions o;
  o.k = checked_k(k);
  o.with_payloads = with_payloads;
  o.filter = as_filter(filter);
  RetrieveResult r;
  {
    py::gil_scoped_release nogil;
    r = mem.retrieve(q.view, o);
  }
  const auto n = ssize(q.view.rows);
  const auto kr = ssize(r.k);
  static py::object retrieved = py::module_::import("engram._results").attr("Retrieved");
  return retrieved(float_array(std::move(r.scores), Shape{n, kr}), id_array(std::move(r.ids), Shape{n, kr}),
                   float_array(std::move(r.keys), Shape{n, kr, ssize(r.key_dim)}),
                   float_array(std::move(r.values), Shape{n, kr, ssize(r.value_dim)}),
                   with_payloads ? py::object(payloads_to_list(r.payloads)) : py::object(py::none()));
}

py::tuple search(MemoryInterface& mem, py::handle queries, std::optional<int> k, bool with_payloads,
                 std::optional<int> ef, std::optional<int> nprobe, py::handle filter) {
  Matrix q = query_rows(mem, queries);
  SearchOptions o = search_options(k, ef, nprobe);
  o.filter = as_filter(filter);
  o.with_payloads = with_payloads;
  SearchResult r;
  {
    py::gil_scoped_release nogil;
    r = mem.search(q.view, o);
  }
  const auto n = ssize(q.view.rows);
  py::array_t<float> scores = float_array(std::move(r.scores), Shape{n, ssize(r.k)});
  py::array_t<std::int64_t> ids = id_array(std::move(r.ids), Shape{n, ssize(r.k)});
  if (!with_payloads) return py::make_tuple(scores, ids);
  return py::make_tuple(scores, ids, payloads_to_list(r.payloads));
}

py::array_t<std::int64_t> insert(MemoryInterface& mem, py::handle keys, py::handle values, py::handle payloads,
                                 std::optional<bool> sync) {
  Matrix kk = as_matrix(keys, "keys", static_cast<std::size_t>(mem.config().key_dim));
  Matrix vv = value_rows(mem, values, kk.view.rows, "key");
  std::vector<std::string> p = as_payloads(payloads, "payloads", kk.view.rows);
  std::vector<SlotId> ids;
  {
    py::gil_scoped_release nogil;
    ids = mem.insert(kk.view, vv.view, p, write_options(sync));
  }
  const auto n = ssize(ids.size());
  return id_array(std::move(ids), Shape{n});
}

// Caller's ids from Python: a sequence of int (>= 0) and str.
std::vector<ExternalId> as_external_ids(py::handle obj, const char* arg) {
  if (py::isinstance<py::str>(obj) || !py::isinstance<py::sequence>(obj))
    throw py::type_error(std::string(arg) + ": expected a sequence of int and str");
  std::vector<ExternalId> out;
  for (py::handle v : obj) {
    if (py::isinstance<py::str>(v)) out.emplace_back(v.cast<std::string>());
    else if (py::isinstance<py::int_>(v) && !py::isinstance<py::bool_>(v) && v.cast<py::int_>() >= py::int_(0))
      out.emplace_back(v.cast<std::uint64_t>());
    else throw py::type_error(std::string(arg) + ": every id is an int >= 0 or a str");
  }
  return out;
}

py::object external_id_object(const ExternalId& id) {
  return id.is_number() ? py::object(py::int_(id.number())) : py::object(py::str(id.text()));
}

py::array_t<std::int64_t> keyed_insert(MemoryInterface& mem, py::handle external_ids, py::handle keys, py::handle values,
                                       py::handle payloads, std::optional<bool> sync, bool upsert) {
  std::vector<ExternalId> ext = as_external_ids(external_ids, "external_ids");
  Matrix kk = as_matrix(keys, "keys", static_cast<std::size_t>(mem.config().key_dim));
  Matrix vv = value_rows(mem, values, kk.view.rows, "key");
  std::vector<std::string> p = as_payloads(payloads, "payloads", kk.view.rows);
  std::vector<SlotId> ids;
  {
    py::gil_scoped_release nogil;
    ids = upsert ? mem.upsert(ext, kk.view, vv.view, p, write_options(sync))
                 : mem.insert(ext, kk.view, vv.view, p, write_options(sync));
  }
  const auto n = ssize(ids.size());
  return id_array(std::move(ids), Shape{n});
}

py::dict scroll(MemoryInterface& mem, std::size_t limit, std::optional<std::string> cursor, py::handle filter,
                bool with_keys, bool with_values) {
  ScrollOptions o;
  o.limit = limit;
  o.cursor = cursor.value_or("");
  o.filter = as_filter(filter);
  o.with_keys = with_keys;
  o.with_values = with_values;
  ScrollPage page;
  {
    py::gil_scoped_release nogil;
    page = mem.scroll(o);
  }
  py::list slots;
  for (Slot& s : page.slots) {
    py::dict d("id"_a = s.id, "payload"_a = py::str(s.payload));
    if (s.external_id) d["external_id"] = external_id_object(*s.external_id);
    if (with_keys) d["key"] = float_array(std::move(s.key), Shape{mem.config().key_dim});
    if (with_values) d["value"] = float_array(std::move(s.value), Shape{mem.config().value_dim});
    slots.append(d);
  }
  return py::dict("slots"_a = slots,
                  "next_cursor"_a = page.next_cursor.empty() ? py::object(py::none()) : py::object(py::str(page.next_cursor)));
}

py::tuple write(MemoryInterface& mem, py::handle queries, py::handle values, std::optional<int> k,
                std::optional<bool> sync, py::handle filter) {
  Matrix q = query_rows(mem, queries);
  Matrix w = value_rows(mem, values, q.view.rows, "query");
  SearchOptions o;
  o.k = checked_k(k);
  o.filter = as_filter(filter);
  WriteResult r;
  {
    py::gil_scoped_release nogil;
    r = mem.write(q.view, w.view, o, write_options(sync));
  }
  const auto n = ssize(q.view.rows);
  return py::make_tuple(id_array(std::move(r.ids), Shape{n, ssize(r.k)}),
                        float_array(std::move(r.gates), Shape{n, ssize(r.k)}));
}

py::tuple get(MemoryInterface& mem, py::handle ids_obj) {
  std::vector<SlotId> ids = as_ids(ids_obj, "ids");
  const MemoryConfig cfg = mem.config();
  std::vector<Slot> slots;
  {
    py::gil_scoped_release nogil;
    slots = mem.get(ids);
  }
  const std::size_t dk = static_cast<std::size_t>(cfg.key_dim), dv = static_cast<std::size_t>(cfg.value_dim);
  std::vector<float> keys(slots.size() * dk), values(slots.size() * dv);
  std::vector<std::string> payloads(slots.size());
  for (std::size_t i = 0; i < slots.size(); ++i) {
    std::copy(slots[i].key.begin(), slots[i].key.end(), keys.begin() + static_cast<std::ptrdiff_t>(i * dk));
    std::copy(slots[i].value.begin(), slots[i].value.end(), values.begin() + static_cast<std::ptrdiff_t>(i * dv));
    payloads[i] = std::move(slots[i].payload);
  }
  const auto n = ssize(slots.size());
  return py::make_tuple(float_array(std::move(keys), Shape{n, ssize(dk)}),
                        float_array(std::move(values), Shape{n, ssize(dv)}), payloads_to_list(payloads));
}

void update(MemoryInterface& mem, py::handle ids_obj, py::handle keys, py::handle values, py::handle payloads,
            std::optional<bool> sync) {
  std::vector<SlotId> ids = as_ids(ids_obj, "ids");
  const MemoryConfig cfg = mem.config();
  std::vector<SlotPatch> patches(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) patches[i].id = ids[i];
  auto rows_of = [&](py::handle obj, const char* arg, std::size_t cols, auto field) {
    if (obj.is_none()) return;
    Matrix m = as_matrix(obj, arg, cols);
    if (m.view.rows != ids.size()) {
      throw py::value_error(std::string(arg) + ": expected " + std::to_string(ids.size()) +
                            " rows (one per id), received " + std::to_string(m.view.rows));
    }
    for (std::size_t i = 0; i < ids.size(); ++i) patches[i].*field = std::vector<float>(m.view.row(i), m.view.row(i) + cols);
  };
  rows_of(keys, "keys", static_cast<std::size_t>(cfg.key_dim), &SlotPatch::key);
  rows_of(values, "values", static_cast<std::size_t>(cfg.value_dim), &SlotPatch::value);
  if (!payloads.is_none()) {
    std::vector<std::string> p = as_payloads(payloads, "payloads", ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i) patches[i].payload = std::move(p[i]);
  }
  py::gil_scoped_release nogil;
  mem.update(patches, write_options(sync));
}

void erase(MemoryInterface& mem, py::handle ids_obj, std::optional<bool> sync) {
  std::vector<SlotId> ids = as_ids(ids_obj, "ids");
  py::gil_scoped_release nogil;
  mem.erase(ids, write_options(sync));
}

py::dict stats(MemoryInterface& mem) {
  MemoryStats s;
  {
    py::gil_scoped_release nogil;
    s = mem.stats();
  }
  return py::dict("slots"_a = s.slots, "indexed"_a = s.indexed, "tombstones"_a = s.tombstones,
                  "trained"_a = s.trained, "next_id"_a = s.next_id, "op_seq"_a = s.op_seq,
                  "checkpoint_op_seq"_a = s.checkpoint_op_seq, "index_bytes"_a = s.index_bytes,
                  "checkpoint_age_s"_a = s.checkpoint_age_s, "store_bytes"_a = s.store_bytes);
}

// The embedded memory's maintenance calls, each with the GIL released.
template <void (Memory::*Fn)()>
void maintenance(Memory& mem) {
  py::gil_scoped_release nogil;
  (mem.*Fn)();
}

}  // namespace

py::dict config_to_dict(const MemoryConfig& config) {
  return py::module_::import("json").attr("loads")(config_to_json(config));
}

MemoryConfig config_from_kwargs(int key_dim, int value_dim, const py::kwargs& options) {
  py::dict d;
  for (auto item : options) d[item.first] = item.second;
  d["key_dim"] = key_dim;
  d["value_dim"] = value_dim;
  const std::string json = py::str(py::module_::import("json").attr("dumps")(d));
  return config_from_json(json);
}

void bind_memory(py::module_& m) {
  py::class_<MemoryInterface, std::shared_ptr<MemoryInterface>>(m, "MemoryInterface", R"doc(
A memory: slots of (key, value, payload) with a vector index over the keys.

Embedded (engram.Memory) and remote (engram.RemoteMemory) memories share these methods.
Matrices are numpy float32 arrays, C-contiguous, one row per item (see the package docstring
for the lossless conversions accepted). Slot ids are int64; -1 marks a missing result where
fewer than k slots exist. Every call releases the GIL while it runs.)doc")
      .def_property_readonly("config", [](const MemoryInterface& mem) { return config_to_dict(mem.config()); },
                             "The memory's configuration as a dict (key_dim, value_dim, metric, index, ...).")
      .def_property_readonly("key_dim", [](const MemoryInterface& mem) { return mem.config().key_dim; },
                             "Floats per key and per query.")
      .def_property_readonly("value_dim", [](const MemoryInterface& mem) { return mem.config().value_dim; },
                             "Floats per value.")
      .def("insert", &insert, "keys"_a, "values"_a, "payloads"_a = py::none(), py::kw_only(), "sync"_a = py::none(),
           R"doc(Adds one slot per row, atomically, and returns their ids (int64, shape (n,)).

keys: (n, key_dim) float32; values: (n, value_dim) float32; payloads: None or n str/bytes.
sync: None uses the memory's default; True waits for the change to reach stable storage.)doc")
      .def("read", &read, "queries"_a, "k"_a = py::none(), "temperature"_a = py::none(), py::kw_only(),
           "ef"_a = py::none(), "nprobe"_a = py::none(), "filter"_a = py::none(),
           R"doc(Softmax attention over the top-k slots of each query: a = softmax(s/t), r = sum a_i v_i.

Returns (reads (n, value_dim) float32, ids (n, k) int64, weights (n, k) float32).
k None uses the memory's default_k (32 unless configured); temperature None its temperature.
ef (HNSW efSearch) and nprobe (IVF lists scanned) tune this call only; None: the memory's.
filter: only slots it accepts (a dict or JSON text: {"must": [{"key": "source", "match": {"value": "wiki"}}]}).)doc")
      .def("retrieve", &retrieve, "queries"_a, "k"_a = py::none(), "with_payloads"_a = false, py::kw_only(),
           "filter"_a = py::none(),
           R"doc(The top-k slots of each query, for attention computed by the caller.

Returns Retrieved(scores (n, k), ids (n, k), keys (n, k, key_dim), values (n, k, value_dim),
payloads: list of n*k str or None). Keys and values are zero where the id is -1.)doc")
      .def("write", &write, "queries"_a, "values"_a, "k"_a = py::none(), py::kw_only(), "sync"_a = py::none(),
           "filter"_a = py::none(),
           R"doc(Gated update of each query's top-k slots: g = sigmoid(s + b), v <- g*w + (1-g)*v.

values holds one w per query, shape (n, value_dim). Returns (ids (n, k), gates (n, k)).)doc")
      .def("search", &search, "queries"_a, "k"_a = py::none(), "with_payloads"_a = false, py::kw_only(),
           "ef"_a = py::none(), "nprobe"_a = py::none(), "filter"_a = py::none(),
           R"doc(The ids and scores of each query's top-k slots, best first, in FAISS's order:
(scores (n, k) float32, ids (n, k) int64[, payloads]). Scores are q.k for "ip", -|q-k|^2 for "l2".
ef (HNSW efSearch) and nprobe (IVF lists scanned) tune this call only; None: the memory's.
filter: only slots it accepts (a dict or JSON text, docs/server.md#filters).)doc")
      .def("get", &get, "ids"_a,
           R"doc(The slots with these ids: (keys (n, key_dim), values (n, value_dim), payloads list of str).
Raises NotFoundError naming the first unknown id.)doc")
      .def("update", &update, "ids"_a, "keys"_a = py::none(), "values"_a = py::none(), "payloads"_a = py::none(),
           py::kw_only(), "sync"_a = py::none(),
           R"doc(Replaces the given fields (rows in ids' order) of existing slots, atomically.
Unknown id: NotFoundError, nothing changed.)doc")
      .def("erase", &erase, "ids"_a, py::kw_only(), "sync"_a = py::none(),
           "Removes the slots, atomically. Unknown id: NotFoundError, nothing changed.")
      .def("erase_matching",
           [](MemoryInterface& mem, py::handle filter, std::optional<bool> sync) {
             const Filter f = as_filter(filter);
             py::gil_scoped_release nogil;
             return mem.erase_matching(f, write_options(sync));
           },
           "filter"_a, py::kw_only(), "sync"_a = py::none(),
           "Removes every slot the filter (a dict or JSON text) accepts, atomically; returns how many.")
      .def("upsert",
           [](MemoryInterface& mem, py::handle ext, py::handle keys, py::handle values, py::handle payloads,
              std::optional<bool> sync) { return keyed_insert(mem, ext, keys, values, payloads, sync, true); },
           "external_ids"_a, "keys"_a, "values"_a, "payloads"_a = py::none(), py::kw_only(), "sync"_a = py::none(),
           R"doc(Inserts or replaces by your own ids (int >= 0 or str, one per row), atomically: a row whose
id a slot has replaces that slot's key, value and payload (it keeps its slot id). Running it twice
leaves one copy. Returns the slot ids (int64, shape (n,)).)doc")
      .def("insert_with_ids",
           [](MemoryInterface& mem, py::handle ext, py::handle keys, py::handle values, py::handle payloads,
              std::optional<bool> sync) { return keyed_insert(mem, ext, keys, values, payloads, sync, false); },
           "external_ids"_a, "keys"_a, "values"_a, "payloads"_a = py::none(), py::kw_only(), "sync"_a = py::none(),
           "Inserts rows with your own ids; an id a slot already has raises AlreadyExistsError, nothing inserted.")
      .def("resolve",
           [](MemoryInterface& mem, py::handle ext) {
             std::vector<ExternalId> e = as_external_ids(ext, "external_ids");
             std::vector<SlotId> ids;
             {
               py::gil_scoped_release nogil;
               ids = mem.resolve(e);
             }
             const auto n = ssize(ids.size());
             return id_array(std::move(ids), Shape{n});
           },
           "external_ids"_a, "The slot ids of your own ids (NotFoundError naming the first unknown one).")
      .def("scroll", &scroll, "limit"_a = 100, "cursor"_a = py::none(), py::kw_only(), "filter"_a = py::none(),
           "with_keys"_a = false, "with_values"_a = false,
           R"doc(One page of slots in id order: {"slots": [{"id", "payload", "external_id"?, "key"?, "value"?}],
"next_cursor": str or None}. Pass next_cursor back for the next page; None ends the walk.)doc")
      .def("create_payload_index",
           [](MemoryInterface& mem, const std::string& field) {
             py::gil_scoped_release nogil;
             mem.create_payload_index(field);
           },
           "field"_a, "Indexes a payload field (\"a.b\" for a nested one) so filters on it read no payloads.")
      .def("drop_payload_index",
           [](MemoryInterface& mem, const std::string& field) {
             py::gil_scoped_release nogil;
             mem.drop_payload_index(field);
           },
           "field"_a, "Drops a payload field's index (NotFoundError when it has none).")
      .def("payload_indexes", [](MemoryInterface& mem) { return mem.payload_indexes(); }, "The indexed payload fields.")
      .def("stats", &stats, "Counters: slots, indexed, tombstones, trained, next_id, op_seq, checkpoint_op_seq.")
      .def("__len__", [](MemoryInterface& mem) { return stats(mem)["slots"].cast<std::size_t>(); },
           "The number of live slots.");

  py::class_<Memory, MemoryInterface, std::shared_ptr<Memory>>(m, "Memory", "A memory of an embedded database.")
      .def_property_readonly("name", &Memory::name, "The memory's name.")
      .def("compact", &maintenance<&Memory::compact>,
           "Rebuilds the index from the store, dropping tombstones (HNSW), then checkpoints it.")
      .def("train", &maintenance<&Memory::train>,
           "Trains a trained index type (IVF, PQ) on the stored keys; a no-op for Flat and HNSW.")
      .def("checkpoint", &maintenance<&Memory::checkpoint>, "Writes the index checkpoint now.")
      .def(
          "snapshot",
          [](Memory& mem, const std::string& dir) {
            py::gil_scoped_release nogil;
            mem.snapshot(dir);
          },
          "dir"_a,
          "Writes a database holding this memory alone into `dir` (which must not exist): "
          "db.snapshot(dir, memories=[name]).")
      .def(
          "list_ids",
          [](Memory& mem) {
            std::vector<SlotId> ids;
            {
              py::gil_scoped_release nogil;
              ids = mem.list_ids();
            }
            const auto n = ssize(ids.size());
            return id_array(std::move(ids), Shape{n});
          },
          "The ids of every slot, ascending (int64, shape (n,)).")
      .def("__repr__", [](Memory& mem) { return "<engram.Memory '" + mem.name() + "'>"; });
}

}  // namespace engram::python
