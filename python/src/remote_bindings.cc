// remote_bindings.cc — an Engram server through the C++ client (engram/remote_memory.h): the same
// wire code the C++ users run, so Python gets its connection pool, retries and error mapping.
#include "remote_bindings.h"

#include <chrono>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

#include <engram/remote_memory.h>
#include <pybind11/stl.h>

#include "memory_bindings.h"

namespace py = pybind11;
using namespace pybind11::literals;

namespace engram::python {
namespace {

// "http://host:port", "host:port" or "http://host" (port 8420). HTTPS is not spoken by the client.
RemoteOptions parse_url(const std::string& url) {
  std::string rest = url;
  const std::string scheme = "http://";
  if (rest.rfind(scheme, 0) == 0) rest = rest.substr(scheme.size());
  else if (rest.find("://") != std::string::npos) {
    throw py::value_error("url: expected http://host:port, received '" + url + "' (the client speaks plain HTTP)");
  }
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  RemoteOptions o;
  const auto colon = rest.rfind(':');
  if (colon == std::string::npos) {
    o.host = rest;
  } else {
    o.host = rest.substr(0, colon);
    const std::string port = rest.substr(colon + 1);
    char* end = nullptr;
    const long p = std::strtol(port.c_str(), &end, 10);
    if (port.empty() || *end != '\0' || p < 1 || p > 65535) {
      throw py::value_error("url: expected a port 1..65535, received '" + port + "' in '" + url + "'");
    }
    o.port = static_cast<std::uint16_t>(p);
  }
  if (o.host.empty()) throw py::value_error("url: no host in '" + url + "'");
  return o;
}

template <class Fn>
auto nogil(Fn&& fn) {
  py::gil_scoped_release release;
  return fn();
}

}  // namespace

void bind_remote(py::module_& m) {
  py::class_<RemoteMemory, MemoryInterface, std::shared_ptr<RemoteMemory>>(
      m, "RemoteMemory", "A memory on an Engram server: the MemoryInterface methods over HTTP.")
      .def_property_readonly("name", &RemoteMemory::name, "The memory's name.")
      .def(
          "snapshot",
          [](RemoteMemory& mem, const std::string& dir) { return nogil([&] { return mem.snapshot(dir); }); },
          "dir"_a = "",
          "Snapshots this memory alone into `dir` inside the server's snapshot root (a name; empty: a new "
          "name from the time); returns the absolute path written.")
      .def("__repr__", [](const RemoteMemory& mem) { return "<engram.RemoteMemory '" + mem.name() + "'>"; });

  py::class_<RemoteDatabase>(m, "RemoteDatabase", R"doc(
The memories of an Engram server (`engram serve`). Get one with engram.connect(url, token).
Errors are the server's: NotFoundError, InvalidArgumentError, ...; a server that cannot be
reached or times out raises UnavailableError.)doc")
      .def(py::init([](const std::string& url, std::optional<std::string> token, double timeout_s) {
             RemoteOptions o = parse_url(url);
             if (token) o.token = *token;
             if (!(timeout_s > 0)) throw py::value_error("timeout: expected seconds > 0");
             o.request_timeout = std::chrono::milliseconds(static_cast<long long>(timeout_s * 1000));
             return std::make_unique<RemoteDatabase>(o);
           }),
           "url"_a, "token"_a = py::none(), "timeout"_a = 60.0,
           "A client for the server at `url` (http://host:port); `token` is sent as a Bearer token.")
      .def(
          "create_memory",
          [](RemoteDatabase& db, const std::string& name, int key_dim, int value_dim, const py::kwargs& options) {
            MemoryConfig config = config_from_kwargs(key_dim, value_dim, options);
            return nogil([&] { return db.create_memory(name, config); });
          },
          "name"_a, py::kw_only(), "key_dim"_a, "value_dim"_a,
          "Creates the memory `name` on the server; options as Database.create_memory.")
      .def(
          "memory", [](RemoteDatabase& db, const std::string& name) { return nogil([&] { return db.memory(name); }); },
          "name"_a, "The memory called `name`. Raises NotFoundError.")
      .def(
          "has_memory",
          [](RemoteDatabase& db, const std::string& name) { return nogil([&] { return db.has_memory(name); }); },
          "name"_a, "Whether the server has a memory called `name`.")
      .def(
          "list_memories", [](RemoteDatabase& db) { return nogil([&] { return db.list_memories(); }); },
          "The names of the server's memories.")
      .def(
          "describe",
          [](RemoteDatabase& db, const std::string& name) {
            return config_to_dict(nogil([&] { return db.describe(name); }));
          },
          "name"_a, "The configuration of memory `name` as a dict.")
      .def(
          "drop_memory",
          [](RemoteDatabase& db, const std::string& name) { nogil([&] { db.drop_memory(name); }); },
          "name"_a, "Deletes the memory and all its slots on the server.")
      .def(
          "snapshot",
          [](RemoteDatabase& db, const std::string& dir) { return nogil([&] { return db.snapshot(dir); }); },
          "dir"_a = "",
          "Snapshots the server's database into `dir` inside the server's snapshot root (a name; empty: a "
          "new name from the time); returns the absolute path written.")
      .def(
          "healthy", [](RemoteDatabase& db) { return nogil([&] { return db.healthy(); }); },
          "Whether the server answers its health check.")
      .def("close", [](RemoteDatabase&) {}, "Nothing to release beyond pooled connections; kept for symmetry.")
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](RemoteDatabase&, py::args) {});
}

}  // namespace engram::python
