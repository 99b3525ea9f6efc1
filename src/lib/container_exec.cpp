// exec: a new process in a running container, with its own process plan.
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

#include "caprun/cgroup_controllers.hpp"
#include "caprun/cgroups.hpp"
#include "caprun/console.hpp"
#include "caprun/container_process.hpp"
#include "caprun/error.hpp"
#include "caprun/runtime_context.hpp"
#include "caprun/json.hpp"
#include "caprun/keyring.hpp"
#include "caprun/lifecycle.hpp"
#include "caprun/hooks.hpp"
#include "caprun/process_kernel.hpp"
#include "caprun/process_plan.hpp"
#include "caprun/log.hpp"
#include "caprun/namespaces.hpp"
#include "caprun/rootfs.hpp"
#include "caprun/spec.hpp"
#include "caprun/spec_fields.hpp"
#include "caprun/seccomp_install.hpp"
#include "caprun/lsm.hpp"
#include "caprun/idmap.hpp"
#include "caprun/state.hpp"
#include "caprun/sync_channel.hpp"
#include "caprun/sys/atomic_write.hpp"
#include "caprun/sys/unique_fd.hpp"
#include "caprun/sysctl.hpp"
#include "caprun/trace.hpp"
#include "caprun/systemd_bus.hpp"

namespace caprun {

namespace {

struct ExecChildContext {
    const std::vector<OpenedNamespace>* opened;
    const ProcessPlan* plan;
    int sync;
    bool terminal;
    std::optional<ConsoleSize> consoleSize;
    bool foreground;
    int initRoot = -1;    // no mount namespace of its own: the init's root, to chroot into
    bool joined = false;  // a joiner entered every namespace before forking this process
};

// An exec'd process does not wait for start; a detached one stops dying with the runtime.
// The sync socket is close-on-exec: the runtime sees EOF once execve succeeded.
class ExecProcessKernel final : public LinuxProcessKernel {
  public:
    explicit ExecProcessKernel(bool foreground) : foreground_(foreground) {}
    void awaitStart() override {
        if (!foreground_) ::prctl(PR_SET_PDEATHSIG, 0);
    }

