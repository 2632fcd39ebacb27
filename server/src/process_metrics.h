// process_metrics.h — the process_* metrics every Prometheus client library exports (CPU time,
// resident memory, open and maximum file descriptors, start time), read from /proc/self, so
// dashboards made for any exporter work on Engram unchanged.
#pragma once

#include <string>

namespace engram::server {

// Appends the process_* families in Prometheus text format. On a system without /proc (not
// Linux) it appends nothing.
void render_process_metrics(std::string& out);

}  // namespace engram::server
