#include "caprun/container.hpp"

#include <fcntl.h>
#include <linux/capability.h>
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

#include "caprun/cgroup_placement.hpp"
#include "caprun/cgroups.hpp"
#include "caprun/console.hpp"
#include "caprun/container_process.hpp"
#include "caprun/container_report.hpp"
#include "caprun/create_rollback.hpp"
#include "caprun/error.hpp"
#include "caprun/rootless.hpp"
#include "caprun/runtime_context.hpp"
#include "caprun/json.hpp"
#include "caprun/keyring.hpp"
#include "caprun/lifecycle.hpp"
#include "caprun/lost_container.hpp"
#include "caprun/hooks.hpp"
#include "caprun/process_kernel.hpp"
#include "caprun/process_plan.hpp"
#include "caprun/log.hpp"
#include "caprun/namespaces.hpp"
#include "caprun/intel_rdt.hpp"
#include "caprun/net_devices.hpp"
#include "caprun/rootfs.hpp"
#include "caprun/rootfs_kernel.hpp"
#include "caprun/spec.hpp"
#include "caprun/spec_fields.hpp"
#include "caprun/seccomp_install.hpp"
#include "caprun/lsm.hpp"
#include "caprun/mount_source.hpp"
#include "caprun/idmap.hpp"
#include "caprun/state.hpp"
#include "caprun/trace_monitor.hpp"
#include "caprun/sync_channel.hpp"
#include "caprun/sys/atomic_write.hpp"
#include "caprun/sys/unique_fd.hpp"
#include "caprun/sysctl.hpp"
#include "caprun/record.hpp"
#include "caprun/trace.hpp"
#include "caprun/systemd_bus.hpp"

