// Logging: text on stderr by default; with --log FILE --log-format json one JSON object a
// line ({"level","msg","time"}) appended to FILE, errors still on stderr. Warnings go to
// the log file when one is given, else stderr (the container's stdio is ours on success).
#pragma once

#include <string>

#include "caprun/runtime_context.hpp"

namespace caprun::log {

// Sets up the process-wide logger from the global options. Safe to call once.
void init(const RuntimeContext& opts);

void debug(const std::string& msg);
void info(const std::string& msg);
void warn(const std::string& msg);
void error(const std::string& msg);

// One JSON log line (no newline) as written to the --log file; exposed for tests.
std::string formatJsonLine(const std::string& level, const std::string& msg,
                           const std::string& rfc3339Time);

// Current time as RFC3339 with nanoseconds, UTC ("2026-11-22T20:31:02.123456789Z").
std::string nowRfc3339();

}  // namespace caprun::log
