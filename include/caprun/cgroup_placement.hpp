// Where the container's cgroup goes, decided before anything exists: the cgroupfs
// directories or the systemd unit, whether a rootless container without a delegated cgroup
// skips cgroups, and every resource checked against what the host's controllers can take.
// create applies this placement; check prints the same decision.
#pragma once

#include <optional>
#include <string>

#include "caprun/cgroup_host.hpp"
#include "caprun/cgroups.hpp"
#include "caprun/spec.hpp"
#include "caprun/systemd_cgroup.hpp"

namespace caprun {

struct CheckReport;

struct CgroupPlacement {
    CgroupManager manager = CgroupManager::Disabled;
    CgroupHost host;
    Cgroup placed;                             // cgroupfs: the container's directories
    std::optional<SystemdCgroupPlan> systemd;  // systemd: the unit to start
    bool rootlessSkipped = false;  // rootless without a writable cgroup: no cgroup at all
    std::string warning;           // lenient: the limits that will not be applied
    // Device rules on the container's cgroup (v1 devices.* or the v2 eBPF filter): not for a
    // rootless container (rootlessDevicesNote says why; check shows it).
    bool deviceRules = true;
};

// `manager` as selectCgroupManager chose it; `rootless` is the runtime's rootless mode and
// `policy` the resolved capability policy ("strict" | "lenient"). Throws Error for what
// create refuses: a resource the host cannot take, a v2 controller the container's cgroup
// does not offer, limits a rootless container cannot have under strict.
CgroupPlacement planCgroupPlacement(CgroupManager manager, bool rootless, const Spec& spec,
                                    const std::string& id, const std::string& policy);

// "Cgroups:" in check: the manager, the directories or unit, or why cgroups are skipped.
void addCgroupSection(CheckReport& report, const CgroupPlacement& placement);

}  // namespace caprun
