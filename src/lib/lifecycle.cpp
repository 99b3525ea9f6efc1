#include "caprun/lifecycle.hpp"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "caprun/cgroup_freezers.hpp"
#include "caprun/cgroups.hpp"
#include "caprun/error.hpp"
#include "caprun/hooks.hpp"
#include "caprun/intel_rdt.hpp"
#include "caprun/log.hpp"
#include "caprun/lost_container.hpp"
#include "caprun/net_devices.hpp"
#include "caprun/systemd_bus.hpp"
#include "caprun/trace_monitor.hpp"

namespace caprun {

namespace {

std::string upper(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

bool allDigits(const std::string& s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Waits until the init is gone (dead or a zombie its parent has not reaped yet) and the
// cgroup is empty. The kernel needs a moment after SIGKILL; give up after ~10 s.
void waitGone(const ContainerState& s, const Cgroup& cg) {
    for (int i = 0; i < 1000; ++i) {
        bool initAlive = processAlive(s.pid, s.pidStartTime);
        bool cgroupBusy = false;
        if (!cg.empty()) {
            for (pid_t p : cg.pids())
                if (processAlive(p, 0)) cgroupBusy = true;
        }
        if (!initAlive && !cgroupBusy) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    throw Error("container " + s.id + ": processes still alive 10 s after SIGKILL");
}

void killEverything(const ContainerState& s, const Cgroup& cg) {
    std::vector<pid_t> pids;
    if (!cg.empty()) {
        pids = cg.pids();
        cg.killAll(SIGKILL);
        // Frozen tasks only die once thawed.
        try {
            if (cg.frozen()) cg.thaw();
        } catch (const Error& e) {
            log::debug(std::string("thawing after SIGKILL: ") + e.what());
        }
    }
    if (processAlive(s.pid, s.pidStartTime)) {
        ::kill(s.pid, SIGKILL);
        pids.push_back(s.pid);
    }
    // Also a freezer that is not the container's own (someone froze its processes
    // elsewhere): the SIGKILL stays pending until that one is thawed too, as crun does.
    if (!pids.empty()) {
        try {
            CgroupHost host = detectCgroupHost();
            for (pid_t p : pids)
                for (const auto& file : thawFreezersOf(p, host, linuxCgroupKernel()))
                    log::warn("delete " + s.id + ": thawed " + file + " (pid " + std::to_string(p) +
                              " was frozen there)");
        } catch (const Error& e) {
            log::warn("delete " + s.id + ": " + e.what());
        }
    }
    waitGone(s, cg);
}

// The handle create kept next to state.json (lost_container.hpp); nullopt when unreadable.
std::optional<ContainerHandle> readHandle(const StateStore& store, const std::string& id) {
    std::ifstream in(store.containerDir(id) + "/handle");
    if (!in) return std::nullopt;
    std::stringstream text;
    text << in.rdbuf();
    return parseHandle(text.str());
}

}  // namespace

int parseSignal(const std::string& text) {
    if (allDigits(text)) {
        int n = 0;
        try {
            n = std::stoi(text);
        } catch (const std::exception&) {
            n = -1;
        }
        if (n <= 0 || n > SIGRTMAX)
            throw Error("invalid signal \"" + text + "\": no such signal number");
        return n;
    }
    std::string name = upper(text);
    if (name.rfind("SIG", 0) == 0) name = name.substr(3);
    if (name.rfind("RTMIN", 0) == 0 || name.rfind("RTMAX", 0) == 0) {
        bool min = name[3] == 'M' && name[4] == 'I';
        std::string rest = name.substr(5);
        int off = 0;
        if (!rest.empty()) {
            if ((rest[0] != '+' && rest[0] != '-') || !allDigits(rest.substr(1)))
                throw Error("invalid signal \"" + text + "\"");
            off = std::stoi(rest.substr(1)) * (rest[0] == '-' ? -1 : 1);
        }
        int n = (min ? SIGRTMIN : SIGRTMAX) + off;
        if (n < SIGRTMIN || n > SIGRTMAX)
            throw Error("invalid signal \"" + text + "\": out of range");
        return n;
    }
    for (int n = 1; n < SIGRTMIN; ++n) {
        const char* abbrev = ::sigabbrev_np(n);
        if (abbrev != nullptr && name == abbrev) return n;
    }
    // Aliases glibc's table spells differently.
    if (name == "IOT") return SIGABRT;
    if (name == "POLL") return SIGIO;
    throw Error("invalid signal \"" + text + "\": not a signal name or number");
}

std::string containerStateJson(const RuntimeContext& g, const std::string& id) {
    StateStore store(g.root);
    return stateJson(store.load(id));
}

void killContainer(const RuntimeContext& g, const std::string& id, int sig, bool all) {
    StateStore store(g.root);
    auto lock = store.lockContainer(id);
    ContainerState s = store.load(id);
    ContainerStatus status = liveStatus(s);
    if (status == ContainerStatus::Stopped || status == ContainerStatus::Creating)
        throw Error("cannot send signal " + std::to_string(sig) + " to container " + id +
                    ": container not running");
    Cgroup cg(s.cgroupPaths);
    if (all && !cg.empty()) {
        cg.killAll(sig);
        if (sig == SIGKILL && status == ContainerStatus::Paused) cg.thaw();
        return;
    }
    if (::kill(s.pid, sig) != 0) {
        if (errno == ESRCH)
            throw Error("cannot send signal " + std::to_string(sig) + " to container " + id +
                        ": container not running");
        throwErrno("sending signal " + std::to_string(sig) + " to container " + id + " (pid " +
                   std::to_string(s.pid) + ")");
    }
    if (sig == SIGKILL && status == ContainerStatus::Paused && !cg.empty()) cg.thaw();
}

void deleteContainer(const RuntimeContext& g, const std::string& id, bool force) {
    StateStore store(g.root);
    StateStore::validateId(id);
    ContainerLock lock;
    try {
        lock = store.lockContainer(id);
    } catch (const Error&) {
        if (force) return;
        throw;
    }
    // Without a readable state.json: every other means of finding the container's processes
    // (lost_container.hpp). The state goes only when none of them is left; otherwise it stays,
    // so that a later delete can try again, and the error says what still runs and where.
    auto removeLost = [&](const std::string& why) {
        CgroupHost host;
        try {
            host = detectCgroupHost();
        } catch (const Error& e) {
            log::warn("delete --force " + id + ": " + e.what());
        }
        LostContainerSearch search =
            planLostContainerSearch(id, readHandle(store, id), host, store.execFifoPath(id));
        if (!search.systemdUnit.empty()) {
            try {
                stopSystemdUnit(search.systemdUnit, search.systemdUserBus);
            } catch (const Error& e) {
                log::warn("delete --force " + id + ": " + e.what());
            }
        }
        LinuxProcessTable procs;
        LostContainerOutcome out = killLostContainer(search, host, linuxCgroupKernel(), procs);
        for (const auto& w : out.warnings) log::warn("delete --force " + id + ": " + w);
        if (!out.clean()) {
            std::string left;
            for (const auto& p : out.stillRunning) left += (left.empty() ? "" : "; ") + p;
            throw Error("delete --force " + id + ": " + why +
                        ", and still running after SIGKILL: " + left + "; its state directory " +
                        store.containerDir(id) + " is kept");
        }
        std::string killed;
        for (const auto& p : out.killed) killed += (killed.empty() ? "" : ", ") + p;
        log::warn("delete --force " + id + ": " + why + "; " +
                  (killed.empty() ? "no process of it found" : "killed " + killed) +
                  "; removing its state");
        stopTraceMonitor(store.containerDir(id));
        stopTraceMonitor(store.containerDir(id), 5000, kRecordMonitorFile);
        store.remove(id);
    };
    if (!store.exists(id)) {
        // A directory without state.json: a create that died half-way, possibly after it
        // made the cgroup. Nothing else can refer to it; remove it (as runc does).
        if (!force) {
            stopTraceMonitor(store.containerDir(id));
            stopTraceMonitor(store.containerDir(id), 5000, kRecordMonitorFile);
            store.remove(id);
            throw Error("container " + id + " does not exist");
        }
        removeLost("it has no state.json");
        return;
    }
    ContainerState s;
    try {
        s = store.load(id);
    } catch (const Error& e) {
        if (!force) throw;
        removeLost(e.what());
        return;
    }
    ContainerStatus status = liveStatus(s);
    Cgroup cg(s.cgroupPaths, s.cgroupCreatedParents);
    if ((status == ContainerStatus::Running || status == ContainerStatus::Paused) && !force)
        throw Error("cannot delete container " + id + " that is not stopped: it is " +
                    statusName(status) + " (use delete --force, or kill it first)");
    // Created containers are deleted without --force (runc does too): the init has not run
    // user code yet. Anything still alive in the cgroup goes with it.
    killEverything(s, cg);
    // The detached tracer (annotation run.caprun.trace-eperm) writes its report, and the
    // recorder (run.caprun.record) its directory, now that the container's processes are
    // gone, and exit.
    stopTraceMonitor(store.containerDir(id));
    stopTraceMonitor(store.containerDir(id), 5000, kRecordMonitorFile);
    if (!s.intelRdtGroup.empty()) {
        LinuxCgroupKernel resctrl;
        for (const auto& w : leaveIntelRdt(
                 {s.intelRdtGroup, s.intelRdtGroupCreated, s.intelRdtMonitorGroup}, resctrl))
            log::warn("delete " + id + ": " + w);
    }
    if (!s.netDevices.empty()) {
        LinuxNetDeviceKernel netKernel;
        for (const auto& w : detachContainerNetDevices(
                 s.netDevices, {s.netDevicesNamespace, s.netDevicesNamespacePinned}, netKernel))
            log::warn("delete " + id + ": " + w);
    }
    // systemd removes the scope's cgroup with the unit; what caprun made itself goes after.
    if (s.systemdCgroup) stopSystemdUnit(s.systemdUnit, s.systemdUserBus);
    cg.destroy();
    if (!s.poststop.empty())
        runHooksLoggingFailures(HookKind::Poststop, s.poststop,
                                stateJson(s, ContainerStatus::Stopped));
    store.remove(id);
}

std::vector<pid_t> containerPids(const RuntimeContext& g, const std::string& id) {
    StateStore store(g.root);
    ContainerState s = store.load(id);
    Cgroup cg(s.cgroupPaths);
    if (!cg.empty()) return cg.pids();
    // No cgroup (--cgroup-manager disabled): the init is all we know of.
    if (processAlive(s.pid, s.pidStartTime)) return {s.pid};
    return {};
}

void pauseContainer(const RuntimeContext& g, const std::string& id) {
    StateStore store(g.root);
    auto lock = store.lockContainer(id);
    ContainerState s = store.load(id);
    ContainerStatus status = liveStatus(s);
    if (status != ContainerStatus::Running && status != ContainerStatus::Created)
        throw Error("cannot pause container " + id + ": container not running (it is " +
                    statusName(status) + ")");
    Cgroup cg(s.cgroupPaths);
    if (cg.empty()) throw Error("cannot pause container " + id + ": it has no cgroup");
    cg.freeze();
    s.status = ContainerStatus::Paused;
    store.save(s);
}

void resumeContainer(const RuntimeContext& g, const std::string& id) {
    StateStore store(g.root);
    auto lock = store.lockContainer(id);
    ContainerState s = store.load(id);
    ContainerStatus status = liveStatus(s);
    if (status != ContainerStatus::Paused)
        throw Error("cannot resume container " + id + ": container not paused (it is " +
                    statusName(status) + ")");
    Cgroup cg(s.cgroupPaths);
    cg.thaw();
    s.status = ContainerStatus::Running;
    store.save(s);
}

void updateContainer(const RuntimeContext& g, const std::string& id, const Resources& r) {
    StateStore store(g.root);
    auto lock = store.lockContainer(id);
    ContainerState s = store.load(id);
    ContainerStatus status = liveStatus(s);
    if (status == ContainerStatus::Stopped)
        throw Error("cannot update container " + id + ": container not running");
    Cgroup cg(s.cgroupPaths);
    if (cg.empty()) throw Error("cannot update container " + id + ": it has no cgroup");
    // Device rules are only rewritten when the update names some; then the container's own
    // linux.devices stay allowed, read from its bundle.
    std::vector<Device> devices;
    if (!r.devices.empty()) {
        try {
            Spec spec = loadBundleSpec(s.bundle);
            if (spec.linux) devices = spec.linux->devices;
        } catch (const Error& e) {
            log::warn("update: could not read linux.devices from the bundle (" +
                      std::string(e.what()) + "); only the update's device rules apply");
        }
    }
    // On a pure v2 host a resource whose controller the container's cgroup lacks is refused
    // before anything changes.
    cg.checkControllers(r);
    if (!s.systemdCgroup) {
        cg.apply(r, devices, !r.devices.empty());
        return;
    }
    // systemd: unit properties where it has them (so a daemon-reload keeps them), files for
    // the rest.
    SystemdCgroupPlan plan =
        planSystemdUpdate(s.systemdUnit, r, devices, detectSystemdHostFacts(s.systemdUserBus));
    if (r.memory && r.memory->checkBeforeUpdate.value_or(false) && r.memory->limit) {
        // The usage check lives in apply; the same value goes to MemoryMax right after.
        Resources check;
        check.memory = MemoryResources{};
        check.memory->limit = r.memory->limit;
        check.memory->checkBeforeUpdate = true;
        cg.apply(check, {}, false);
    }
    setSystemdUnitProperties(s.systemdUnit, plan.properties, s.systemdUserBus);
    cg.apply(plan.files, devices, !r.devices.empty());
}

std::vector<SharedParentCleanup> removeIdleCgroupParents() {
    // The container id only names the leaf, which is not looked at.
    return Cgroup::place(detectCgroupHost(), "", "cleanup").removeIdleSharedParents();
}

std::vector<ListedContainer> listContainers(const RuntimeContext& g) {
    StateStore store(g.root);
    std::vector<ListedContainer> out;
    for (auto& s : store.list()) {
        ContainerStatus st = liveStatus(s);
        out.push_back({std::move(s), st});
    }
    return out;
}

}  // namespace caprun
