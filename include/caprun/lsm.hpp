// Linux security modules: process.apparmorProfile (exec --apparmor), process.selinuxLabel
// (exec --process-label) and linux.mountLabel. Applied when the host runs the LSM; refused
// in planning otherwise, as runc does (running a container unconfined while the caller
// believes it confined is worse than failing).
//
// The process labels are caprun's own writes to this thread's LSM attribute files, through
// the /proc of the current root checked to be procfs and opened on that mount only
// (sys/procfs.hpp), as runc and crun do. libapparmor's aa_change_onexec and libselinux's
// setexeccon open /proc/<tid>/attr/... by path: a mount over that file (CVE-2019-16884) or
// one propagated in through a shared mount (CVE-2025-52881) takes the write, and the
// process runs unconfined.
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
    std::string apparmorProfile;  // "exec <profile>" to attr/apparmor/exec (attr/exec before 5.8)
    std::string execLabel;        // the label to attr/exec
    bool empty() const { return apparmorProfile.empty() && execLabel.empty(); }
};

// Throws Error "<where>apparmorProfile: <why>" for a field the host cannot apply; `where`
// is "config.json: process." for the container's process.
LsmPlan planLsm(const Process& p, const PlatformFacts& f, const std::string& where);

// linux.mountLabel: throws like planLsm; on a host that applies it, adds context="label"
// to the tmpfs, devpts and mqueue mounts (the filesystems that take it) of `rootfs`.
void planMountLabel(const std::string& label, const PlatformFacts& f, RootfsPlan& rootfs);

// The kernel seam, for tests. writeAttr writes `value` to /proc/<rel> ("thread-self/attr/
// exec"); false when that file does not exist; throws Error (carrying the errno) for any
// other failure, prefixed with `what`.
struct LsmOps {
    std::function<bool(const std::string& rel, const std::string& value, const std::string& what)>
        writeAttr;
};

// Writes on the /proc of the current root, verified as sys::openProcfs does.
LsmOps systemLsmOps();

// Throws Error naming the profile/label, the file and the errno text.
void applyLsm(const LsmPlan& plan, const LsmOps& ops);

}  // namespace caprun
