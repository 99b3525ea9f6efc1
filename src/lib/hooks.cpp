#include "caprun/hooks.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "caprun/error.hpp"
#include "caprun/log.hpp"

namespace caprun {

namespace {

constexpr std::size_t kMaxOutput = 4096;

int pidfdOpen(pid_t pid) {
    return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

// Kills the hook's whole process group (the hook leads it, see runHook) and waits until the
// kernel has no member of it left, so that nothing the hook forked outlives it holding our
// descriptors. Called while the leader is not yet reaped, so its pid (the group's id) cannot
// name another group meanwhile. Orphans are reaped by init; give up after ~10 s.
void killHookGroup(pid_t leader) {
    ::kill(-leader, SIGKILL);
}

void waitHookGroupGone(pid_t leader) {
    for (int i = 0; i < 1000; ++i) {
        if (::kill(-leader, 0) != 0 && errno == ESRCH) return;
        ::kill(-leader, SIGKILL);
        ::usleep(10000);
    }
    log::warn("hook process group " + std::to_string(leader) +
              " still has members 10 s after SIGKILL");
}

std::string describe(HookKind kind, const Hook& hook, const HookResult& r) {
    std::string what = hookKindName(kind) + " hook " + hook.path;
    if (r.timedOut)
        what += " did not finish within its timeout of " +
                std::to_string(hook.timeout.value_or(0)) + "s and was killed";
    else if (r.exited)
        what += " failed with exit status " + std::to_string(r.status);
    else
        what += " was killed by signal " + std::to_string(r.status) + " (" + ::strsignal(r.status) +
                ")";
    std::string out = r.output;
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    if (!out.empty()) what += ": " + out;
    return what;
}

}  // namespace

std::string hookKindName(HookKind k) {
    switch (k) {
        case HookKind::Prestart:
            return "prestart";
        case HookKind::CreateRuntime:
            return "createRuntime";
        case HookKind::CreateContainer:
            return "createContainer";
        case HookKind::StartContainer:
            return "startContainer";
        case HookKind::Poststart:
            return "poststart";
        case HookKind::Poststop:
            return "poststop";
    }
    return "unknown";
}

HookResult runHook(const Hook& hook, std::string_view stateJson) {
    if (hook.path.empty() || hook.path[0] != '/')
        throw Error("hook path \"" + hook.path + "\" must be absolute");
    if (::access(hook.path.c_str(), X_OK) != 0) throwErrno("running hook " + hook.path);

    // Everything the child needs is prepared before fork: it only dup2s and execs.
    std::vector<std::string> args =
        hook.args.empty() ? std::vector<std::string>{hook.path} : hook.args;
    std::vector<char*> argv, envp;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    // No env in the config: the runtime's own environment, as runc and crun give it.
    std::vector<std::string> env;
    if (hook.env)
        env = *hook.env;
    else
        for (char** e = environ; e && *e; ++e) env.emplace_back(*e);
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);

    int in[2], out[2];
    if (::pipe2(in, O_CLOEXEC) != 0) throwErrno("creating the stdin pipe of hook " + hook.path);
    if (::pipe2(out, O_CLOEXEC) != 0) {
        int err = errno;
        ::close(in[0]);
        ::close(in[1]);
        throwSys("creating the output pipe of hook " + hook.path, err);
    }
    pid_t pid = ::fork();
    if (pid < 0) {
        int err = errno;
        for (int fd : {in[0], in[1], out[0], out[1]}) ::close(fd);
        throwSys("forking for hook " + hook.path, err);
    }
    if (pid == 0) {
        // dup2 clears O_CLOEXEC on the new descriptors.
        if (::dup2(in[0], 0) < 0 || ::dup2(out[1], 1) < 0 || ::dup2(out[1], 2) < 0) ::_exit(127);
        // Its own process group: on timeout or failure everything it forked is killed with
        // it (runc kills only the hook's own process).
        ::setpgid(0, 0);
        sigset_t none;
        ::sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::execve(hook.path.c_str(), argv.data(), envp.data());
        const char msg[] = "cannot execute the hook\n";
        [[maybe_unused]] auto n = ::write(2, msg, sizeof msg - 1);
        ::_exit(127);
    }
    // Also here, so the group exists whichever of parent and child runs first.
    ::setpgid(pid, pid);
    ::close(in[0]);
    ::close(out[1]);
    int writeFd = in[1], readFd = out[0];
    ::fcntl(writeFd, F_SETFL, O_NONBLOCK);
    int pidFd = pidfdOpen(pid);

    // A hook that exits without reading stdin must not kill us with SIGPIPE: block it in
    // this thread and consume a pending one afterwards.
    sigset_t pipeSet, oldMask;
    ::sigemptyset(&pipeSet);
    ::sigaddset(&pipeSet, SIGPIPE);
    ::pthread_sigmask(SIG_BLOCK, &pipeSet, &oldMask);

