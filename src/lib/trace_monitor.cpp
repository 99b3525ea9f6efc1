// The detached tracer of a created container (run.caprun.trace-eperm=true under create/start):
// spawned by create, stopped by delete. The tracing itself is `caprun trace --report-on-exit`.
#include "caprun/trace_monitor.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <sstream>

#include "caprun/error.hpp"
#include "caprun/log.hpp"
#include "caprun/state.hpp"
#include "caprun/sys/atomic_write.hpp"
#include "caprun/sys/read_file.hpp"
#include "caprun/sys/unique_fd.hpp"

namespace caprun {

namespace {

constexpr int kReadyFd = 3;  // the tracer's end of the readiness pipe

int pidfdOpen(pid_t pid) {
    return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

// `fd` moved to a number >= 10 (close-on-exec); throws when it cannot.
int aboveStdio(int fd) {
    if (fd < 0) throwErrno("preparing the tracer's descriptors");
    int high = ::fcntl(fd, F_DUPFD_CLOEXEC, 10);
    const int err = errno;
    ::close(fd);
    if (high < 0) throwSys("preparing the tracer's descriptors", err);
    return high;
}

// Whether the process behind `pidfd` exited within `ms`.
bool waitExit(int pidfd, int ms) {
    pollfd p{pidfd, POLLIN, 0};
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                              end - std::chrono::steady_clock::now())
                              .count();
        int r = ::poll(&p, 1, left > 0 ? static_cast<int>(left) : 0);
        if (r > 0) return true;
        if (r == 0) return false;
        if (errno != EINTR) return false;
    }
}

// What the tracer wrote on the readiness pipe until EOF or a newline, within `ms`; nullopt on
// timeout.
std::optional<std::string> readReady(int fd, int ms) {
    std::string got;
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                              end - std::chrono::steady_clock::now())
                              .count();
        if (left <= 0) return std::nullopt;
        pollfd p{fd, POLLIN, 0};
        int r = ::poll(&p, 1, static_cast<int>(left));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return std::nullopt;
        char buf[4096];
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return got;  // EOF: it exited (or failed to start) after saying why
        got.append(buf, static_cast<std::size_t>(n));
        if (got == "ready\n") return got;
    }
}

// The caller's stderr may be a pipe a shim reads until EOF: the tracer must not hold it. A
// terminal or a file (plain `caprun create` without --log) is where its report goes instead.
bool stderrIsTerminalOrFile() {
    struct stat st {};
    return ::fstat(2, &st) == 0 && (S_ISCHR(st.st_mode) || S_ISREG(st.st_mode));
}

}  // namespace

std::vector<std::string> traceMonitorArgs(const RuntimeContext& g, const std::string& exe,
                                          const std::string& id) {
    std::vector<std::string> a{exe, "--root", g.root};
    if (!g.logFile.empty()) {
        a.insert(a.end(), {"--log", g.logFile, "--log-format",
                           g.logFormat == LogFormat::Json ? "json" : "text"});
    }
    if (g.debug) a.emplace_back("--debug");
    if (g.capPolicy) a.insert(a.end(), {"--cap-policy", *g.capPolicy});
    a.insert(a.end(), {"trace", id, "--report-on-exit", "--ready-fd", std::to_string(kReadyFd)});
    return a;
}

