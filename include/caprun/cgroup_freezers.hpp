// The freezers a process is in, wherever they are: delete --force must thaw them for SIGKILL
// to take effect, also when the container's processes were frozen in a freezer cgroup that is
// not the container's own (crun thaws them too).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "caprun/cgroup_host.hpp"
#include "caprun/cgroup_kernel.hpp"

namespace caprun {

// One freezer directory that holds a process (or is an ancestor of the one that does).
struct FreezerDir {
    std::string dir;  // absolute, below the hierarchy's mount point
    bool v2 = false;  // cgroup.freeze; else v1 freezer.state
    bool operator==(const FreezerDir&) const = default;
};

// Pure: from the text of /proc/<pid>/cgroup, the v1 freezer and v2 directories the process is
// in and each of their ancestors up to the mount's root, deepest first. A hierarchy the host
// has not mounted is left out.
std::vector<FreezerDir> freezerDirsOf(const std::string& procPidCgroup, const CgroupHost& host);

// Thaws every frozen freezer `pid` is in (freezerDirsOf; v1: a directory whose
// freezer.self_freezing is 1 gets THAWED, v2: cgroup.freeze 1 gets 0). Returns the files it
// wrote. A process that is gone (no /proc/<pid>/cgroup) has nothing to thaw; a failed write
// is an Error naming the file.
std::vector<std::string> thawFreezersOf(pid_t pid, const CgroupHost& host, CgroupKernel& k);

}  // namespace caprun
