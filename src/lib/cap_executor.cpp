#include "caprun/cap_executor.hpp"

#include <grp.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "caprun/error.hpp"

namespace caprun {

namespace {

std::string namesOf(CapMask m) {
    std::string out;
    for (const auto& n : capNames(m)) out += (out.empty() ? "" : ", ") + n;
    return out;
}

// capget through the raw syscall: the executor runs where libcap's allocations are fine
// but two 32-bit halves are all we need.
bool readCaps(CapMask& eff, CapMask& prm, CapMask& inh) {
    __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2]{};
    if (::syscall(SYS_capget, &hdr, data) != 0) return false;
    eff = data[0].effective | (static_cast<CapMask>(data[1].effective) << 32);
    prm = data[0].permitted | (static_cast<CapMask>(data[1].permitted) << 32);
    inh = data[0].inheritable | (static_cast<CapMask>(data[1].inheritable) << 32);
    return true;
}

}  // namespace

void LinuxCapabilityKernel::dropBounding(int cap) {
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0)
        throwErrno("dropping " + capabilityName(cap) + " from the bounding set (PR_CAPBSET_DROP)");
}

void LinuxCapabilityKernel::setKeepCaps(bool on) {
    if (::prctl(PR_SET_KEEPCAPS, on ? 1 : 0, 0, 0, 0) != 0)
        throwErrno(std::string(on ? "setting" : "clearing") + " keep-caps (PR_SET_KEEPCAPS)");
}

void LinuxCapabilityKernel::setGroups(const std::vector<gid_t>& groups) {
    if (::setgroups(groups.size(), groups.data()) != 0)
        throwErrno("setting " + std::to_string(groups.size()) +
                   " additional groups (setgroups; needs CAP_SETGID)");
}

void LinuxCapabilityKernel::setGid(gid_t gid) {
    if (::syscall(SYS_setresgid, gid, gid, gid) != 0)
        throwErrno("switching to gid " + std::to_string(gid) + " (setresgid; needs CAP_SETGID)");
}

void LinuxCapabilityKernel::setUid(uid_t uid) {
    if (::syscall(SYS_setresuid, uid, uid, uid) != 0)
        throwErrno("switching to uid " + std::to_string(uid) + " (setresuid; needs CAP_SETUID)");
}

void LinuxCapabilityKernel::setCaps(CapMask effective, CapMask permitted, CapMask inheritable) {
    __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2]{};
    data[0].effective = static_cast<std::uint32_t>(effective);
    data[1].effective = static_cast<std::uint32_t>(effective >> 32);
    data[0].permitted = static_cast<std::uint32_t>(permitted);
    data[1].permitted = static_cast<std::uint32_t>(permitted >> 32);
    data[0].inheritable = static_cast<std::uint32_t>(inheritable);
    data[1].inheritable = static_cast<std::uint32_t>(inheritable >> 32);
    // After setresuid to a non-zero uid the kernel cleared effective, so CAP_SETPCAP no
    // longer counts for widening inheritable: raise effective to permitted first.
    if (CapMask e0 = 0, p0 = 0, i0 = 0;
        readCaps(e0, p0, i0) && e0 != p0 && (inheritable & ~(i0 | p0)) != 0) {
        __user_cap_data_struct raise[2]{};
        raise[0].effective = raise[0].permitted = static_cast<std::uint32_t>(p0);
        raise[1].effective = raise[1].permitted = static_cast<std::uint32_t>(p0 >> 32);
        raise[0].inheritable = static_cast<std::uint32_t>(i0);
        raise[1].inheritable = static_cast<std::uint32_t>(i0 >> 32);
        __user_cap_header_struct h0{_LINUX_CAPABILITY_VERSION_3, 0};
        (void)::syscall(SYS_capset, &h0, raise);  // failure shows in the capset below
    }
    if (::syscall(SYS_capset, &hdr, data) == 0) return;
    int err = errno;
    // Say which capabilities the kernel refused: the ones the process does not hold.
    std::string detail;
    CapMask eff = 0, prm = 0, inh = 0;
    if (readCaps(eff, prm, inh)) {
        if (CapMask missing = permitted & ~prm)
            detail = "; not in the current permitted set: " + namesOf(missing);
        else if (CapMask bad = effective & ~permitted)
            detail = "; effective but not permitted: " + namesOf(bad);
        else if (CapMask newInh = inheritable & ~(inh | prm))
            detail = "; inheritable outside the current inheritable and permitted sets: " +
                     namesOf(newInh);
    }
    throw Error("setting capabilities (capset effective=" + capMaskHex(effective) +
                " permitted=" + capMaskHex(permitted) + " inheritable=" + capMaskHex(inheritable) +
                "): " + errnoText(err) + detail);
}

void LinuxCapabilityKernel::clearAmbient() {
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0)
        throwErrno("clearing the ambient set (PR_CAP_AMBIENT_CLEAR_ALL)");
}

void LinuxCapabilityKernel::raiseAmbient(int cap) {
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) != 0)
        throwErrno("raising " + capabilityName(cap) + " in the ambient set (PR_CAP_AMBIENT_RAISE)");
}

void LinuxCapabilityKernel::setNoNewPrivileges() {
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        throwErrno("setting no_new_privs (PR_SET_NO_NEW_PRIVS)");
}

void applyCapabilityPlan(const CapabilityPlan& plan, const User& user, CapabilityKernel& kernel) {
    const CapSets& g = plan.granted;
    for (int cap : capsIn(plan.boundingDrop)) kernel.dropBounding(cap);
    // keep-caps keeps the permitted set across the switch away from uid 0.
    kernel.setKeepCaps(true);
    // setgroups is denied in a rootless user namespace mapping one gid (and the plan refuses
    // additional gids there).
    if (!plan.setgroupsDenied)
        kernel.setGroups(
            std::vector<gid_t>(user.additionalGids.begin(), user.additionalGids.end()));
    kernel.setGid(user.gid);
    kernel.setUid(user.uid);
    kernel.setKeepCaps(false);
    kernel.setCaps(g.effective, g.permitted, g.inheritable);
    kernel.clearAmbient();
    for (int cap : capsIn(g.ambient)) kernel.raiseAmbient(cap);
}

}  // namespace caprun
