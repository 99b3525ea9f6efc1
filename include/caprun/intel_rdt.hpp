// linux.intelRdt: the container's processes join a resctrl group (an Intel RDT / AMD QoS
// class of service) under /sys/fs/resctrl, made and given its schemata when the config
// says so, with a monitoring group of the container's own when asked. The rules are the
// runtime-spec's: no closID means a group named after the container; a closID with
// schemata is made when missing and compared when present; a closID alone names a
// pre-configured group that must exist. resctrl is a kernfs like cgroupfs, so the executor
// goes through the cgroup file seam (CgroupKernel) and its recording double.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "caprun/cgroup_kernel.hpp"
#include "caprun/spec.hpp"

namespace caprun {

inline constexpr const char* kResctrlRoot = "/sys/fs/resctrl";

struct IntelRdtPlan {
    bool wanted = false;          // linux.intelRdt is set
    std::string group;            // the closID, or the container id
    bool containerGroup = false;  // no closID: the group is the container's own
    bool preConfigured = false;   // a closID without schemata: the group must exist
    // What goes to the group's schemata file, in order (one write each): the l3/memBw
    // combination first, `schemata` last, as the spec orders them.
    std::vector<std::string> schemataWrites;
    // The l3/memBw lines an existing closID group must already have.
    std::vector<std::string> expectedLines;
    bool monitoring = false;  // mon_groups/<container id> inside the group
    std::string refusal;      // non-empty: why it cannot be applied (relative to linux.intelRdt)
};

// Pure: what create does for linux.intelRdt of container `id` on a host where resctrl is
// (or is not) mounted.
IntelRdtPlan planIntelRdt(const Spec& spec, const std::string& id, bool resctrlMounted);

// What create did, for delete (kept in state.json).
struct IntelRdtGroup {
    std::string dir;         // the group the container joined; empty: none
    bool created = false;    // made by create: delete removes it
    std::string monitorDir;  // the container's monitoring group; empty: none
};

// Makes or checks the group, writes its schemata, and moves `pid` into it (and into its
// monitoring group). On failure nothing made stays, and the error names the field and the
// kernel's reason (resctrl's info/last_cmd_status).
IntelRdtGroup joinIntelRdt(const IntelRdtPlan& plan, const std::string& id, pid_t pid,
                           CgroupKernel& k, const std::string& root = kResctrlRoot);

// delete: removes the monitoring group and the group create made; returns what it could not.
std::vector<std::string> leaveIntelRdt(const IntelRdtGroup& g, CgroupKernel& k);

}  // namespace caprun