namespace caprun {

namespace {

namespace fs = std::filesystem;

// ---- what create decides before anything exists ----

struct Prepared {
    Spec spec;
    std::string bundle;
    NamespacePlan ns;
    RootfsPlan rootfs;
    ProcessPlan process;  // capabilities, rlimits, user, seccomp: decided and compiled
    std::map<std::string, std::string> sysctl;  // linux.sysctl as accepted by planSysctls
    std::optional<std::string> seccompProfile;  // --seccomp-profile, a path made absolute
    ReportTarget report = ReportTarget::Log;    // the annotation run.caprun.report
};

}  // namespace

ProcessRequest initProcessRequest(const RuntimeContext& g, const CreateOptions& o,
                                  const std::string& rootfs, bool userNamespace) {
    ProcessRequest request;
    request.role = ProcessRole::Init;
    request.capPolicy = g.capPolicy;
    request.seccompProfile = o.seccompProfile;
    request.seccompCacheRoot = g.root;
    request.rootfs = rootfs;
    if (!o.noNewKeyring && !o.id.empty()) request.sessionKeyring = sessionKeyringName(o.id);
    request.userNamespace = userNamespace;
    request.preserveFds = o.preserveFds;
    return request;
}

namespace {

Prepared prepare(const RuntimeContext& g, const CreateOptions& o) {
    Prepared p;
    p.bundle = absolutePath(o.bundle);
    p.spec = loadBundleSpec(p.bundle);
    if (!p.spec.process) throw Error("config.json: process: required to create a container");
    if (!p.spec.linux) throw Error("config.json: linux: required to create a Linux container");
    // Every field is applied or refused: a refusal happens here, before anything exists.
    if (FieldPlan fields = planSpecFields(p.spec, PlatformFacts::probe()); fields.refuses())
        throw Error(fields.refusalMessage());
    traceEpermAnnotated(p.spec.annotations);  // a value not true/false is refused here
    recordAnnotationDir(p.spec.annotations);  // a relative or unwritable directory too
    p.report = reportTarget(p.spec.annotations, p.spec.process->terminal);
    p.ns = planNamespaces(p.spec);
    if (std::string r = rootlessSetupRefusal(::geteuid(), p.ns.has(NamespaceKind::User));
        !r.empty())
        throw Error(r);
    HostFacts host = HostFacts::probe();
    host.joinedSetgroupsDenied = probeJoinedSetgroups(p.spec);
    p.ns.idMapWrite = planIdMapWrite(p.ns.uidMappings, p.ns.gidMappings, host);
    // A sysctl outside the container's own namespaces would be written into the host's.
    SysctlPlan sysctl = planSysctls(p.spec.linux->sysctl, p.ns, probeSysctlHostFacts(p.ns));
    if (sysctl.refused()) throw Error(sysctl.error());
    p.sysctl = sysctl.accepted();
    // A joined mount namespace is prepared and pivoted like a new one, as runc and crun do.
    p.rootfs = planRootfs(p.spec, p.bundle, o.noPivot, p.ns.newUserNamespace(), p.ns.newCgroup,
                          p.ns.has(NamespaceKind::Mount));
    for (const auto& w : p.rootfs.warnings) log::warn(w);
    planMountLabel(p.spec.linux->mountLabel, PlatformFacts::probe(), p.rootfs);
    // Without CAP_SYS_ADMIN (rootless) the runtime cannot join the init's mount namespace to
    // open bind sources: the init, whose ids are the caller's, opens them itself, as runc
    // rootless does.
    if (!(host.caps.effective & capBit(CAP_SYS_ADMIN))) p.rootfs.sourcesFromRuntime = false;
    struct stat st {};
    if (::stat(p.rootfs.rootfs.c_str(), &st) < 0 && errno == ENOENT)
        throw Error("config.json: root.path: the rootfs " + p.rootfs.rootfs +
                    " does not exist: create it and put the container's filesystem in it (an "
                    "unpacked image), or set root.path to such a directory");
    if (::stat(p.rootfs.rootfs.c_str(), &st) < 0 || !S_ISDIR(st.st_mode))
        throw Error("config.json: root.path: the rootfs " + p.rootfs.rootfs +
                    " is not a directory: set root.path to the directory holding the "
                    "container's filesystem");
    // Capability policy and plan, rlimits, seccomp: strict policy fails here.
    p.seccompProfile = o.seccompProfile;
    if (p.seccompProfile && *p.seccompProfile != "default" && *p.seccompProfile != "unconfined")
        p.seccompProfile = absolutePath(*p.seccompProfile);  // exec reuses it from elsewhere
    p.process = planProcess(p.spec, *p.spec.process,
                            initProcessRequest(g, o, p.rootfs.rootfs, p.ns.newUserNamespace()),
                            host, PlatformFacts::probe());
    requireStartable(p.process);
    return p;
}

struct Created {
    ContainerState state;
    pid_t pid = 0;
    UniqueFd pidfd;
    UniqueFd fifo;           // the runtime's end of the exec FIFO (run only)
    UniqueFd consoleMaster;  // foreground terminal (run only)
};

std::map<std::string, std::string> namespacePaths(const NamespacePlan& ns, pid_t pid) {
    std::map<std::string, std::string> out;
    for (auto k : ns.create)
        out[namespaceName(k)] = "/proc/" + std::to_string(pid) + "/ns/" + namespaceProcName(k);
    for (const auto& j : ns.join) out[namespaceName(j.kind)] = j.path;
    return out;
}

// ---- the child ----

struct ChildContext {
    const Prepared* prep;
    const std::vector<OpenedNamespace>* opened;
    int sync;
    int fifo;
    bool terminal;
    std::optional<ConsoleSize> consoleSize;
    bool foreground;
    bool joined = false;  // a joiner entered every opened namespace before cloning the init
};

// The init's process kernel: the NOTIFY listener goes to the runtime over the sync socket;
// once set up it reports ready and waits for `start` on the exec FIFO, then runs the
// startContainer hooks.
class InitProcessKernel final : public LinuxProcessKernel {
  public:
    InitProcessKernel(const ChildContext& c, std::string startState, bool& runtimeListening)
        : c_(c), startState_(std::move(startState)), runtimeListening_(runtimeListening) {}
    void handOffSeccompListener(int fd) override {
        sendMsgWithFd(c_.sync, Msg::SeccompListener, fd);
        ::close(fd);
    }
    void awaitStart() override {
        if (!c_.foreground) ::prctl(PR_SET_PDEATHSIG, 0);
        sendMsg(c_.sync, Msg::Ready);
        ::close(c_.sync);
        runtimeListening_ = false;
        char byte;
        ssize_t n;
        do {
            n = ::read(c_.fifo, &byte, 1);
        } while (n < 0 && errno == EINTR);
        if (n != 1) ::_exit(1);
        // The FIFO stays open (close-on-exec) until the execve of the container's process:
        // its closing tells start that the process runs, so poststart comes after it.
        runHooks(HookKind::StartContainer, c_.prep->spec.hooks.startContainer, startState_);
    }