void startTraceMonitor(const RuntimeContext& g, const StateStore& store, const ContainerState& st,
                       int readyTimeoutMs) {
    const std::string pidFile = store.containerDir(st.id) + "/" + kTraceMonitorFile;
    try {
        // Everything the child needs is made before fork: it only calls async-signal-safe
        // functions until execve.
        const std::vector<std::string> args = traceMonitorArgs(g, "caprun", st.id);
        std::vector<char*> argv;
        for (const auto& s : args) argv.push_back(const_cast<char*>(s.c_str()));
        argv.push_back(nullptr);
        int p[2];
        if (::pipe2(p, O_CLOEXEC) != 0) throwErrno("creating the tracer's readiness pipe");
        UniqueFd readEnd(p[0]);
        // Both above the fds the child rearranges (0-3), whatever the caller left open.
        UniqueFd w(aboveStdio(p[1]));
        UniqueFd devNull(aboveStdio(::open("/dev/null", O_RDWR | O_CLOEXEC)));
        const int devNullFd = devNull.fd;
        const bool keepStderr = g.logFile.empty() && stderrIsTerminalOrFile();
        pid_t pid = ::fork();
        if (pid < 0) throwErrno("forking the tracer");
        if (pid == 0) {
            sigset_t none;
            sigemptyset(&none);
            sigprocmask(SIG_SETMASK, &none, nullptr);
            ::setsid();
            ::dup2(devNullFd, 0);
            ::dup2(devNullFd, 1);
            if (!keepStderr) ::dup2(devNullFd, 2);
            ::dup2(w.fd, kReadyFd);  // w.fd >= 10: dup2 clears close-on-exec on the copy
            // Nothing else of create's goes along: not the container's lock, not the
            // caller's pipes.
            ::syscall(SYS_close_range, kReadyFd + 1, ~0U, 0);
            ::execv("/proc/self/exe", argv.data());
            _exit(127);
        }
        w.reset();
        // Recorded before the wait, so that a delete after a killed create still stops it.
        const auto start = processStartTime(pid);
        sys::writeFileAtomically(pidFile,
                                 std::to_string(pid) + " " + std::to_string(start.value_or(0)),
                                 0600, "trace-eperm: recording the tracer's pid");
        auto said = readReady(readEnd.fd, readyTimeoutMs);
        if (said && *said == "ready\n") {
            log::debug("trace-eperm: tracer " + std::to_string(pid) + " attached to container " +
                       st.id);
            return;  // it outlives create; delete stops it
        }
        if (!said) {
            ::kill(pid, SIGKILL);
            log::warn("trace-eperm: the tracer did not attach within " +
                      std::to_string(readyTimeoutMs / 1000) + " s; container " + st.id +
                      " runs untraced");
        } else {
            std::string msg = *said;
            while (!msg.empty() && msg.back() == '\n') msg.pop_back();
            log::warn(msg.empty() ? "trace-eperm: the tracer exited before attaching" : msg);
        }
        while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
        }
        ::unlink(pidFile.c_str());
    } catch (const std::exception& e) {
        ::unlink(pidFile.c_str());
        log::warn(std::string("trace-eperm: ") + e.what() + "; container " + st.id +
                  " runs untraced");
    }
}

void stopTraceMonitor(const std::string& containerDir, int graceMs) {
    const std::string file = containerDir + "/" + kTraceMonitorFile;
    std::string text;
    if (sys::readFileInto(file, text) != 0) return;
    std::istringstream in(text);
    long pid = 0;
    std::uint64_t start = 0;
    if (!(in >> pid >> start) || pid <= 0) return;
    UniqueFd pidfd(pidfdOpen(static_cast<pid_t>(pid)));
    if (pidfd.fd < 0) return;  // gone already
    // Checked after the pidfd pins the process: a reused pid is someone else's, left alone.
    if (processStartTime(static_cast<pid_t>(pid)) != start) return;
    // SIGTERM: it drains its ring buffer and writes the summary, then exits.
    if (::syscall(SYS_pidfd_send_signal, pidfd.fd, SIGTERM, nullptr, 0) != 0) return;
    if (waitExit(pidfd.fd, graceMs)) return;
    log::warn("trace-eperm: the tracer " + std::to_string(pid) +
              " did not stop on SIGTERM; killing it");
    ::syscall(SYS_pidfd_send_signal, pidfd.fd, SIGKILL, nullptr, 0);
    waitExit(pidfd.fd, 2000);
}

}  // namespace caprun
