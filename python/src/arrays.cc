// arrays.cc — see arrays.h for the conversion rules.
#include "arrays.h"

#include <sstream>

namespace py = pybind11;

namespace engram::python {
namespace {

std::string shape_of(const py::array& a) {
  std::ostringstream s;
  s << '(';
  for (py::ssize_t i = 0; i < a.ndim(); ++i) s << (i ? ", " : "") << a.shape(i) << (a.ndim() == 1 ? "," : "");
  s << ')';
  return s.str();
}

// Integer and half-precision dtypes whose every value float32 holds exactly.
bool converts_losslessly(const py::dtype& dt) {
  const char kind = dt.kind();
  if (kind == 'f') return dt.itemsize() <= 4;  // float16, and float32 in the other byte order
  if (kind == 'i' || kind == 'u') return dt.itemsize() <= 2;
  return false;
}

template <class T>
py::array_t<T> owning_array(std::vector<T>* heap, std::vector<py::ssize_t> shape) {
  if (heap->empty()) {  // an empty vector may have no buffer: give numpy its own
    delete heap;
    return py::array_t<T>(shape);
  }
  py::capsule owner(heap, [](void* p) { delete static_cast<std::vector<T>*>(p); });
  return py::array_t<T>(shape, heap->data(), owner);
}

}  // namespace

Matrix as_matrix(py::handle obj, const char* arg, std::size_t cols) {
  const std::string expected = "(n, " + std::to_string(cols) + ")";
  if (!py::isinstance<py::array>(obj)) {
    throw py::type_error(std::string(arg) + ": expected a numpy.ndarray of float32 with shape " + expected +
                         ", received " + std::string(py::str(py::type::of(obj).attr("__name__"))));
  }
  py::array a = py::reinterpret_borrow<py::array>(obj);
  if (a.ndim() != 1 && a.ndim() != 2) {
    throw py::value_error(std::string(arg) + ": expected shape " + expected + ", received " + shape_of(a));
  }
  const std::size_t rows = a.ndim() == 2 ? static_cast<std::size_t>(a.shape(0)) : 1;
  const std::size_t width = static_cast<std::size_t>(a.shape(a.ndim() - 1));
  if (width != cols) {
    throw py::value_error(std::string(arg) + ": expected shape " + expected + ", received " + shape_of(a));
  }
  if (!(a.flags() & py::array::c_style)) {
    throw py::value_error(std::string(arg) + ": expected a C-contiguous array of shape " + expected +
                          ", received a non-contiguous one of shape " + shape_of(a) +
                          " (numpy.ascontiguousarray makes one)");
  }
  py::dtype dt = a.dtype();
  const bool native_float32 = dt.kind() == 'f' && dt.itemsize() == 4 && dt.attr("isnative").cast<bool>();
  if (!native_float32) {
    if (!converts_losslessly(dt)) {
      throw py::type_error(std::string(arg) + ": expected float32 (or a dtype float32 holds exactly: float16, "
                           "int8/16, uint8/16), received " + std::string(py::str(dt)) +
                           "; convert with .astype(numpy.float32) if rounding is acceptable");
    }
    a = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(a);
    if (!a) throw py::error_already_set();
  }
  Matrix m;
  m.view = MatrixView(static_cast<const float*>(a.data()), rows, cols);
  m.owner = std::move(a);
  return m;
}

std::vector<SlotId> as_ids(py::handle obj, const char* arg) {
  std::vector<SlotId> ids;
  py::object items = py::reinterpret_borrow<py::object>(obj);  // owns the list made from an array
  if (py::isinstance<py::array>(obj)) {
    py::array a = py::reinterpret_borrow<py::array>(obj);
    if (a.dtype().kind() != 'i' && a.dtype().kind() != 'u') {
      throw py::type_error(std::string(arg) + ": expected integer slot ids, received dtype " +
                           std::string(py::str(a.dtype())));
    }
    if (a.ndim() > 1) throw py::value_error(std::string(arg) + ": expected a 1-D array of ids, received shape " + shape_of(a));
    items = a.attr("tolist")();
  } else if (py::isinstance<py::int_>(obj)) {
    throw py::type_error(std::string(arg) + ": expected a sequence of slot ids, received a single int");
  }
  for (py::handle item : items) {
    // Anything with __index__ (int, numpy integer scalars), never a float.
    if (!PyIndex_Check(item.ptr())) {
      throw py::type_error(std::string(arg) + ": expected int slot ids, received " +
                           std::string(py::str(py::type::of(item).attr("__name__"))));
    }
    py::int_ value = py::reinterpret_steal<py::int_>(PyNumber_Index(item.ptr()));
    if (!value) throw py::error_already_set();
    if (value < py::int_(0)) throw py::value_error(std::string(arg) + ": slot ids are >= 0, received " + std::string(py::str(value)));
    ids.push_back(value.cast<SlotId>());
  }
  return ids;
}

std::vector<std::string> as_payloads(py::handle obj, const char* arg, std::size_t rows) {
  std::vector<std::string> out;
  if (obj.is_none()) return out;
  if (py::isinstance<py::str>(obj) || py::isinstance<py::bytes>(obj)) {
    throw py::type_error(std::string(arg) + ": expected a sequence of one payload per row, received a single string");
  }
  for (py::handle item : obj) {
    if (py::isinstance<py::bytes>(item)) {
      out.push_back(item.cast<std::string>());
    } else if (py::isinstance<py::str>(item)) {
      py::bytes b = item.attr("encode")("utf-8", "surrogateescape");
      out.push_back(b.cast<std::string>());
    } else {
      throw py::type_error(std::string(arg) + ": expected str or bytes payloads, received " +
                           std::string(py::str(py::type::of(item).attr("__name__"))));
    }
  }
  if (out.size() != rows) {
    throw py::value_error(std::string(arg) + ": expected " + std::to_string(rows) + " payloads (one per row), received " +
                          std::to_string(out.size()));
  }
  return out;
}

py::str payload_to_str(const std::string& s) {
  PyObject* o = PyUnicode_DecodeUTF8(s.data(), static_cast<py::ssize_t>(s.size()), "surrogateescape");
  if (o == nullptr) throw py::error_already_set();
  return py::reinterpret_steal<py::str>(o);
}

py::list payloads_to_list(const std::vector<std::string>& payloads) {
  py::list out(payloads.size());
  for (std::size_t i = 0; i < payloads.size(); ++i) out[i] = payload_to_str(payloads[i]);
  return out;
}

py::array_t<float> float_array(std::vector<float>&& v, std::vector<py::ssize_t> shape) {
  return owning_array(new std::vector<float>(std::move(v)), std::move(shape));
}

py::array_t<std::int64_t> id_array(std::vector<SlotId>&& v, std::vector<py::ssize_t> shape) {
  // kNoSlot (2^64 - 1) reads as -1 in two's complement: FAISS's miss marker, for free.
  static_assert(sizeof(SlotId) == sizeof(std::int64_t));
  auto* heap = new std::vector<SlotId>(std::move(v));
  if (heap->empty()) {
    delete heap;
    return py::array_t<std::int64_t>(shape);
  }
  py::capsule owner(heap, [](void* p) { delete static_cast<std::vector<SlotId>*>(p); });
  return py::array_t<std::int64_t>(shape, reinterpret_cast<const std::int64_t*>(heap->data()), owner);
}

}  // namespace engram::python