  private:
    const ChildContext& c_;
    std::string startState_;
    bool& runtimeListening_;
};

[[noreturn]] void childMain(const ChildContext& c) {
    bool runtimeListening = true;  // until Ready: create reports what fails
    try {
        startClonedChild(c.sync);
        Msg type;
        std::string payload;
        if (c.prep->ns.newUserNamespace()) {
            if (::setresgid(0, 0, 0) < 0 || ::setresuid(0, 0, 0) < 0)
                throwErrno("becoming root of the new user namespace (is 0 mapped?)");
        }
        if (!c.joined) joinNamespaces(*c.opened);
        bringUpLoopback(c.prep->ns);
        // The runtime places the cgroup while the first mounts are made; the cgroup namespace
        // is rooted at the cgroup, so it is made once the init is there.
        bool placed = false;
        auto awaitCgroup = [&] {
            if (placed) return;
            placed = true;
            if (!recvMsg(c.sync, type, payload) || type != Msg::CgroupPlaced) ::_exit(1);
            unshareCgroupNamespace(c.prep->ns);
        };
        MountSourceOpener fromRuntime;
        if (c.prep->rootfs.sourcesFromRuntime)
            fromRuntime = [&](std::size_t i) {
                awaitCgroup();  // the two share the sync socket
                return receiveMountSource(c.sync, i);
            };
        prepareRootfs(c.prep->rootfs, fromRuntime, awaitCgroup);
        awaitCgroup();

        sendMsg(c.sync, Msg::NeedHooks);
        if (!recvMsg(c.sync, type, payload) || type != Msg::HooksDone) ::_exit(1);
        auto split = payload.find('\0');
        std::string createState = payload.substr(0, split);
        std::string startState =
            split == std::string::npos ? createState : payload.substr(split + 1);
        runHooks(HookKind::CreateContainer, c.prep->spec.hooks.createContainer, createState);

        switchRoot(c.prep->rootfs);
        applySysctls(c.prep->sysctl);
        // The pty comes from the container's devpts; /dev/console is bound to it before
        // protectRootfs can make the rootfs read-only.
        int slave = -1;
        if (c.terminal) {
            slave = openContainerPty(c.sync, c.consoleSize);
            bindConsole(c.prep->rootfs, slave);
        } else if (::setsid() < 0) {
            // Its own session, as runc's init has: the caller's session leader is outside the
            // pid namespace, and CRIU refuses to dump a tree whose session it cannot restore.
            throwErrno("starting a new session for the container process (setsid)");
        }
        protectRootfs(c.prep->rootfs);

        InitProcessKernel kernel(c, startState, runtimeListening);
        applyProcessPlan(c.prep->process, kernel, slave);
    } catch (const std::exception& e) {
        try {
            if (runtimeListening) sendMsg(c.sync, Msg::Failed, e.what());
        } catch (...) {
            runtimeListening = false;
        }
        // After create returned nobody reads the socket: say it where the user can see it.
        if (!runtimeListening) {
            std::string line = std::string("caprun: ") + e.what() + "\n";
            if (::write(2, line.data(), line.size()) < 0) {
            }
        }
    }
    ::_exit(127);
}

// ---- create ----

Created createInternal(const RuntimeContext& g, const CreateOptions& o, bool foreground,
                       StateStore& store, ContainerLock& lock) {
    // The id names the state directory and the default cgroup: refuse a bad one first.
    StateStore::validateId(o.id);
    Prepared prep = prepare(g, o);
    // run.caprun.report=container: what was dropped goes to the container's stderr, which is
    // ours until the init execs (a shim gives both the same pipe). A closed one loses nothing
    // else: the log has it too.
    if (prep.report == ReportTarget::Container)
        for (const auto& line : containerReportLines(prep.process.capabilities))
            writeReport(STDERR_FILENO, line + "\n");
    // Idmapped trees are made here, in the host's namespaces; the init inherits the fds.
    LinuxRootfsKernel treeKernel;
    openIdmappedTrees(prep.rootfs, treeKernel);
    struct TreeCloser {
        RootfsPlan& r;
        RootfsKernel& k;
        ~TreeCloser() { closeIdmappedTrees(r, k); }
    } trees{prep.rootfs, treeKernel};
    const Process& proc = *prep.spec.process;
    if (proc.terminal && o.consoleSocket.empty() && !foreground)
        throw Error(
            "process.terminal is true: --console-socket is required (or use run in "
            "the foreground)");
    auto opened = openJoinedNamespaces(prep.ns);
    struct Closer {
        std::vector<OpenedNamespace>& o;
        ~Closer() { closeNamespaces(o); }
    } closer{opened};

    // Cgroup planning, before anything exists (cgroup_placement.hpp).
    CgroupPlacement cgroups = planCgroupPlacement(selectCgroupManager(g), g.rootlessMode, prep.spec,
                                                  o.id, prep.process.policy);
    if (!cgroups.warning.empty()) log::warn(cgroups.warning);
    const Resources noResources;
    const Resources& resources =
        prep.spec.linux->resources ? *prep.spec.linux->resources : noResources;
    const std::optional<SystemdCgroupPlan>& systemdPlan = cgroups.systemd;

    lock = store.createDir(o.id);
    CreateRollback rollback;
    rollback.store = &store;
    rollback.id = o.id;

    std::string fifoPath = store.execFifoPath(o.id);
    if (::mkfifo(fifoPath.c_str(), 0600) < 0) throwErrno("creating the exec FIFO " + fifoPath);
    // O_RDWR: never blocks, and keeps the FIFO readable by the init until start writes.
    UniqueFd fifo(::open(fifoPath.c_str(), O_RDWR | O_CLOEXEC));
    if (fifo.fd < 0) throwErrno("opening the exec FIFO " + fifoPath);

    if (cgroups.manager == CgroupManager::Cgroupfs) {
        rollback.cgroup = cgroups.placed;
        rollback.cgroup.create();
        rollback.cgroupCreated = true;
    }

    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        throwErrno("creating the sync socket");
    UniqueFd parentSock(sv[0]), childSock(sv[1]);

    // The init starts in its unified cgroup where the kernel allows (container_process.hpp).
    UniqueFd unifiedDir;
    if (cgroups.manager == CgroupManager::Cgroupfs && !rollback.cgroup.unifiedDir().empty())
        unifiedDir.fd =
            ::open(rollback.cgroup.unifiedDir().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    CloneCgroup into{unifiedDir.fd};
    int pidfd = -1;
    pid_t pid = 0;
    ChildContext c{&prep, &opened, sv[1], fifo.fd, proc.terminal, proc.consoleSize, foreground};
    if (g.rootlessMode && !opened.empty()) {
        // Joining namespaces rootless takes a joiner (container_process.hpp says why).
        c.joined = true;
        pid = cloneThroughJoiner(prep.ns, opened, prep.ns.cloneFlags, sv[1], sv[0], &pidfd, &into,
                                 [&c] { childMain(c); });
    } else {
        pid = cloneInNamespaces(prep.ns, opened, prep.ns.cloneFlags, &pidfd, &into);
        if (pid == 0) {
            ::close(sv[0]);
            childMain(c);
        }
    }
    UniqueFd pidfdHolder(pidfd);
    rollback.pid = pid;
    childSock.reset();
    UniqueFd master;

    if (systemdPlan) {
        // The init waits for Go: systemd moves it into the new scope before it runs anything.
        bool user = systemdPlan->userManager;
        startSystemdUnit(*systemdPlan, pid, user);
        rollback.systemdUnit = systemdPlan->unit;
        rollback.systemdUser = user;
        rollback.cgroup = joinSystemdUnitCgroup(cgroups.host, *systemdPlan, pid);
        rollback.cgroupCreated = true;
    }

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
    st.cgroupCreatedParents = rollback.cgroup.createdParents();
    st.systemdCgroup = systemdPlan.has_value();
    st.systemdUnit = rollback.systemdUnit;
    st.systemdUserBus = rollback.systemdUser;
    st.namespacePaths = namespacePaths(prep.ns, pid);
    st.ownPidNamespace = prep.ns.creates(NamespaceKind::Pid);
    st.capPolicy = prep.process.policy;
    st.sessionKeyring = prep.process.sessionKeyring;
    st.seccompProfile = prep.seccompProfile;
    st.terminal = proc.terminal;
    st.poststop = prep.spec.hooks.poststop;
    // Before anything can fail: delete --force finds the processes by it if state.json is lost.
    sys::writeFileAtomically(store.containerDir(o.id) + "/handle", serializeHandle(handleOf(st)),
                             0600, "writing the container's handle");

    auto childFailure = [&](const std::string& fallback) -> Error { return Error(fallback); };

    writeIdMaps(pid, prep.ns);
    // The devices are in the container's namespace before any hook or the init's setup.
    if (NetDevicePlan devices = planNetDevices(prep.spec); !devices.moves.empty()) {
        LinuxNetDeviceKernel netKernel;
        rollback.netDevicesNs =
            attachContainerNetDevices(devices, pid, store.containerDir(o.id) + "/netns", netKernel);
        for (const auto& m : devices.moves) rollback.netDevices[m.hostName] = m.containerName;
        st.netDevices = rollback.netDevices;
        st.netDevicesNamespace = rollback.netDevicesNs.path;
        st.netDevicesNamespacePinned = rollback.netDevicesNs.pinned;
    }
    // Go first: the init mounts while its cgroup is placed (the first cgroup.procs write can
    // wait out an RCU grace period), and waits for CgroupPlaced at its first step that needs
    // the cgroup (rootfs.hpp's CgroupBarrier).
    sendMsg(parentSock.fd, Msg::Go);
    try {
        if (rollback.cgroupCreated) {
            rollback.cgroup.enter(pid, into.placed);
            // Under systemd only what has no unit property is written here (and the devices:
            // caprun's filter enforces the exact rules next to systemd's allow list).
            rollback.cgroup.apply(systemdPlan ? systemdPlan->files : resources,
                                  prep.spec.linux->devices, cgroups.deviceRules);
        }
        // The resctrl group, like the cgroup, holds the init before it runs anything.
        if (IntelRdtPlan rdt = planIntelRdt(prep.spec, o.id, PlatformFacts::probe().resctrlMounted);
            rdt.wanted) {
            LinuxCgroupKernel resctrl;
            rollback.intelRdt = joinIntelRdt(rdt, o.id, pid, resctrl);
            st.intelRdtGroup = rollback.intelRdt.dir;
            st.intelRdtGroupCreated = rollback.intelRdt.created;
            st.intelRdtMonitorGroup = rollback.intelRdt.monitorDir;
        }
    } catch (const Error&) {
        // An init that failed meanwhile is the cause ("No such process" is its effect).
        throwIfChildFailed(parentSock.fd);
        throw;
    }
    // Not an error if the init is gone: the loop below reports why.
    trySendMsg(parentSock.fd, Msg::CgroupPlaced);

    for (;;) {
        Msg type;
        std::string payload;
        int passed = -1;
        bool got = recvMsg(parentSock.fd, type, payload, &passed);
        UniqueFd passedFd(passed);
        if (!got) {
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
        if (type == Msg::MountSource) {
            std::size_t i = 0;
            try {
                i = std::stoul(payload);
            } catch (const std::exception&) {
                i = prep.rootfs.mounts.size();
            }
            if (i >= prep.rootfs.mounts.size() || prep.rootfs.mounts[i].kind != MountKind::Bind)
                throw Error(
                    "the container process asked for the source of a mount that is "
                    "not a bind mount");
            sendMountSource(parentSock.fd, pidfdHolder.fd, prep.rootfs.mounts[i]);
            continue;
        }
        if (type == Msg::Console && passedFd.fd >= 0) {
            master = std::move(passedFd);
            continue;
        }
        if (type == Msg::SeccompListener && passedFd.fd >= 0) {
            // The agent gets the listener while the container is "creating".
            const CompiledSeccomp& filter = prep.process.seccomp.compiled;
            sendSeccompListener(filter.listenerPath, passedFd.fd,
                                seccompListenerMessage(pid, filter.listenerMetadata,
                                                       stateJson(st, ContainerStatus::Creating)));
            continue;
        }
        throw Error("unexpected message from the container process during setup");
    }

    Created out;
    if (master.fd >= 0) {
        if (!o.consoleSocket.empty())
            sendConsoleFd(o.consoleSocket, master.fd);
        else
            out.consoleMaster = std::move(master);
    }
    st.status = ContainerStatus::Created;
    store.save(st);
    if (!o.pidFile.empty())
        sys::writeFileAtomically(absolutePath(o.pidFile), std::to_string(pid), 0644,
                                 "writing the pid file");
    rollback.armed = false;
    out.state = st;
    out.pid = pid;
    out.pidfd = std::move(pidfdHolder);
    if (foreground) out.fifo = std::move(fifo);
    return out;
}

// How long start waits for the released init to exec before it runs poststart anyway.
constexpr int kExecWaitMs = 10000;

// Releases the init: one byte into the FIFO it is reading. Then waits until the init has
// exec'd the container's process (or died): its FIFO descriptor is close-on-exec, so the
// FIFO then has no reader left and poll reports POLLERR on this write end. The runtime-spec
// runs poststart after the process is executed, not while startContainer hooks still run.
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
    if (n != 1) {
        ::close(fd);
        throwSys("releasing the container process through " + fifoPath, err);
    }
    ::unlink(fifoPath.c_str());
    pollfd p{fd, 0, 0};
    int ready;
    do {
        ready = ::poll(&p, 1, kExecWaitMs);
    } while (ready < 0 && errno == EINTR);
    ::close(fd);
    if (ready == 0)
        log::warn("container " + st.id + ": its process did not exec within " +
                  std::to_string(kExecWaitMs / 1000) +
                  " s of start (startContainer hooks still running?): poststart runs now");
    st.status = ContainerStatus::Running;
    store.save(st);
    // poststart failures are logged, the container keeps running (runtime-spec).
    runHooksLoggingFailures(
        HookKind::Poststart,
        [&] {
            // Only the poststart hooks of the bundle's config are known here.
            try {
                return loadBundleSpec(st.bundle).hooks.poststart;
            } catch (const std::exception& e) {
                log::warn(std::string("poststart hooks not run: ") + e.what());
                return std::vector<Hook>{};
            }
        }(),
        stateJson(st, ContainerStatus::Running));
}

}  // namespace

namespace {

// The annotations run.caprun.trace-eperm and run.caprun.record under create (and run -d);
// a recorder that cannot attach takes the container with it.
void monitorIfAnnotated(const RuntimeContext& g, StateStore& store, Created& c,
                        ContainerLock& lock) {
    try {
        startAnnotatedMonitors(g, store, c.state);
    } catch (...) {
        lock.release();
        deleteContainer(g, c.state.id, true);
        throw;
    }
}

}  // namespace

void createContainer(const RuntimeContext& g, const CreateOptions& o) {
    StateStore store(g.root);
    ContainerLock lock;
    Created c = createInternal(g, o, false, store, lock);
    monitorIfAnnotated(g, store, c, lock);
}

void startContainer(const RuntimeContext& g, const std::string& id) {
    StateStore store(g.root);
    ContainerLock lock = store.lockContainer(id);
    ContainerState st = store.load(id);
    ContainerStatus live = liveStatus(st);
    if (live != ContainerStatus::Created)
        throw Error("cannot start container " + id + ": it is " + statusName(live) +
                    ", not created");
    releaseInit(store, st);
}

int runContainer(const RuntimeContext& g, const CreateOptions& o, bool detach, bool keep) {
    StateStore store(g.root);
    ContainerLock lock;
    Created c = createInternal(g, o, !detach, store, lock);
    if (detach) {
        monitorIfAnnotated(g, store, c, lock);
        releaseInit(store, c.state);
        return 0;
    }
    // Attached while the init waits before execve, so its own start-up is not reported.
    std::unique_ptr<EpermRunTrace> trace;
    bool traceOn = o.traceEperm || traceEpermAnnotated(c.state.annotations);
    if (traceOn) trace = EpermRunTrace::start(g, c.state);
    std::unique_ptr<RecordTracer> recorder;
    const std::string recordDir =
        o.recordDir.empty() ? recordAnnotationDir(c.state.annotations).value_or("") : o.recordDir;
    if (!recordDir.empty()) {
        try {
            auto cg = c.state.cgroupPaths.find("unified");
            recorder = std::make_unique<RecordTracer>(
                cg == c.state.cgroupPaths.end() ? std::string() : cg->second);
        } catch (...) {
            killAndReap(c.pid);
            lock.release();
            deleteContainer(g, o.id, true);
            throw;
        }
    }
    installForwarders(c.pid, c.consoleMaster.fd >= 0);
    int status = 0;
    try {
        // The init's descriptor must be the FIFO's last reader: releaseInit waits for it
        // to close at the init's execve.
        c.fifo.reset();
        releaseInit(store, c.state);
        lock.release();  // state/kill/ps may look at it while it runs
        if (c.consoleMaster.fd >= 0) {
            ForegroundConsole console(c.consoleMaster.fd);
            console.pump(c.pidfd.fd);
        }
        while (::waitpid(c.pid, &status, 0) < 0) {
            if (errno != EINTR) throwErrno("waiting for the container process");
        }
    } catch (...) {
        killAndReap(c.pid);
        stopForwarding();
        lock.release();
        deleteContainer(g, o.id, true);
        throw;
    }
    stopForwarding();
    if (trace) trace->finish();
    if (recorder) {
        try {
            writeRecordOutput(recordDir, recorder->collect());
        } catch (...) {
            if (!keep) deleteContainer(g, o.id, true);
            throw;
        }
    }
    // The container ended: delete it like `caprun delete` (what is left in its cgroup is
    // killed, poststop hooks run, the cgroup and the state directory are removed), unless
    // --keep leaves that to a later `delete`.
    if (!keep) deleteContainer(g, o.id, true);
    return waitStatusToExitCode(status);
}
}  // namespace caprun
