// What the detached tracer (trace --attach) and recorder (record --attach) that create
// starts have in common: the stop request of delete's SIGTERM, and the one line that tells
// create they are attached, or why they cannot be.
#pragma once

#include <csignal>
#include <string>

namespace caprun::cli {

// Set by SIGINT/SIGTERM once stopOnSignals() installed the handler.
extern volatile std::sig_atomic_t gMonitorStop;
void stopOnSignals();

// Writes `text` and a newline to fd (create's end of the pipe), then closes it; a failed
// write changes nothing, create then reads end-of-file. No-op when fd < 0.
void tellStarter(int& fd, const std::string& text);

}  // namespace caprun::cli
