// arrays.h — numpy arrays in and out of the C++ API.
//
// In: a float32 C-contiguous array is viewed in place (no copy). float16 and 8/16-bit integer
// arrays are converted to float32, which represents every one of their values exactly. Anything
// else — float64 (rounding would change values), a non-contiguous or Fortran-ordered array (the
// copy would be silent and costly), a wrong width — raises TypeError/ValueError naming the
// argument, the expected shape and the one received. A 1-D array of the right width is one row.
//
// Out: results are numpy arrays that own the std::vector the C++ call returned (no copy). Slot
// ids are int64, with -1 where fewer than k slots exist (kNoSlot, as FAISS marks a miss).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <engram/types.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

namespace engram::python {

// A view of a caller's matrix, with the array that backs it kept alive.
struct Matrix {
  MatrixView view;
  pybind11::object owner;  // the caller's array, or the float32 copy of a converted one
};

// `obj` as rows of `cols` floats. `arg` is the Python argument's name, for messages.
Matrix as_matrix(pybind11::handle obj, const char* arg, std::size_t cols);

// Slot ids from an integer array or any iterable of ints (negative ids raise ValueError).
std::vector<SlotId> as_ids(pybind11::handle obj, const char* arg);

// Payloads: None (none), or a sequence of str (UTF-8) or bytes with `rows` entries.
std::vector<std::string> as_payloads(pybind11::handle obj, const char* arg, std::size_t rows);

// A payload as str; bytes that are not UTF-8 survive as surrogate escapes, so it round-trips.
pybind11::str payload_to_str(const std::string& s);
pybind11::list payloads_to_list(const std::vector<std::string>& payloads);

// Moves `v` into a numpy array of `shape` that owns it.
pybind11::array_t<float> float_array(std::vector<float>&& v, std::vector<pybind11::ssize_t> shape);
pybind11::array_t<std::int64_t> id_array(std::vector<SlotId>&& v, std::vector<pybind11::ssize_t> shape);

}  // namespace engram::python
