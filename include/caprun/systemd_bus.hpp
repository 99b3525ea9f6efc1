// The systemd cgroup driver, executing half: the D-Bus calls to systemd's manager through
// sd-bus (libsystemd). Root talks to the system bus, falling back to systemd's private
// socket /run/systemd/private (as runc does); other users to their user bus. Each call
// waits for the job systemd queued and reports systemd's own error text with what caprun
// was doing.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "caprun/cgroups.hpp"
#include "caprun/systemd_cgroup.hpp"

namespace caprun {

// False when caprun was built without libsystemd: every function below then throws
// Error("... caprun was built without libsystemd ...").
bool systemdDriverBuilt();

// StartTransientUnit(plan.unit, "fail", plan.properties + PIDs=[pid]) and waits for the
// start job. A scope gets `pid` from systemd; a slice unit gets no pid (the caller moves it).
// On a failed job the unit is stopped and reset, so nothing is left.
void startSystemdUnit(const SystemdCgroupPlan& plan, pid_t pid, bool user);

// StopUnit(unit, "replace") and waits for the job, then ResetFailedUnit. A unit systemd no
// longer knows (a scope whose processes all exited is collected) is not an error.
void stopSystemdUnit(const std::string& unit, bool user);

// SetUnitProperties(unit, runtime=true, properties).
void setSystemdUnitProperties(const std::string& unit, const std::vector<SystemdProperty>& props,
                              bool user);

// AttachProcessesToUnit(unit, "", [pid]): the manager moves `pid` into the unit's cgroup.
// For exec under a user's manager: the user may not write the cgroup.procs of a common
// ancestor of where the process is and the scope, the manager can (asking the system
// manager itself when it cannot).
void attachToSystemdUnit(const std::string& unit, pid_t pid, bool user);

// The host facts the planner needs for the runtime's rootless mode `rootless` (the user's
// manager, on the user bus): that manager's cgroup, /proc/devices.
SystemdHostFacts detectSystemdHostFacts(bool rootless);

// After startSystemdUnit: the unit's cgroup as a Cgroup, from /proc/<pid>/cgroup
// (systemdCgroupPaths); the hierarchies systemd does not manage (v1 ones, or all for a
// slice unit) are created at the unit's path and `pid` is moved into them. Their parents
// made here are the Cgroup's createdParents.
Cgroup joinSystemdUnitCgroup(const CgroupHost& host, const SystemdCgroupPlan& plan, pid_t pid);

}  // namespace caprun
