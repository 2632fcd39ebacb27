// memory_bindings.h — engram.MemoryInterface (every operation, embedded or remote) and
// engram.Memory (the embedded memory's own maintenance calls).
#pragma once

#include <pybind11/pybind11.h>

#include <engram/config.h>

namespace engram::python {

void bind_memory(pybind11::module_& m);

// A config as a dict (its JSON form), and a config from keyword arguments (validated by the
// library, so unknown names and bad values raise InvalidArgumentError with its message).
pybind11::dict config_to_dict(const MemoryConfig& config);
MemoryConfig config_from_kwargs(int key_dim, int value_dim, const pybind11::kwargs& options);

}  // namespace engram::python
