#include "caprun/cap_userns.hpp"

#include <linux/capability.h>

#include "caprun/error.hpp"
#include "caprun/namespaces.hpp"

namespace caprun {

// Each entry is a capability whose kernel checks are capable(CAP_X) (or a check refusing
// any non-initial user namespace), not ns_capable(), in the paths a container would use it
// for (kernel 6.x). Left out on purpose: CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_SYS_PTRACE,
// CAP_SYS_CHROOT, CAP_CHOWN, ...: ns_capable() honours them for what the user namespace
// owns (its mounts, network namespace, processes, files with mapped owners).
const std::vector<InitNamespaceOnlyCap>& initNamespaceOnlyCaps() {
    static const std::vector<InitNamespaceOnlyCap> list = {
        {CAP_SYS_TIME, "setting the clock (cap_settime: capable)"},
        {CAP_SYS_MODULE, "loading and removing modules (may_init_module: capable)"},
        {CAP_SYS_RAWIO, "ioperm, iopl, /dev/mem and raw block I/O (capable)"},
        {CAP_SYS_BOOT,
         "kexec_load (capable); reboot(2) is ns_capable and only ends the container's own pid "
         "namespace"},
        {CAP_MKNOD, "creating device nodes (vfs_mknod: capable); device files are bind-mounted"},
        {CAP_SYS_RESOURCE,
         "raising a hard rlimit and other resource overrides (do_prlimit: capable): the limits "
         "stay those the user namespace was created with"},
        {CAP_SYS_NICE,
         "raising priority and real-time scheduling (can_nice, sched_setscheduler: "
         "capable)"},
        {CAP_IPC_LOCK, "locking memory beyond RLIMIT_MEMLOCK (can_do_mlock: capable)"},
        {CAP_SYS_PACCT, "process accounting (acct: capable)"},
        {CAP_LINUX_IMMUTABLE, "the immutable and append-only attributes (fileattr_set: capable)"},
        {CAP_SYSLOG, "reading the kernel log (check_syslog_permissions: capable)"},
        {CAP_SYS_TTY_CONFIG, "vhangup (capable)"},
        {CAP_LEASE, "leases on files the process does not own (generic_setlease: capable)"},
        {CAP_WAKE_ALARM, "alarm timers that wake the system (capable)"},
        {CAP_BLOCK_SUSPEND, "blocking system suspend (EPOLLWAKEUP: capable)"},
        {CAP_AUDIT_CONTROL, "the audit subsystem (audit_netlink_ok refuses other user namespaces)"},
        {CAP_AUDIT_WRITE, "writing audit records (audit_netlink_ok refuses other user namespaces)"},
        {CAP_AUDIT_READ, "reading the audit multicast log (capable)"},
        {CAP_MAC_ADMIN, "LSM policy (capable)"},
        {CAP_MAC_OVERRIDE, "LSM overrides (capable)"},
        {CAP_BPF, "bpf(2) beyond unprivileged use (bpf_capable: capable)"},
        {CAP_PERFMON, "perf events and BPF tracing (perfmon_capable: capable)"},
    };
    return list;
}

std::vector<std::string> userNamespaceCapNotes(CapMask granted) {
    std::vector<std::string> notes;
    for (const auto& c : initNamespaceOnlyCaps())
        if (granted & capBit(c.cap))
            notes.push_back(capabilityName(c.cap) +
                            " is granted but has no effect outside the user namespace: the "
                            "kernel checks it against the initial one for " +
                            c.why);
    return notes;
}

void planUserNamespaceCaps(const Spec& spec, const HostFacts& host, CapabilityPlan& plan) {
    bool newUserNamespace = false, joinedUserNamespace = false;
    if (spec.linux)
        for (const auto& ns : spec.linux->namespaces)
            if (ns.type == "user")
                (ns.path.empty() ? newUserNamespace : joinedUserNamespace) = true;
    if (plan.userNamespace || !host.initialUserNamespace)
        plan.userNamespaceNotes = userNamespaceCapNotes(
            plan.granted.permitted | plan.predicted.permitted | plan.predicted.effective);
    if (newUserNamespace)
        plan.setgroupsDenied =
            planIdMapWrite(spec.linux->uidMappings, spec.linux->gidMappings, host).setgroupsDeny;
    else if (joinedUserNamespace)
        plan.setgroupsDenied = host.joinedSetgroupsDenied.value_or(false);
    if (plan.setgroupsDenied && spec.process && !spec.process->user.additionalGids.empty())
        throw Error(
            "config.json: process.user.additionalGids: cannot be set in this rootless "
            "container: " +
            std::string(newUserNamespace
                            ? "the runtime maps only its own gid, which the kernel allows only "
                              "with setgroups denied (map a range of /etc/subgid in "
                              "linux.gidMappings to use them)"
                            : "the user namespace it joins has setgroups denied"));
}

}  // namespace caprun
