// Control groups for a container: finding the host's layout (v1, v2 or hybrid), placing
// the container's directories, applying LinuxResources, freezing, listing and killing its
// processes, and removing it. Plan, then apply: what to write where is computed by pure
// functions (planResourceWrites, v1DeviceLines, deviceFilterProgram) that tests check
// without root; Cgroup only performs the writes.
#pragma once

#include <linux/bpf.h>
#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "caprun/global_options.hpp"
#include "caprun/spec.hpp"

namespace caprun {

enum class CgroupLayout {
    V1,      // only cgroup v1 hierarchies
    V2,      // only the unified hierarchy
    Hybrid,  // v1 controllers plus a cgroup2 mount (systemd's "hybrid"; these machines)
};
std::string layoutName(CgroupLayout l);

// One mounted cgroup hierarchy, from /proc/self/mountinfo.
struct CgroupMount {
    std::string mountPoint;                // /sys/fs/cgroup/memory
    std::string root;                      // the mount's root inside the hierarchy ("/")
    bool unified = false;                  // cgroup2
    std::vector<std::string> controllers;  // v1: from super options ("cpu","cpuacct",
                                           // "name=systemd"); v2: cgroup.controllers
};

// The host's cgroup facts, gathered once; tests build them from fake files.
struct CgroupHost {
    CgroupLayout layout = CgroupLayout::V2;
    std::vector<CgroupMount> mounts;
    // The runtime's own cgroup per hierarchy, from /proc/self/cgroup: v1 controller name
    // (each of a comma list) -> path; "" -> the v2 path.
    std::map<std::string, std::string> selfPaths;

    const CgroupMount* v1Mount(const std::string& controller) const;  // nullptr if absent
    const CgroupMount* unifiedMount() const;                          // nullptr if absent
    bool hasV1(const std::string& controller) const { return v1Mount(controller) != nullptr; }
};

// Pure: builds CgroupHost from the text of /proc/self/mountinfo and /proc/self/cgroup;
// `readControllers(mountPoint)` returns the content of <mountPoint>/cgroup.controllers.
// Throws Error when no cgroup hierarchy is mounted at all.
CgroupHost parseCgroupHost(const std::string& mountinfo, const std::string& procSelfCgroup,
                           const std::string& unifiedControllers);

// Reads the real files of this process.
CgroupHost detectCgroupHost();

// Which manager drives cgroups for this invocation.
enum class CgroupManager { Cgroupfs, Systemd, Disabled };

// From --systemd-cgroup / --cgroup-manager. systemd requires a running systemd
// (`systemdRunDir`, normally /run/systemd/system, exists): without one this throws an
// Error saying so instead of silently using cgroupfs; so is a caprun built without
// libsystemd (systemd_bus.hpp).
CgroupManager selectCgroupManager(const GlobalOptions& g,
                                  const std::string& systemdRunDir = "/run/systemd/system");

// One file write of a plan: <dir of controller>/<file> = value.
struct CgroupWrite {
    std::string controller;  // v1 controller name, or "unified" for the v2 directory
    std::string file;        // "memory.limit_in_bytes", "memory.max", ...
    std::string value;
    bool optional = false;  // skipped with a warning when the file does not exist
                            // (blkio/hugetlb/kmem files that kernels drop or lack)
    std::string what;       // the spec field, for errors: "linux.resources.memory.limit"
};

// What applying LinuxResources means on one host: the writes in order, and the settings
// that have no file on this host (e.g. swappiness on v2), each said in words.
struct CgroupPlan {
    std::vector<CgroupWrite> writes;
    std::vector<std::string> notApplied;  // "linux.resources.memory.swappiness: ..."
};

// Pure: the plan that applies `r` on `host`. Each resource goes to the v1 controller when
// that controller is mounted as v1, else to the unified directory with v2 file names and
// value conversions (cpu.weight from shares, cpu.max from quota/period, memory.swap.max
// from swap-limit, io.weight / io.max, pids.max "max" for -1 ...). `unified` entries go to
// the unified directory as given. Devices are not included (see below). Throws Error for
// values the kernel cannot take (e.g. swap below limit) or for memory/cpu/pids/unified
// settings with no place to go (no such controller anywhere).
CgroupPlan planResourceWrites(const Resources& r, const CgroupHost& host);

// The default devices every container may use (null, zero, full, random, urandom, tty,
// console, ptmx, pts/*), as runc and crun allow them, appended after the spec's rules.
std::vector<DeviceCgroupRule> defaultDeviceRules();

// The effective rule list: spec rules, then allow rules for the spec's linux.devices,
// then defaultDeviceRules(). Later rules win (as in the kernel's v1 list and runc).
std::vector<DeviceCgroupRule> effectiveDeviceRules(const std::vector<DeviceCgroupRule>& specRules,
                                                   const std::vector<Device>& linuxDevices);

// Pure, v1: (file, line) pairs in order: ("devices.deny","a") / ("devices.allow",
// "c 1:3 rwm") ... Throws Error on a bad type or access string.
std::vector<std::pair<std::string, std::string>> v1DeviceLines(
    const std::vector<DeviceCgroupRule>& rules);

// Pure, v2: a BPF_PROG_TYPE_CGROUP_DEVICE program that evaluates the rules like the v1
// list (the last matching rule decides; nothing matched: deny). Same approach as runc's
// devicefilter: rules are checked from last to first, each a block that jumps to the next
// block on mismatch and returns the rule's verdict on a match.
std::vector<bpf_insn> deviceFilterProgram(const std::vector<DeviceCgroupRule>& rules);

// A container's cgroup: one directory per v1 hierarchy it uses and/or one v2 directory.
class Cgroup {
  public:
    Cgroup() = default;
    // From state.json's cgroupPaths.
    explicit Cgroup(std::map<std::string, std::string> paths,
                    std::vector<std::string> createdParents = {})
        : paths_(std::move(paths)), createdParents_(std::move(createdParents)) {}

    // Pure: where the container's cgroup goes. cgroupsPath absolute: below each
    // hierarchy's root; relative: below the runtime's own cgroup in that hierarchy;
    // empty: "caprun/<id>" relative. Uses every v1 hierarchy present (including
    // name=systemd, as runc does) and, on v2/hybrid, the unified one.
    static Cgroup place(const CgroupHost& host, const std::string& cgroupsPath,
                        const std::string& id);

    const std::map<std::string, std::string>& paths() const { return paths_; }
    // The parent directories create() made (top first), which destroy() removes again when
    // nothing else uses them; kept in state.json.
    const std::vector<std::string>& createdParents() const { return createdParents_; }
    bool empty() const { return paths_.empty(); }

    // mkdir -p each directory; on v2 enables the needed controllers in the parents'
    // cgroup.subtree_control. On failure removes what it created. Remembers the parents
    // it had to create (createdParents()).
    void create();

    // Writes pid into cgroup.procs of every directory.
    void enter(pid_t pid) const;

    // Applies resources and device rules (v1 devices.allow/deny, or a v2 eBPF device
    // filter attached to the unified directory; when `devices` is empty and
    // `linuxDevices` too, no device rules are touched — used by update).
    void apply(const Resources& r, const std::vector<Device>& linuxDevices = {},
               bool applyDevices = true) const;

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
    // tasks), then the created parents that are empty — a parent another container still
    // uses stays (the caller that made it, e.g. dockerd's /docker, is not asked). Absent
    // directories are not an error.
    void destroy() const;

  private:
    std::map<std::string, std::string> paths_;
    std::vector<std::string> createdParents_;
};

}  // namespace caprun
