// A container's cgroup: creating its directories, entering, applying LinuxResources,
// freezing, listing and killing its processes, and removing it. The host layout, the
// resource plan and the device rules are in cgroup_host.hpp, cgroup_plan.hpp and
// cgroup_devices.hpp (included here); Cgroup only performs what they decide.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "caprun/cgroup_controllers.hpp"
#include "caprun/cgroup_devices.hpp"
#include "caprun/cgroup_host.hpp"
#include "caprun/cgroup_kernel.hpp"
#include "caprun/cgroup_plan.hpp"
#include "caprun/spec.hpp"

namespace caprun {

// What removeIdleSharedParents did with one of the default caprun/ parents.
struct SharedParentCleanup {
    std::string dir;
    bool removed = false;
    std::string keptBecause;  // when not removed: what still uses it, or the error
    bool failed = false;      // kept because removing it failed (keptBecause is the error)
};

// A container's cgroup: one directory per v1 hierarchy it uses and/or one v2 directory.
// Every file, directory, lock, signal and BPF call goes through the CgroupKernel it was
// given (cgroup_kernel.hpp), linuxCgroupKernel() unless a test passes its double.
class Cgroup {
  public:
    Cgroup() = default;
    // From state.json's cgroupPaths.
    explicit Cgroup(std::map<std::string, std::string> paths,
                    std::vector<std::string> createdParents = {},
                    CgroupKernel& kernel = linuxCgroupKernel())
        : paths_(std::move(paths)), createdParents_(std::move(createdParents)), kernel_(&kernel) {}

    // Pure: where the container's cgroup goes. cgroupsPath absolute: below each
    // hierarchy's root; relative: below the runtime's own cgroup in that hierarchy;
    // empty: "caprun/<id>" relative. Uses every v1 hierarchy present (including
    // name=systemd, as runc does) and, on v2/hybrid, the unified one.
    static Cgroup place(const CgroupHost& host, const std::string& cgroupsPath,
                        const std::string& id, CgroupKernel& kernel = linuxCgroupKernel());

    const std::map<std::string, std::string>& paths() const { return paths_; }
    // The parent directories create() made (top first), which destroy() removes again when
    // nothing else uses them; kept in state.json.
    const std::vector<std::string>& createdParents() const { return createdParents_; }
    bool empty() const { return paths_.empty(); }

    // mkdir -p each directory; on v2 enables the needed controllers in the parents'
    // cgroup.subtree_control. On failure removes what it created. Remembers the parents
    // it had to create (createdParents()), except the default caprun/ parent, which stays
    // for the next container (removeIdleSharedParents removes it). Runs under
    // a host-wide flock (on the first hierarchy's root) that destroy() takes too, so a
    // concurrent delete cannot remove a parent between its mkdir and the container's.
    void create();

    // The unified (v2) directory, or "" on a v1-only layout.
    std::string unifiedDir() const;
    // Writes pid into cgroup.procs of every directory; of every v1 one only when the process
    // already started in the unified directory (CLONE_INTO_CGROUP).
    void enter(pid_t pid, bool inUnifiedAlready = false) const;

    // Applies resources and device rules (v1 devices.allow/deny, or a v2 eBPF device
    // filter attached to the unified directory; when `devices` is empty and
    // `linuxDevices` too, no device rules are touched — used by update). On v1 a realtime
    // runtime first raises the ancestors' cpu.rt_runtime_us as far as needed
    // (planRtBudget, under the flock); without CONFIG_RT_GROUP_SCHED it is an Error.
    void apply(const Resources& r, const std::vector<Device>& linuxDevices = {},
               bool applyDevices = true) const;

    // Before `caprun update` changes anything: on a pure v2 layout (one unified directory)
    // throws when a resource of `r` needs a controller that directory does not offer
    // (availableControllers + checkV2Controllers); nothing to check on v1 or hybrid.
    void checkControllers(const Resources& r) const;

    // v1 freezer.state FROZEN/THAWED (waiting until the kernel reports it), or v2
    // cgroup.freeze 1/0 (waiting for cgroup.events frozen). Error when neither exists.
    void freeze() const;
    void thaw() const;
    bool frozen() const;

    // Every pid in the container's cgroup (and below), from cgroup.procs.
    std::vector<pid_t> pids() const;

    // Sends `sig` to every pid in pids(); SIGKILL goes through cgroup v2's cgroup.kill where
    // the kernel has it. Frozen v1 containers are thawed for SIGKILL delivery by the caller
    // (delete --force) as needed.
    void killAll(int sig) const;

    // Removes the directories (deepest first, retrying while the kernel still lists exiting
    // tasks), then, under the flock, the created parents that are empty — a parent another
    // container still uses stays (the caller that made it, e.g. dockerd's /docker, is not
    // asked). Absent directories are not an error.
    void destroy() const;

    // On a Cgroup place()d with the default cgroupsPath: removes, under the flock, each
    // caprun/ parent that no cgroup and no process uses (`caprun cleanup`); the others are
    // listed with what uses them. Parents that do not exist are not listed.
    std::vector<SharedParentCleanup> removeIdleSharedParents() const;

  private:
    std::map<std::string, std::string> paths_;
    std::vector<std::string> createdParents_;
    // The default cgroupsPath's caprun/ parents (from place()): never recorded as created,
    // so destroy() leaves them.
    std::vector<std::string> sharedParents_;
    CgroupKernel* kernel_ = &linuxCgroupKernel();
};

}  // namespace caprun