    HookResult result;
    std::size_t written = 0;
    using Clock = std::chrono::steady_clock;
    auto deadline = hook.timeout ? Clock::now() + std::chrono::seconds(*hook.timeout)
                                 : Clock::time_point::max();
    bool outputOpen = true, exited = false, timing = hook.timeout.has_value();
    if (stateJson.empty()) {
        ::close(writeFd);
        writeFd = -1;
    }
    while (outputOpen || !exited) {
        pollfd fds[3];
        int n = 0;
        int wIdx = -1, rIdx = -1, pIdx = -1;
        if (writeFd >= 0) fds[wIdx = n++] = {writeFd, POLLOUT, 0};
        if (outputOpen) fds[rIdx = n++] = {readFd, POLLIN, 0};
        if (!exited && pidFd >= 0) fds[pIdx = n++] = {pidFd, POLLIN, 0};
        int timeoutMs = -1;
        if (timing) {
            auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
            timeoutMs = left.count() < 0 ? 0 : static_cast<int>(left.count());
        } else if (pidFd < 0 && !exited) {
            timeoutMs = 50;  // no pidfd (old kernel): poll waitpid
        }
        int rc = ::poll(fds, static_cast<nfds_t>(n), timeoutMs);
        if (rc < 0 && errno != EINTR) break;
        if (timing && Clock::now() >= deadline && !exited) {
            killHookGroup(pid);
            result.timedOut = true;
            timing = false;
        }
        if (wIdx >= 0 && fds[wIdx].revents != 0) {
            ssize_t w = ::write(writeFd, stateJson.data() + written, stateJson.size() - written);
            if (w > 0) written += static_cast<std::size_t>(w);
            if (w < 0 && errno != EAGAIN && errno != EINTR) written = stateJson.size();
            if (written >= stateJson.size()) {
                ::close(writeFd);
                writeFd = -1;
            }
        }
        if (rIdx >= 0 && fds[rIdx].revents != 0) {
            char buf[1024];
            ssize_t r = ::read(readFd, buf, sizeof buf);
            if (r > 0) {
                if (result.output.size() < kMaxOutput)
                    result.output.append(buf,
                                         std::min<std::size_t>(static_cast<std::size_t>(r),
                                                               kMaxOutput - result.output.size()));
            } else if (r == 0 || errno != EINTR) {
                outputOpen = false;
            }
        }
        if (!exited && (pidFd < 0 || (pIdx >= 0 && fds[pIdx].revents != 0))) {
            // Look at the status without reaping: a failed hook's group is killed while the
            // leader's pid still names it.
            siginfo_t info{};
            int w = ::waitid(P_PID, static_cast<id_t>(pid), &info,
                             WEXITED | WNOWAIT | (pidFd < 0 ? WNOHANG : 0));
            if (w == 0 && info.si_pid == pid) {
                exited = true;
                result.exited = info.si_code == CLD_EXITED;
                result.status = info.si_status;
                bool failed = result.timedOut || !result.exited || result.status != 0;
                if (failed) killHookGroup(pid);
                int status = 0;
                ::waitpid(pid, &status, 0);
                if (failed) waitHookGroupGone(pid);
                // Grandchildren may keep the output pipe open; do not wait for them.
                if (writeFd >= 0) {
                    ::close(writeFd);
                    writeFd = -1;
                }
                if (outputOpen) {
                    ::fcntl(readFd, F_SETFL, O_NONBLOCK);
                    char buf[1024];
                    ssize_t r;
                    while ((r = ::read(readFd, buf, sizeof buf)) > 0)
                        if (result.output.size() < kMaxOutput)
                            result.output.append(
                                buf, std::min<std::size_t>(static_cast<std::size_t>(r),
                                                           kMaxOutput - result.output.size()));
                    outputOpen = false;
                }
            }
        }
    }
    if (writeFd >= 0) ::close(writeFd);
    ::close(readFd);
    if (pidFd >= 0) ::close(pidFd);
    if (!exited) {
        killHookGroup(pid);
        int status;
        ::waitpid(pid, &status, 0);
        waitHookGroupGone(pid);
        result.exited = false;
        result.status = SIGKILL;
    }
    timespec zero{0, 0};
    while (::sigtimedwait(&pipeSet, nullptr, &zero) == SIGPIPE) {
    }
    ::pthread_sigmask(SIG_SETMASK, &oldMask, nullptr);
    return result;
}

void runHooks(HookKind kind, const std::vector<Hook>& hooks, std::string_view stateJson) {
    for (const auto& h : hooks) {
        HookResult r;
        try {
            r = runHook(h, stateJson);
        } catch (const Error& e) {
            throw Error(hookKindName(kind) + " hook: " + e.what());
        }
        if (r.timedOut || !r.exited || r.status != 0) throw Error(describe(kind, h, r));
        log::debug(hookKindName(kind) + " hook " + h.path + " succeeded");
    }
}

int runHooksLoggingFailures(HookKind kind, const std::vector<Hook>& hooks,
                            std::string_view stateJson) {
    int failed = 0;
    for (const auto& h : hooks) {
        try {
            HookResult r = runHook(h, stateJson);
            if (r.timedOut || !r.exited || r.status != 0) {
                log::warn(describe(kind, h, r));
                ++failed;
            }
        } catch (const Error& e) {
            log::warn(hookKindName(kind) + " hook: " + e.what());
            ++failed;
        }
    }
    return failed;
}

}  // namespace caprun
