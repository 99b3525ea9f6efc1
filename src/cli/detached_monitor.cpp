#include "detached_monitor.hpp"

#include <unistd.h>

namespace caprun::cli {

volatile std::sig_atomic_t gMonitorStop = 0;

namespace {
void onStop(int) {
    gMonitorStop = 1;
}
}  // namespace

void stopOnSignals() {
    std::signal(SIGINT, onStop);
    std::signal(SIGTERM, onStop);
}

void tellStarter(int& fd, const std::string& text) {
    if (fd < 0) return;
    const std::string line = text + "\n";
    [[maybe_unused]] ssize_t n = ::write(fd, line.data(), line.size());
    ::close(fd);
    fd = -1;
}

}  // namespace caprun::cli
