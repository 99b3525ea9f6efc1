// What this host's kernel offers beyond capabilities, for the fields whose decision depends
// on it (LSMs, resctrl, the rdma controller). Read once per process; tests build their own
// values to plan for any host.
#pragma once

#include <string>

namespace caprun {

struct PlatformFacts {
    bool apparmorEnabled = false;  // /sys/module/apparmor/parameters/enabled says Y
    bool selinuxEnabled = false;   // selinuxfs mounted at /sys/fs/selinux
    bool resctrlMounted = false;   // /sys/fs/resctrl is a resctrl mount
    bool rdmaController = false;   // an rdma cgroup controller exists (v1 or v2)

    // The running host, probed the first time and cached.
    static const PlatformFacts& probe();
};

}  // namespace caprun
