#include "caprun/lsm.hpp"

#include <cerrno>

#include "caprun/error.hpp"
#include "caprun/rootfs.hpp"
#include "caprun_config.h"

#if CAPRUN_HAVE_APPARMOR
#include <sys/apparmor.h>
#endif
#if CAPRUN_HAVE_SELINUX
#include <selinux/selinux.h>
#endif

namespace caprun {

std::string apparmorRefusal(const PlatformFacts& f) {
    if (!f.apparmorEnabled)
        return "AppArmor is not enabled on this host (no /sys/module/apparmor/parameters/enabled)";
    if (!f.builtWithApparmor)
        return "AppArmor is enabled on this host but caprun was built without libapparmor";
    return "";
}

std::string selinuxRefusal(const PlatformFacts& f) {
    if (!f.selinuxEnabled)
        return "SELinux is not enabled on this host (no selinuxfs at /sys/fs/selinux)";
    if (!f.builtWithSelinux)
        return "SELinux is enabled on this host but caprun was built without libselinux";
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
#if CAPRUN_HAVE_APPARMOR
    ops.changeOnExec = [](const std::string& profile) {
        return ::aa_change_onexec(profile.c_str());
    };
#else
    ops.changeOnExec = [](const std::string&) {
        errno = ENOSYS;
        return -1;
    };
#endif
#if CAPRUN_HAVE_SELINUX
    ops.setExecCon = [](const std::string& label) { return ::setexeccon(label.c_str()); };
#else
    ops.setExecCon = [](const std::string&) {
        errno = ENOSYS;
        return -1;
    };
#endif
    return ops;
}

void applyLsm(const LsmPlan& plan, const LsmOps& ops) {
    if (!plan.apparmorProfile.empty() && ops.changeOnExec(plan.apparmorProfile) != 0)
        throwErrno("applying process.apparmorProfile \"" + plan.apparmorProfile +
                   "\" (aa_change_onexec)");
    if (!plan.execLabel.empty() && ops.setExecCon(plan.execLabel) != 0)
        throwErrno("applying process.selinuxLabel \"" + plan.execLabel + "\" (setexeccon)");
}

}  // namespace caprun
