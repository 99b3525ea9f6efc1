#include "caprun/lsm.hpp"

#include <cerrno>

#include "caprun/error.hpp"
#include "caprun/rootfs.hpp"
#include "caprun/sys/procfs.hpp"

namespace caprun {

std::string apparmorRefusal(const PlatformFacts& f) {
    if (!f.apparmorEnabled)
        return "AppArmor is not enabled on this host (no /sys/module/apparmor/parameters/enabled)";
    return "";
}

std::string selinuxRefusal(const PlatformFacts& f) {
    if (!f.selinuxEnabled)
        return "SELinux is not enabled on this host (no selinuxfs at /sys/fs/selinux)";
    return "";
}

LsmPlan planLsm(const Process& p, const PlatformFacts& f, const std::string& where) {
    LsmPlan plan;
    if (!p.apparmorProfile.empty()) {
        if (std::string why = apparmorRefusal(f); !why.empty())
            throw Error(where + "apparmorProfile: " + why);
        plan.apparmorProfile = p.apparmorProfile;
    }
    if (!p.selinuxLabel.empty()) {
        if (std::string why = selinuxRefusal(f); !why.empty())
            throw Error(where + "selinuxLabel: " + why);
        plan.execLabel = p.selinuxLabel;
    }
    return plan;
}

void planMountLabel(const std::string& label, const PlatformFacts& f, RootfsPlan& rootfs) {
    if (label.empty()) return;
    if (std::string why = selinuxRefusal(f); !why.empty())
        throw Error("config.json: linux.mountLabel: " + why);
    for (auto& m : rootfs.mounts) {
        if (m.kind == MountKind::Bind) continue;
        if (m.type != "tmpfs" && m.type != "devpts" && m.type != "mqueue") continue;
        auto& data = m.options.data;
        data += (data.empty() ? "" : ",") + std::string("context=\"") + label + "\"";
    }
}

LsmOps systemLsmOps() {
    LsmOps ops;
    ops.writeAttr = [](const std::string& rel, const std::string& value, const std::string& what) {
        UniqueFd proc = sys::openProcfs(what, "the /proc of the current root");
        return sys::writeOnProcfsIfPresent(proc.fd, rel, value, what);
    };
    return ops;
}

void applyLsm(const LsmPlan& plan, const LsmOps& ops) {
    // The attr files are per thread: thread-self, not self (the thread group leader's).
    if (!plan.apparmorProfile.empty()) {
        const std::string what =
            "applying process.apparmorProfile \"" + plan.apparmorProfile + "\"";
        const std::string command = "exec " + plan.apparmorProfile;
        // Linux 5.8 gave each LSM its own directory; before it AppArmor used attr/exec.
        if (!ops.writeAttr("thread-self/attr/apparmor/exec", command, what) &&
            !ops.writeAttr("thread-self/attr/exec", command, what))
            throw Error(what +
                            ": this kernel has neither /proc/thread-self/attr/apparmor/exec "
                            "nor /proc/thread-self/attr/exec",
                        ENOENT);
    }
    if (!plan.execLabel.empty()) {
        const std::string what = "applying process.selinuxLabel \"" + plan.execLabel + "\"";
        if (!ops.writeAttr("thread-self/attr/exec", plan.execLabel, what))
            throw Error(what + ": this kernel has no /proc/thread-self/attr/exec", ENOENT);
    }
}

}  // namespace caprun
