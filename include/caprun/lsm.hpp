// Linux security modules: process.apparmorProfile (exec --apparmor), process.selinuxLabel
// (exec --process-label) and linux.mountLabel. Applied when the host runs the LSM and
// caprun was built with its library; refused in planning otherwise, as runc does (running
// a container unconfined while the caller believes it confined is worse than failing).
#pragma once

#include <functional>
#include <string>

#include "caprun/platform_facts.hpp"
#include "caprun/spec.hpp"

namespace caprun {

struct RootfsPlan;

// "" when a profile/label can be applied on this host, else why not.
std::string apparmorRefusal(const PlatformFacts& f);
std::string selinuxRefusal(const PlatformFacts& f);

// What the process gets right before execve (empty: nothing asked).
struct LsmPlan {
    std::string apparmorProfile;  // aa_change_onexec
    std::string execLabel;        // setexeccon
    bool empty() const { return apparmorProfile.empty() && execLabel.empty(); }
};

// Throws Error "<where>apparmorProfile: <why>" for a field the host cannot apply; `where`
// is "config.json: process." for the container's process.
LsmPlan planLsm(const Process& p, const PlatformFacts& f, const std::string& where);

// linux.mountLabel: throws like planLsm; on a host that applies it, adds context="label"
// to the tmpfs, devpts and mqueue mounts (the filesystems that take it) of `rootfs`.
void planMountLabel(const std::string& label, const PlatformFacts& f, RootfsPlan& rootfs);

// The library calls, a seam for tests. Each returns 0, or -1 with errno set.
struct LsmOps {
    std::function<int(const std::string&)> changeOnExec;  // aa_change_onexec
    std::function<int(const std::string&)> setExecCon;    // setexeccon
};

// libapparmor/libselinux when linked in; a missing one fails with ENOSYS.
LsmOps systemLsmOps();

// Throws Error naming the profile/label and the errno text.
void applyLsm(const LsmPlan& plan, const LsmOps& ops);

}  // namespace caprun
