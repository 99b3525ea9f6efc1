// What this host's kernel offers beyond capabilities, for the fields whose decision depends
// on it (LSMs, resctrl, the rdma controller), and what this build of caprun was linked
// with. Read once per process; tests build their own values to plan for any host.
#pragma once

#include <string>

namespace caprun {

struct PlatformFacts {
    bool apparmorEnabled = false;    // /sys/module/apparmor/parameters/enabled says Y
    bool selinuxEnabled = false;     // selinuxfs mounted at /sys/fs/selinux
    bool builtWithApparmor = false;  // linked with libapparmor
    bool builtWithSelinux = false;   // linked with libselinux
    bool resctrlMounted = false;     // /sys/fs/resctrl is a resctrl mount
    bool rdmaController = false;     // an rdma cgroup controller exists (v1 or v2)

    // The running host, probed the first time and cached.
    static const PlatformFacts& probe();
};

}  // namespace caprun
