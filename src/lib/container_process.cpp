#include "caprun/container_process.hpp"

#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "caprun/error.hpp"
#include "caprun/sync_channel.hpp"
#include "caprun/sys/unique_fd.hpp"

namespace caprun {

namespace fs = std::filesystem;

int openContainerPty(int sync, const std::optional<ConsoleSize>& size) {
    PtyPair pty = openPty(size);
    sendMsgWithFd(sync, Msg::Console, pty.master());
    return pty.releaseSlave();
}

pid_t cloneProcess(unsigned long long flags, int* pidfd, CloneCgroup* cgroup) {
    struct clone_args args {};
    args.flags = flags | CLONE_PIDFD;
    args.pidfd = reinterpret_cast<std::uint64_t>(pidfd);
    // With CLONE_PARENT the child inherits the caller's exit signal; clone3 refuses another.
    args.exit_signal = (flags & CLONE_PARENT) ? 0 : SIGCHLD;
    long r = -1;
    if (cgroup && cgroup->fd >= 0) {
        struct clone_args into = args;
        into.flags |= CLONE_INTO_CGROUP;
        into.cgroup = static_cast<std::uint64_t>(cgroup->fd);
        r = ::syscall(SYS_clone3, &into, sizeof into);
        cgroup->placed = r >= 0;
    }
    if (r < 0) r = ::syscall(SYS_clone3, &args, sizeof args);
    if (r < 0) throwErrno("creating the container process (clone3)");
    return static_cast<pid_t>(r);
}

pid_t cloneInNamespaces(const NamespacePlan& plan, const std::vector<OpenedNamespace>& opened,
                        unsigned long long flags, int* pidfd, CloneCgroup* cgroup) {
    auto own = prepareParentNamespaces(plan, opened);
    pid_t pid = 0;
    try {
        pid = cloneProcess(flags, pidfd, cgroup);
    } catch (...) {
        restoreParentNamespaces(own);
        throw;
    }
    if (pid != 0) restoreParentNamespaces(own);
    return pid;
}

namespace {

[[noreturn]] void joinerMain(const NamespacePlan& plan, const std::vector<OpenedNamespace>& opened,
                             unsigned long long flags, int sync, CloneCgroup* cgroup,
                             const std::function<void()>& processMain) {
    try {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        joinAllNamespaces(opened);
        if (plan.newTime) createTimeNamespace(plan);
        int pidfd = -1;
        pid_t pid = cloneProcess(flags | CLONE_PARENT, &pidfd, cgroup);
        if (pid == 0) {
            processMain();
            ::_exit(127);
        }
        // Whether the kernel placed it in the cgroup: the runtime cannot see the joiner's copy.
        std::string payload = std::to_string(pid) + (cgroup && cgroup->placed ? " placed" : "");
        sendMsgWithFd(sync, Msg::JoinedProcess, pidfd, payload);
        ::_exit(0);
    } catch (const std::exception& e) {
        try {
            sendMsg(sync, Msg::Failed, e.what());
        } catch (...) {
        }
    }
    ::_exit(127);
}

}  // namespace

pid_t cloneThroughJoiner(const NamespacePlan& plan, const std::vector<OpenedNamespace>& opened,
                         unsigned long long flags, int childSync, int parentSock, int* pidfd,
                         CloneCgroup* cgroup, const std::function<void()>& processMain) {
    int joinerPidfd = -1;
    pid_t joiner = cloneProcess(0, &joinerPidfd);
    if (joiner == 0) {
        ::close(parentSock);
        joinerMain(plan, opened, flags, childSync, cgroup, processMain);
    }
    UniqueFd joinerHolder(joinerPidfd);
    Msg type{};
    std::string payload;
    int passed = -1;
    bool got = false;
    try {
        got = recvMsg(parentSock, type, payload, &passed);
    } catch (...) {
        killAndReap(joiner);
        throw;
    }
    int status = 0;
    while (::waitpid(joiner, &status, 0) < 0 && errno == EINTR) {
    }
    UniqueFd passedHolder(passed);
    if (got && type == Msg::Failed) throw Error(payload);
    if (!got || type != Msg::JoinedProcess || passed < 0)
        throw Error("joining the container's namespaces: the joining process exited (status " +
                    std::to_string(status) + ") without starting the process");
    if (cgroup) cgroup->placed = payload.find(" placed") != std::string::npos;
    *pidfd = passedHolder.release();
    return static_cast<pid_t>(std::stol(payload));
}

std::string absolutePath(const std::string& p) {
    std::error_code ec;
    auto a = fs::absolute(p, ec);
    if (ec) throw Error("resolving the path " + p + ": " + ec.message());
    std::string out = a.lexically_normal().string();
    while (out.size() > 1 && out.back() == '/') out.pop_back();
    return out;
}

int waitStatusToExitCode(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return 1;
}

void killAndReap(pid_t pid) {
    if (pid <= 0) return;
    ::kill(pid, SIGKILL);
    int status;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
}

namespace {

volatile sig_atomic_t gForwardPid = 0;

void forwardSignal(int sig) {
    if (gForwardPid > 0) ::kill(static_cast<pid_t>(gForwardPid), sig);
}

}  // namespace

void installForwarders(pid_t pid, bool terminal) {
    gForwardPid = pid;
    struct sigaction sa {};
    sa.sa_handler = forwardSignal;
    sa.sa_flags = SA_RESTART;
    ::sigemptyset(&sa.sa_mask);
    for (int sig = 1; sig < NSIG; ++sig) {
        if (sig == SIGKILL || sig == SIGSTOP || sig == SIGCHLD || sig == SIGURG) continue;
        if (terminal && sig == SIGWINCH) continue;  // the console copies the window size
        if (sig >= 32 && sig < SIGRTMIN) continue;  // reserved by glibc
        ::sigaction(sig, &sa, nullptr);
    }
}

void stopForwarding() {
    gForwardPid = 0;
}

void startClonedChild(int sync) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    Msg type;
    std::string payload;
    if (!recvMsg(sync, type, payload) || type != Msg::Go) ::_exit(1);
    // Non-dumpable only once the parent is done with /proc/<pid>: an unprivileged parent
    // cannot open a non-dumpable child's setgroups, gid_map and uid_map (they belong to
    // root until the maps exist), and newuidmap refuses it too; runc does the same.
    ::prctl(PR_SET_DUMPABLE, 0);
}

}  // namespace caprun
