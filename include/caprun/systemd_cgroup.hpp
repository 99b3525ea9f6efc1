// The systemd cgroup driver, planning half: what caprun asks systemd for when a container's
// cgroup is a transient unit (--systemd-cgroup, --cgroup-manager systemd). Pure functions
// over the spec's cgroupsPath and resources; the D-Bus calls are in systemd_bus.hpp.
// Rules follow runc's libcontainer/cgroups/systemd: cgroupsPath "slice:prefix:name" gives
// the unit "<prefix>-<name>.scope" in "slice" (a name ending in ".slice" is itself a slice
// unit), resources become unit properties where systemd has one, the rest go to files.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "caprun/cgroups.hpp"
#include "caprun/check_report.hpp"
#include "caprun/spec.hpp"

namespace caprun {

// "system.slice:docker:abc" -> {system.slice, docker, abc}.
struct SystemdCgroupPath {
    std::string slice;  // the parent slice unit ("system.slice")
    std::string prefix;
    std::string name;
};

// Parses linux.cgroupsPath for the systemd driver. Empty: the default slice
// (system.slice, user.slice when `rootless`), prefix "caprun", name = the container id.
// Anything but three colon-separated parts is an Error (as runc). An empty slice part
// means the default slice.
SystemdCgroupPath parseSystemdCgroupPath(const std::string& cgroupsPath, const std::string& id,
                                         bool rootless);

// The cgroup path of a slice as systemd lays it out: "a-b-c.slice" ->
// "/a.slice/a-b.slice/a-b-c.slice", "-.slice" -> "/". Error for a name that is not a valid
// slice ("", "x", "a--b.slice", "-a.slice", "a/b.slice").
std::string expandSlice(const std::string& slice);

// The unit name: "<prefix>-<name>.scope", or `name` itself when it ends in ".slice" (runc).
// Error for characters systemd does not allow in unit names.
std::string systemdUnitName(const SystemdCgroupPath& p);

// One property of StartTransientUnit / SetUnitProperties, typed as D-Bus wants it.
using DeviceAllowList = std::vector<std::pair<std::string, std::string>>;  // a(ss)
using SystemdValue =
    std::variant<bool, std::uint64_t, std::string, std::vector<std::string>,
                 std::vector<std::uint32_t>, std::vector<std::uint8_t>, DeviceAllowList>;
struct SystemdProperty {
    std::string name;
    SystemdValue value;
    std::string what;  // the spec field it comes from, "" for caprun's own
};

// The D-Bus signature of a property value: "b", "t", "s", "as", "au", "ay", "a(ss)".
std::string systemdSignature(const SystemdValue& v);
// How `check` shows it: "MemoryMax=1048576", "AllowedCPUs=0-3,5", "Delegate=yes".
std::string systemdPropertyText(const SystemdProperty& p);

// runc's conversions.
std::uint64_t cpuSharesToWeight(std::uint64_t shares);  // 1 + ((shares-2)*9999)/262142
// CPUQuotaPerSecUSec from quota/period in microseconds, rounded up to 10 ms (1% of a CPU,
// systemd's granularity); quota <= 0 is "infinity" (UINT64_MAX).
std::uint64_t cpuQuotaPerSecUSec(std::int64_t quota, std::uint64_t period);
// "0-3,5" -> bytes for AllowedCPUs/AllowedMemoryNodes: byte i holds CPUs 8i..8i+7, lowest
// CPU in the lowest bit. Error naming `what` on a malformed list.
std::vector<std::uint8_t> cpuListToMask(const std::string& list, const std::string& what);

// Everything the driver asks systemd for, and what is left for the cgroup files.
struct SystemdCgroupPlan {
    std::string unit;                         // caprun-t1.scope
    std::string slice;                        // system.slice
    std::string cgroupPath;                   // /system.slice/caprun-t1.scope, below the v2 root
    bool sliceUnit = false;                   // the unit is a slice (name ended in .slice)
    bool userManager = false;                 // started by the user's manager (user bus)
    std::vector<SystemdProperty> properties;  // without PIDs (added when the pid exists)
    // Resources with no systemd property (cpu burst/idle, io.max, hugetlb, unified, ...):
    // written to the unit's cgroup files after it started; devices are also enforced by
    // caprun's own device filter there (systemd cannot express deny rules).
    Resources files;
    std::vector<std::string> notes;  // choices worth telling the user ("DeviceAllow ...")
};

// Inputs that are facts of the host rather than the spec.
struct SystemdHostFacts {
    // The runtime's rootless mode: the user's own manager on the user bus, default slice
    // user.slice, and no device policy (a user's manager cannot attach eBPF programs).
    bool rootless = false;
    // The manager's own cgroup below the v2 root: "" for the system manager,
    // "/user.slice/user-<uid>.slice/user@<uid>.service" for a user's (systemd's fixed layout).
    std::string managerCgroup;
    std::string procDevices;  // /proc/devices, to name "char-<group>" device rules
};

// Pure: the cgroup of the user's systemd manager for the caller with effective uid `euid`
// in the user namespace whose /proc/self/uid_map reads `uidMap` (podman runs the runtime as
// uid 0 of the user's namespace: the manager is that of the uid it maps to). Error when the
// map does not map `euid`.
std::string userManagerCgroup(const std::string& uidMap, unsigned euid);

// Pure: the plan for creating the container's unit. `resources` may be null.
// `linuxDevices` are the spec's linux.devices (allowed in the device policy).
SystemdCgroupPlan planSystemdCgroup(const std::string& cgroupsPath, const std::string& id,
                                    const Resources* resources,
                                    const std::vector<Device>& linuxDevices,
                                    const SystemdHostFacts& facts);

// Pure: the properties `update` sets on a running unit, and the rest for files. Devices are
// only in the result when `r.devices` is not empty (as for cgroupfs).
SystemdCgroupPlan planSystemdUpdate(const std::string& unit, const Resources& r,
                                    const std::vector<Device>& linuxDevices,
                                    const SystemdHostFacts& facts);

// Where the started unit's cgroup is in each mounted hierarchy (keys as in
// Cgroup::paths()), from the text of /proc/<pid>/cgroup after systemd placed the pid:
// `joined` where systemd put it into the unit (the v2 hierarchy on a unified host);
// `missing` the v1 hierarchies systemd does not manage and every hierarchy of a slice unit,
// placed at the unit's path as runc does, for the caller to create and enter. Error when
// systemd was to place the pid but /proc/<pid>/cgroup does not show it in the unit.
struct SystemdCgroupPaths {
    std::map<std::string, std::string> joined, missing;
};
SystemdCgroupPaths systemdCgroupPaths(const CgroupHost& host, const std::string& procPidCgroup,
                                      const SystemdCgroupPlan& plan);

// `check`'s "systemd cgroup" section: text and a "systemdCgroup" JSON object with unit,
// slice, cgroupPath, properties (name, signature, value as text, from) and notes.
void addSystemdCgroupSection(CheckReport& report, const SystemdCgroupPlan& plan);

}  // namespace caprun
