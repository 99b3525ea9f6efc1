// The annotation run.caprun.report: where what caprun knows about a container goes. `log`
// (the default) keeps it in caprun's log, which a shim reads only when the runtime fails;
// `container` also writes it to the container's own stderr stream, one line each prefixed
// "caprun:", so that `kubectl logs` / `crictl logs` show it: at create the capabilities
// dropped under the lenient policy (and limits clamped).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "caprun/cap_plan.hpp"

namespace caprun {

inline constexpr const char* kReportAnnotation = "run.caprun.report";

enum class ReportTarget { Log, Container };

// The annotation's value (Log without it). An invalid value, or `container` for a process
// with a terminal (whose output is no stream caprun is given), is an error naming the
// annotation and the value.
ReportTarget reportTarget(const std::map<std::string, std::string>& annotations, bool terminal);

// The lines create writes to the container's stderr for `plan` (empty when nothing was
// dropped or clamped): "caprun: dropped CAP_X (sets): why (cap policy lenient, from ...)".
std::vector<std::string> containerReportLines(const CapabilityPlan& plan);

// Writes `text` to `fd` whole (retrying short writes and EINTR); false when it could not.
bool writeReport(int fd, const std::string& text);

}  // namespace caprun
