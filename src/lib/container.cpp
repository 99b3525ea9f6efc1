#include "caprun/container.hpp"

#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>

#include "caprun/cgroups.hpp"
#include "caprun/console.hpp"
#include "caprun/error.hpp"
#include "caprun/hooks.hpp"
#include "caprun/init.hpp"
#include "caprun/log.hpp"
#include "caprun/namespaces.hpp"
#include "caprun/rootfs.hpp"
#include "caprun/spec.hpp"
#include "caprun/state.hpp"

namespace caprun {

namespace {

namespace fs = std::filesystem;

// ---- the sync socket between the runtime and the init ----

enum class Msg : char {
    Go = 'G',        // parent -> child: maps written, cgroup entered
    NeedHooks = 'H', // child -> parent: namespaces and mounts exist; run prestart/createRuntime
    HooksDone = 'O', // parent -> child: payload = createContainer state JSON \0 start state JSON
    Ready = 'R',     // child -> parent: blocked before user code (or, for exec, about to exec)
    Failed = 'E',    // child -> parent: payload = error text
};

void sendMsg(int fd, Msg type, const std::string& payload = {}) {
    std::string buf(1, static_cast<char>(type));
    buf += payload;
    ssize_t n;
    do {
        n = ::send(fd, buf.data(), buf.size(), MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) throwErrno("talking to the container process (sync socket)");
}

// Returns false on EOF (the other side is gone).
bool recvMsg(int fd, Msg& type, std::string& payload) {
    std::string buf(256 * 1024, '\0');
    ssize_t n;
    do {
        n = ::recv(fd, buf.data(), buf.size(), 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) throwErrno("talking to the container process (sync socket)");
    if (n == 0) return false;
    type = static_cast<Msg>(buf[0]);
    payload.assign(buf.data() + 1, static_cast<size_t>(n - 1));
    return true;
}

struct UniqueFd {
    int fd = -1;
    UniqueFd() = default;
    explicit UniqueFd(int f) : fd(f) {}
    UniqueFd(UniqueFd&& o) noexcept : fd(o.fd) { o.fd = -1; }
    UniqueFd& operator=(UniqueFd&& o) noexcept {
        reset();
        fd = o.fd;
        o.fd = -1;
        return *this;
    }
    ~UniqueFd() { reset(); }
    void reset() {
        if (fd >= 0) ::close(fd);
        fd = -1;
    }
};

pid_t cloneProcess(unsigned long long flags, int* pidfd) {
    struct clone_args args {};
    args.flags = flags | CLONE_PIDFD;
    args.pidfd = reinterpret_cast<std::uint64_t>(pidfd);
    args.exit_signal = SIGCHLD;
    long r = ::syscall(SYS_clone3, &args, sizeof args);
    if (r < 0) throwErrno("creating the container process (clone3)");
    return static_cast<pid_t>(r);
}

void writeFileAtomically(const std::string& path, const std::string& content,
                         const std::string& what) {
    std::string tmp = path + ".caprun-" + std::to_string(::getpid());
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throwErrno(what + ": creating " + tmp);
    ssize_t n = ::write(fd, content.data(), content.size());
    int err = errno;
    ::close(fd);
    if (n != static_cast<ssize_t>(content.size())) {
        ::unlink(tmp.c_str());
        throwSys(what + ": writing " + tmp, n < 0 ? err : EIO);
    }
    if (::rename(tmp.c_str(), path.c_str()) < 0) {
        err = errno;
        ::unlink(tmp.c_str());
        throwSys(what + ": renaming " + tmp + " to " + path, err);
    }
}

std::string absolutePath(const std::string& p) {
    std::error_code ec;
    auto a = fs::absolute(p, ec);
    if (ec) throw Error("resolving the path " + p + ": " + ec.message());
    return a.lexically_normal().string();
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

// ---- signal forwarding for foreground run/exec ----

volatile sig_atomic_t gForwardPid = 0;

void forwardSignal(int sig) {
    if (gForwardPid > 0) ::kill(static_cast<pid_t>(gForwardPid), sig);
}

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

// ---- what create decides before anything exists ----

struct Prepared {
    Spec spec;
    std::string bundle;
    NamespacePlan ns;
    RootfsPlan rootfs;
    ProcessPlan process;  // capabilities, rlimits, user, seccomp: decided and compiled
};

Prepared prepare(const GlobalOptions& g, const CreateOptions& o) {
    Prepared p;
    p.bundle = absolutePath(o.bundle);
    p.spec = loadBundleSpec(p.bundle);
    if (!p.spec.process) throw Error("config.json: process: required to create a container");
    if (!p.spec.linux) throw Error("config.json: linux: required to create a Linux container");
    p.ns = planNamespaces(p.spec);
    if (!p.ns.creates(NamespaceKind::Mount))
        throw Error("config.json: linux.namespaces: caprun needs a new mount namespace "
                    "(add {\"type\": \"mount\"})");
    p.rootfs = planRootfs(p.spec, p.bundle, o.noPivot, p.ns.newUserNamespace(), p.ns.newCgroup);
    struct stat st {};
    if (::stat(p.rootfs.rootfs.c_str(), &st) < 0 || !S_ISDIR(st.st_mode))
        throw Error("config.json: root.path: the rootfs " + p.rootfs.rootfs +
                    " is not a directory");
    // Capability policy and plan, rlimits, seccomp: strict policy fails here.
    p.process = planProcess(g, p.spec, *p.spec.process, o.seccompProfile, g.root);
    return p;
}

// Undoes what create made when it fails, so the host is as if it never ran.
struct CreateRollback {
    bool armed = true;
    pid_t pid = 0;
    Cgroup cgroup;
    bool cgroupCreated = false;
    StateStore* store = nullptr;
    std::string id;
    ~CreateRollback() {
        if (!armed) return;
        killAndReap(pid);
        if (cgroupCreated) {
            try {
                cgroup.destroy();
            } catch (const std::exception& e) {
                log::warn(std::string("cleaning up after a failed create: ") + e.what());
            }
        }
        if (store) store->remove(id);
    }
};

struct Created {
    ContainerState state;
    pid_t pid = 0;
    UniqueFd pidfd;
    UniqueFd fifo;          // the runtime's end of the exec FIFO (run only)
    UniqueFd consoleMaster; // foreground terminal (run only)
};

std::map<std::string, std::string> namespacePaths(const NamespacePlan& ns, pid_t pid) {
    std::map<std::string, std::string> out;
    for (auto k : ns.create)
        out[namespaceName(k)] =
            "/proc/" + std::to_string(pid) + "/ns/" + namespaceProcName(k);
    for (const auto& j : ns.join) out[namespaceName(j.kind)] = j.path;
    return out;
}

// ---- the child ----

struct ChildContext {
    const Prepared* prep;
    const std::vector<OpenedNamespace>* opened;
    int sync;
    int fifo;
    int terminalSlave;
    unsigned preserveFds;
    bool foreground;
};

[[noreturn]] void childMain(const ChildContext& c) {
    try {
        // Until execve: killed with the runtime while it sets us up (and for foreground run,
        // for good), and not dumpable so /proc/<pid>/exe (the runtime) cannot be opened.
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        ::prctl(PR_SET_DUMPABLE, 0);
        Msg type;
        std::string payload;
        if (!recvMsg(c.sync, type, payload) || type != Msg::Go) ::_exit(1);
        if (c.prep->ns.newUserNamespace()) {
            if (::setresgid(0, 0, 0) < 0 || ::setresuid(0, 0, 0) < 0)
                throwErrno("becoming root of the new user namespace (is 0 mapped?)");
        }
        joinNamespaces(*c.opened);
        unshareCgroupNamespace(c.prep->ns);
        if (::setsid() < 0 && c.terminalSlave >= 0) throwErrno("setsid");
        prepareRootfs(c.prep->rootfs);

        sendMsg(c.sync, Msg::NeedHooks);
        if (!recvMsg(c.sync, type, payload) || type != Msg::HooksDone) ::_exit(1);
        auto split = payload.find('\0');
        std::string createState = payload.substr(0, split);
        std::string startState = split == std::string::npos ? createState : payload.substr(split + 1);
        runHooks(HookKind::CreateContainer, c.prep->spec.hooks.createContainer, createState);

        finishRootfs(c.prep->rootfs);

        ProcessSetup setup = c.prep->process.setup;
        setup.preserveFds = c.preserveFds;
        setup.terminalSlave = c.terminalSlave;
        if (c.prep->ns.creates(NamespaceKind::Uts)) {
            if (!c.prep->spec.hostname.empty()) setup.hostname = c.prep->spec.hostname;
            if (!c.prep->spec.domainname.empty()) setup.domainname = c.prep->spec.domainname;
        }
        std::string executable = prepareProcess(setup);
        if (!c.foreground) ::prctl(PR_SET_PDEATHSIG, 0);
        sendMsg(c.sync, Msg::Ready);
        ::close(c.sync);

        char byte;
        ssize_t n;
        do {
            n = ::read(c.fifo, &byte, 1);
        } while (n < 0 && errno == EINTR);
        if (n != 1) ::_exit(1);
        ::close(c.fifo);
        runHooks(HookKind::StartContainer, c.prep->spec.hooks.startContainer, startState);
        execProcess(setup, executable);
    } catch (const std::exception& e) {
        try {
            sendMsg(c.sync, Msg::Failed, e.what());
        } catch (...) {
        }
        // After create returned nobody reads the socket: say it where the user can see it.
        std::string line = std::string("caprun: ") + e.what() + "\n";
        if (::write(2, line.data(), line.size()) < 0) {
        }
    }
    ::_exit(127);
}

// ---- create ----

Created createInternal(const GlobalOptions& g, const CreateOptions& o, bool foreground,
                       StateStore& store, ContainerLock& lock) {
    Prepared prep = prepare(g, o);
    const Process& proc = *prep.spec.process;
    if (proc.terminal && o.consoleSocket.empty() && !foreground)
        throw Error("process.terminal is true: --console-socket is required (or use run in "
                    "the foreground)");
    auto opened = openJoinedNamespaces(prep.ns);
    struct Closer {
        std::vector<OpenedNamespace>& o;
        ~Closer() { closeNamespaces(o); }
    } closer{opened};

    auto cgroupManager = selectCgroupManager(g);

    lock = store.createDir(o.id);
    CreateRollback rollback;
    rollback.store = &store;
    rollback.id = o.id;

    std::string fifoPath = store.execFifoPath(o.id);
    if (::mkfifo(fifoPath.c_str(), 0600) < 0) throwErrno("creating the exec FIFO " + fifoPath);
    // O_RDWR: never blocks, and keeps the FIFO readable by the init until start writes.
    UniqueFd fifo(::open(fifoPath.c_str(), O_RDWR | O_CLOEXEC));
    if (fifo.fd < 0) throwErrno("opening the exec FIFO " + fifoPath);

    if (cgroupManager != CgroupManager::Disabled) {
        rollback.cgroup = Cgroup::place(detectCgroupHost(), prep.spec.linux->cgroupsPath, o.id);
        rollback.cgroup.create();
        rollback.cgroupCreated = true;
    }

    std::optional<PtyPair> pty;
    if (proc.terminal) pty = openPty(proc.consoleSize);

    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        throwErrno("creating the sync socket");
    UniqueFd parentSock(sv[0]), childSock(sv[1]);

    prepareParentNamespaces(prep.ns, opened);

    int pidfd = -1;
    pid_t pid = cloneProcess(prep.ns.cloneFlags, &pidfd);
    if (pid == 0) {
        ::close(sv[0]);
        ChildContext c{&prep, &opened, sv[1], fifo.fd, pty ? pty->slave() : -1,
                       o.preserveFds, foreground};
        childMain(c);
    }
    UniqueFd pidfdHolder(pidfd);
    rollback.pid = pid;
    childSock.reset();
    if (pty) pty->closeSlave();

    ContainerState st;
    st.ociVersion = prep.spec.ociVersion;
    st.id = o.id;
    st.pid = pid;
    st.pidStartTime = processStartTime(pid).value_or(0);
    st.bundle = prep.bundle;
    st.rootfs = prep.rootfs.rootfs;
    st.created = log::nowRfc3339();
    st.owner = ownerName(::getuid());
    st.annotations = prep.spec.annotations;
    st.status = ContainerStatus::Creating;
    st.cgroupPaths = rollback.cgroup.paths();
    st.systemdCgroup = false;
    st.namespacePaths = namespacePaths(prep.ns, pid);
    st.ownPidNamespace = prep.ns.creates(NamespaceKind::Pid);
    st.capPolicy = prep.process.policy;
    st.terminal = proc.terminal;
    st.poststop = prep.spec.hooks.poststop;

    auto childFailure = [&](const std::string& fallback) -> Error {
        return Error(fallback);
    };

    writeIdMaps(pid, prep.ns);
    if (rollback.cgroupCreated) {
        rollback.cgroup.enter(pid);
        if (prep.spec.linux->resources)
            rollback.cgroup.apply(*prep.spec.linux->resources, prep.spec.linux->devices);
        else
            rollback.cgroup.apply(Resources{}, prep.spec.linux->devices);
    }
    sendMsg(parentSock.fd, Msg::Go);

    for (;;) {
        Msg type;
        std::string payload;
        if (!recvMsg(parentSock.fd, type, payload)) {
            int status = 0;
            ::waitpid(pid, &status, 0);
            rollback.pid = 0;
            throw childFailure("the container process exited during setup (status " +
                               std::to_string(waitStatusToExitCode(status)) + ")");
        }
        if (type == Msg::Failed) throw Error(payload);
        if (type == Msg::NeedHooks) {
            store.save(st);
            std::string creating = stateJson(st, ContainerStatus::Creating);
            runHooks(HookKind::Prestart, prep.spec.hooks.prestart, creating);
            runHooks(HookKind::CreateRuntime, prep.spec.hooks.createRuntime, creating);
            std::string both = creating;
            both += '\0';
            both += stateJson(st, ContainerStatus::Created);
            sendMsg(parentSock.fd, Msg::HooksDone, both);
            continue;
        }
        if (type == Msg::Ready) break;
        throw Error("unexpected message from the container process during setup");
    }

    Created out;
    if (pty) {
        if (!o.consoleSocket.empty())
            sendConsoleFd(o.consoleSocket, pty->master());
        else
            out.consoleMaster = UniqueFd(pty->releaseMaster());
    }
    st.status = ContainerStatus::Created;
    store.save(st);
    if (!o.pidFile.empty())
        writeFileAtomically(absolutePath(o.pidFile), std::to_string(pid), "writing the pid file");
    rollback.armed = false;
    out.state = st;
    out.pid = pid;
    out.pidfd = std::move(pidfdHolder);
    if (foreground) out.fifo = std::move(fifo);
    return out;
}

// Releases the init: one byte into the FIFO it is reading.
void releaseInit(StateStore& store, ContainerState& st) {
    std::string fifoPath = store.execFifoPath(st.id);
    int fd = ::open(fifoPath.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENXIO || errno == ENOENT)
            throw Error("cannot start container " + st.id +
                        ": its process is not waiting to be started");
        throwErrno("opening the exec FIFO " + fifoPath);
    }
    ssize_t n = ::write(fd, "0", 1);
    int err = errno;
    ::close(fd);
    if (n != 1) throwSys("releasing the container process through " + fifoPath, err);
    ::unlink(fifoPath.c_str());
    st.status = ContainerStatus::Running;
    store.save(st);
    // poststart failures are logged, the container keeps running (runtime-spec).
    runHooksLoggingFailures(HookKind::Poststart, [&] {
        // Only the poststart hooks of the bundle's config are known here.
        try {
            return loadBundleSpec(st.bundle).hooks.poststart;
        } catch (const std::exception& e) {
            log::warn(std::string("poststart hooks not run: ") + e.what());
            return std::vector<Hook>{};
        }
    }(), stateJson(st, ContainerStatus::Running));
}

// What delete does for a container whose process has ended (foreground run).
void removeStopped(StateStore& store, const ContainerState& st) {
    Cgroup cg(st.cgroupPaths);
    if (!cg.empty()) {
        try {
            cg.killAll(SIGKILL);
        } catch (const std::exception& e) {
            log::warn(std::string("killing what was left in the container's cgroup: ") + e.what());
        }
    }
    runHooksLoggingFailures(HookKind::Poststop, st.poststop,
                            stateJson(st, ContainerStatus::Stopped));
    if (!cg.empty()) {
        try {
            cg.destroy();
        } catch (const std::exception& e) {
            log::warn(std::string("removing the container's cgroup: ") + e.what());
        }
    }
    store.remove(st.id);
}

}  // namespace

void createContainer(const GlobalOptions& g, const CreateOptions& o) {
    StateStore store(g.root);
    ContainerLock lock;
    createInternal(g, o, false, store, lock);
}

void startContainer(const GlobalOptions& g, const std::string& id) {
    StateStore store(g.root);
    ContainerLock lock = store.lockContainer(id);
    ContainerState st = store.load(id);
    ContainerStatus live = liveStatus(st);
    if (live != ContainerStatus::Created)
        throw Error("cannot start container " + id + ": it is " + statusName(live) +
                    ", not created");
    releaseInit(store, st);
}

int runContainer(const GlobalOptions& g, const CreateOptions& o, bool detach) {
    StateStore store(g.root);
    ContainerLock lock;
    Created c = createInternal(g, o, !detach, store, lock);
    if (detach) {
        releaseInit(store, c.state);
        return 0;
    }
    installForwarders(c.pid, c.consoleMaster.fd >= 0);
    int status = 0;
    try {
        releaseInit(store, c.state);
        lock.release();  // state/kill/ps may look at it while it runs
        c.fifo.reset();
        if (c.consoleMaster.fd >= 0) {
            ForegroundConsole console(c.consoleMaster.fd);
            console.pump(c.pidfd.fd);
        }
        while (::waitpid(c.pid, &status, 0) < 0) {
            if (errno != EINTR) throwErrno("waiting for the container process");
        }
    } catch (...) {
        killAndReap(c.pid);
        gForwardPid = 0;
        ContainerLock relock = store.lockContainer(o.id);
        removeStopped(store, c.state);
        throw;
    }
    gForwardPid = 0;
    ContainerLock relock = store.lockContainer(o.id);
    removeStopped(store, c.state);
    return waitStatusToExitCode(status);
}

}  // namespace caprun
