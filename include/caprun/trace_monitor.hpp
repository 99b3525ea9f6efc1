// The annotation run.caprun.trace-eperm=true on a container made by `create` (containerd's
// and podman's shims run create, then start): a tracer process detached from create, attached
// before create returns, that reports when the container exits. It is `caprun trace ID
// --report-on-exit --ready-fd 3` in its own session with its stdio on /dev/null (so a shim
// waiting for EOF on the container's pipes is never held up), its pid in the container's
// state directory; `delete` stops it (SIGTERM: it writes its summary and exits; SIGKILL after
// a bound). It ends by itself when the container's init exits or its state goes away.
#pragma once

#include <string>
#include <vector>

#include "caprun/runtime_context.hpp"

namespace caprun {

struct ContainerState;
class StateStore;

// The file in <root>/<id>/ that holds "pid starttime" of the container's tracer.
inline constexpr const char* kTraceMonitorFile = "trace-eperm.pid";

// The command line of the detached tracer for container `id`, global options first (the
// same state root, log file and format as `g`). `exe` is argv[0].
std::vector<std::string> traceMonitorArgs(const RuntimeContext& g, const std::string& exe,
                                          const std::string& id);

// Starts the detached tracer for `st` and waits (at most `readyTimeoutMs`) until it is
// attached. Never throws: when it cannot trace it logs why (the tracer's own message, with
// the static fallback) and the container is created all the same.
void startTraceMonitor(const RuntimeContext& g, const StateStore& store, const ContainerState& st,
                       int readyTimeoutMs = 15000);

// create's detached processes for the annotations: the tracer of run.caprun.trace-eperm
// (never fails create) and the recorder of run.caprun.record (throws Error when it cannot
// attach: a recording asked for is never silently skipped).
void startAnnotatedMonitors(const RuntimeContext& g, const StateStore& store,
                            const ContainerState& st);

// The file in <root>/<id>/ of the recorder of the annotation run.caprun.record.
inline constexpr const char* kRecordMonitorFile = "record.pid";

// The detached recorder's command line: `record --attach --output DIR --ready-fd 3 ID`.
std::vector<std::string> recordMonitorArgs(const RuntimeContext& g, const std::string& exe,
                                           const std::string& id, const std::string& dir);

// Starts the detached process `args` (argv[0] unused: it runs /proc/self/exe) for `st`, its
// pid in <root>/<id>/<pidFileName>, and waits until it says "ready". Returns why it is not
// attached ("" when it is); `what` names it in messages ("tracer", "recorder").
std::string startMonitor(const RuntimeContext& g, const StateStore& store, const ContainerState& st,
                         const std::vector<std::string>& args, const char* pidFileName,
                         const std::string& what, int readyTimeoutMs = 15000);

// Stops the container's tracer (or the process of `pidFileName`) if it still runs: SIGTERM,
// then SIGKILL after `graceMs`. Waits until it is gone. Nothing to do without the file or
// when its pid is another process.
void stopTraceMonitor(const std::string& containerDir, int graceMs = 5000,
                      const char* pidFileName = kTraceMonitorFile);

}  // namespace caprun
