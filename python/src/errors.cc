// errors.cc — the exception hierarchy. Each class also derives from the builtin a Python caller
// would reach for (ValueError for a bad argument, LookupError for an unknown name or id, OSError
// for the file system), so `except ValueError` catches Engram's argument checks as well as ours.
#include "errors.h"

#include <array>
#include <cstddef>

#include <engram/error.h>

namespace py = pybind11;

namespace engram::python {
namespace {

struct ErrorClass {
  ErrorCode code;
  const char* name;
  PyObject* builtin;  // a second base, or nullptr
  const char* doc;
};

// One entry per ErrorCode, in enum order (checked in bind_errors).
constexpr std::size_t kCodes = 10;
PyObject* g_classes[kCodes] = {};

}  // namespace

void bind_errors(py::module_& m) {
  const std::array<ErrorClass, kCodes> classes = {{
      {ErrorCode::kInvalidArgument, "InvalidArgumentError", PyExc_ValueError,
       "The caller's input is wrong: a dimension, a NaN or Inf, k, a bad config."},
      {ErrorCode::kNotFound, "NotFoundError", PyExc_LookupError,
       "An unknown memory or slot id, or a memory whose database was closed or that was dropped."},
      {ErrorCode::kAlreadyExists, "AlreadyExistsError", nullptr, "Creating a memory whose name is taken."},
      {ErrorCode::kFailedPrecondition, "FailedPreconditionError", nullptr,
       "The operation needs a state the object is not in (an untrained index, a closed database)."},
      {ErrorCode::kBusy, "BusyError", nullptr, "The database folder is open in another process."},
      {ErrorCode::kCorruption, "CorruptionError", nullptr, "On-disk data failed a check."},
      {ErrorCode::kIOError, "IOError", PyExc_OSError, "The file system or RocksDB failed."},
      {ErrorCode::kUnavailable, "UnavailableError", PyExc_ConnectionError,
       "A remote server cannot be reached, timed out, or is shutting down."},
      {ErrorCode::kNoSpace, "NoSpaceError", nullptr, "The disk is full: writes are refused, reads go on."},
      {ErrorCode::kInternal, "InternalError", nullptr, "A broken invariant: a bug in Engram."},
  }};
  PyObject* base = PyErr_NewExceptionWithDoc("engram.Error",
                                             "Base class of every error Engram raises; `code` names the kind.",
                                             PyExc_Exception, nullptr);
  if (base == nullptr) throw py::error_already_set();
  m.add_object("Error", py::handle(base));
  for (std::size_t i = 0; i < classes.size(); ++i) {
    const ErrorClass& c = classes[i];
    if (static_cast<std::size_t>(c.code) != i) throw std::logic_error("error table out of enum order");
    py::tuple bases = c.builtin ? py::make_tuple(py::handle(base), py::handle(c.builtin))
                                : py::make_tuple(py::handle(base));
    std::string qualified = std::string("engram.") + c.name;
    PyObject* cls = PyErr_NewExceptionWithDoc(qualified.c_str(), c.doc, bases.ptr(), nullptr);
    if (cls == nullptr) throw py::error_already_set();
    py::handle(cls).attr("code") = error_code_name(c.code);
    m.add_object(c.name, py::handle(cls));
    g_classes[i] = cls;  // owned by the module for the life of the process
  }
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const Error& e) {
      PyErr_SetString(g_classes[static_cast<std::size_t>(e.code())], e.what());
    }
  });
}

void throw_closed(const char* what) {
  PyErr_SetString(g_classes[static_cast<std::size_t>(ErrorCode::kFailedPrecondition)],
                  (std::string(what) + ": the database is closed").c_str());
  throw py::error_already_set();
}

}  // namespace engram::python