  private:
    bool foreground_;
};

[[noreturn]] void execChildMain(const ExecChildContext& c) {
    try {
        startClonedChild(c.sync);
        if (!c.joined) joinNamespaces(*c.opened);
        if (c.initRoot >= 0 && (::fchdir(c.initRoot) < 0 || ::chroot(".") < 0 || ::chdir("/") < 0))
            throwErrno("entering the container's root (chroot)");
        // Its own session and process group, as runc does for every process: the runtime's
        // group is outside the pid namespace (seen as 0). With a terminal,
        // makeControllingTerminal does the setsid.
        int slave = -1;
        if (c.terminal)
            slave = openContainerPty(c.sync, c.consoleSize);
        else if (::setsid() < 0)
            throwErrno("starting a new session for the exec'd process (setsid)");
        ExecProcessKernel kernel(c.foreground);
        applyProcessPlan(*c.plan, kernel, slave);
    } catch (const std::exception& e) {
        try {
            sendMsg(c.sync, Msg::Failed, e.what());
        } catch (...) {
        }
    }
    ::_exit(127);
}

}  // namespace

Process execProcessSpec(const ExecOptions& o, const Spec& spec) {
    Process p;
    if (!o.processFile.empty()) {
        auto doc = json::parseFile(o.processFile, o.processFile, kMaxConfigBytes);
        p = parseProcess(json::Node::root(doc));
    } else {
        if (!spec.process) throw Error("config.json of the container has no process");
        p = *spec.process;
        p.args = o.args;
        p.terminal = o.tty;
        p.consoleSize.reset();
    }
    if (o.tty) p.terminal = true;
    for (const auto& e : o.env) {
        auto eq = e.find('=');
        if (eq == std::string::npos)
            throw Error("exec: environment entry \"" + e + "\": expected KEY=VALUE");
        std::string key = e.substr(0, eq + 1);
        bool replaced = false;
        for (auto& cur : p.env)
            if (cur.compare(0, key.size(), key) == 0) {
                cur = e;
                replaced = true;
            }
        if (!replaced) p.env.push_back(e);
    }
    if (!o.cwd.empty()) p.cwd = o.cwd;
    if (o.uid) p.user.uid = *o.uid;
    if (o.gid) p.user.gid = *o.gid;
    p.user.additionalGids.insert(p.user.additionalGids.end(), o.additionalGids.begin(),
                                 o.additionalGids.end());
    if (!o.capAdd.empty()) {
        if (!p.capabilities) p.capabilities = Capabilities{};
        for (const auto& c : o.capAdd) {
            p.capabilities->bounding.push_back(c);
            p.capabilities->effective.push_back(c);
            p.capabilities->permitted.push_back(c);
        }
    }
    if (o.noNewPrivileges) p.noNewPrivileges = true;
    if (!o.apparmorProfile.empty()) p.apparmorProfile = o.apparmorProfile;
    if (!o.processLabel.empty()) p.selinuxLabel = o.processLabel;
    if (p.args.empty()) throw Error("exec: " + o.processFile + ": process.args is empty");
    return p;
}

int execInContainer(const RuntimeContext& g, const ExecOptions& o) {
    StateStore store(g.root);
    ContainerState st;
    {
        ContainerLock lock = store.lockContainer(o.id);
        st = store.load(o.id);
    }
    ContainerStatus live = liveStatus(st);
    if (live != ContainerStatus::Running && live != ContainerStatus::Created)
        throw Error("cannot exec in container " + o.id + ": it is " + statusName(live));
    Spec spec = loadBundleSpec(st.bundle);
    Process proc = execProcessSpec(o, spec);
    ProcessRequest request;
    request.role = ProcessRole::Exec;
    request.capPolicy = capPolicyFor(g.capPolicy, st);
    request.seccompProfile = st.seccompProfile;
    request.seccompCacheRoot = g.root;
    request.sessionKeyring = st.sessionKeyring;
    request.userNamespace = st.namespacePaths.count("user") > 0;
    request.preserveFds = o.preserveFds;
    ProcessPlan plan = planProcess(spec, proc, request, HostFacts::probe(), PlatformFacts::probe());
    requireStartable(plan);

    if (proc.terminal && o.consoleSocket.empty() && o.detach)
        throw Error("exec: a terminal with --detach needs --console-socket");

    // Join the init's namespaces: user first (it owns the others), mount last.
    NamespacePlan joinPlan;
    static const NamespaceKind order[] = {
        NamespaceKind::User, NamespaceKind::Ipc,    NamespaceKind::Uts,  NamespaceKind::Network,
        NamespaceKind::Pid,  NamespaceKind::Cgroup, NamespaceKind::Time, NamespaceKind::Mount};
    for (auto k : order) {
        auto it = st.namespacePaths.find(namespaceName(k));
        if (it == st.namespacePaths.end()) continue;
        std::string path = it->second;
        if (path.rfind("/proc/", 0) == 0) {
            // /proc/<pid>/ns/x of the init: check that pid is still the init.
            if (!processAlive(st.pid, st.pidStartTime))
                throw Error("cannot exec in container " + o.id + ": container not running");
        }
        joinPlan.join.push_back({k, path});
    }
    auto opened = openJoinedNamespaces(joinPlan);
    struct Closer {
        std::vector<OpenedNamespace>& o;
        ~Closer() { closeNamespaces(o); }
    } closer{opened};
    // The container shares the host's mount namespace: its root is the init's chroot.
    UniqueFd initRoot;
    if (!st.namespacePaths.count("mount")) {
        std::string root = "/proc/" + std::to_string(st.pid) + "/root";
        initRoot = UniqueFd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (initRoot.fd < 0 || !processAlive(st.pid, st.pidStartTime))
            throw Error("cannot exec in container " + o.id + ": container not running");
    }

    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        throwErrno("creating the sync socket");
    UniqueFd parentSock(sv[0]), childSock(sv[1]);
    ExecChildContext c{&opened,          &plan,     sv[1],      proc.terminal,
                       proc.consoleSize, !o.detach, initRoot.fd};
    int pidfd = -1;
    pid_t pid = 0;
    if (g.rootlessMode) {
        ExecChildContext joined = c;
        joined.joined = true;
        pid = cloneThroughJoiner(joinPlan, opened, 0, c.sync, sv[0], &pidfd, nullptr,
                                 [&joined] { execChildMain(joined); });
    } else {
        pid = cloneInNamespaces(joinPlan, opened, 0, &pidfd);
        if (pid == 0) {
            ::close(sv[0]);
            execChildMain(c);
        }
    }
    UniqueFd pidfdHolder(pidfd);
    childSock.reset();
    UniqueFd master;
    try {
        // execCPUAffinity.initial: where the process runs until it is in the cgroup.
        if (const auto& cpus = plan.attrs.affinityInitial; !cpus.empty())
            if (systemProcessAttrOps().setAffinity(pid, cpus) != 0)
                throwErrno("setting process.execCPUAffinity.initial (sched_setaffinity)");
        Cgroup cg(st.cgroupPaths);
        if (st.systemdCgroup && st.systemdUserBus) {
            // The user's manager moves it into the scope (the user may not); caprun the rest.
            attachToSystemdUnit(st.systemdUnit, pid, true);
            cg.enter(pid, true);
        } else if (!cg.empty()) {
            cg.enter(pid);
        }
        sendMsg(parentSock.fd, Msg::Go);
        for (;;) {
            Msg type;
            std::string payload;
            int passed = -1;
            bool got = recvMsg(parentSock.fd, type, payload, &passed);
            if (passed >= 0) master = UniqueFd(passed);
            if (!got) break;  // execve closed the socket
            if (type == Msg::Console && master.fd >= 0) continue;
            if (type == Msg::Failed) throw Error(payload);
            throw Error("unexpected message from the exec process");
        }
    } catch (...) {
        killAndReap(pid);
        throw;
    }
    if (master.fd >= 0 && !o.consoleSocket.empty()) {
        sendConsoleFd(o.consoleSocket, master.fd);
        master.reset();
    }
    if (!o.pidFile.empty())
        sys::writeFileAtomically(absolutePath(o.pidFile), std::to_string(pid), 0644,
                                 "writing the pid file");
    if (o.detach) return 0;
    installForwarders(pid, master.fd >= 0);
    if (master.fd >= 0) {
        ForegroundConsole console(master.fd);
        console.pump(pidfdHolder.fd);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            int err = errno;
            stopForwarding();
            throwSys("waiting for the exec process", err);
        }
    }
    stopForwarding();
    return waitStatusToExitCode(status);
}

}  // namespace caprun
