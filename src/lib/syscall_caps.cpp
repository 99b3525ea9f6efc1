// The syscall -> capability table. Each entry states what the kernel checks (capable() is
// the initial user namespace, ns_capable() the owning one), when, and with which errno;
// written from capabilities(7), the syscalls' man pages and the checks in the kernel source.
#include "caprun/syscall_caps.hpp"

#include <linux/capability.h>

#include <algorithm>
#include <map>

#include "caprun/capabilities.hpp"

namespace caprun {

namespace {

constexpr CapScope kInit = CapScope::InitialUserNs;
constexpr CapScope kOwn = CapScope::OwningUserNs;
constexpr int kEPERM = 1;
constexpr int kEACCES = 13;

CapCheck check(std::vector<int> anyOf, std::string condition, CapScope scope, int error = kEPERM) {
    return CapCheck{std::move(anyOf), std::move(condition), scope, error};
}

struct Builder {
    std::map<std::string, SyscallCapFacts> byName;
    // Adds the same checks to several syscalls.
    void add(std::initializer_list<const char*> names, std::vector<CapCheck> checks,
             const std::string& note = "") {
        std::vector<std::string> group(names.begin(), names.end());
        for (const char* n : names) {
            auto& e = byName[n];
            e.name = n;
            e.checks.insert(e.checks.end(), checks.begin(), checks.end());
            if (!note.empty()) e.note = e.note.empty() ? note : e.note + " " + note;
            for (const auto& g : group)
                if (g != n && std::find(e.seeAlso.begin(), e.seeAlso.end(), g) == e.seeAlso.end())
                    e.seeAlso.push_back(g);
        }
    }
};

std::vector<SyscallCapFacts> build() {
    Builder b;
    // --- kernel modules, boot, raw I/O, accounting: capable() only ---
    b.add({"init_module", "finit_module", "delete_module"}, {check({CAP_SYS_MODULE}, "", kInit)},
          "Kernel modules are global: no namespace can grant this.");
    b.add({"reboot"}, {check({CAP_SYS_BOOT}, "", kOwn)},
          "Checked against the user namespace owning the caller's pid namespace; in a "
          "container with its own pid namespace a permitted restart or power-off ends the "
          "container's init, not the host.");
    b.add({"kexec_load", "kexec_file_load"}, {check({CAP_SYS_BOOT}, "", kInit)});
    b.add({"iopl"}, {check({CAP_SYS_RAWIO}, "raising the I/O privilege level", kInit)});
    b.add({"ioperm"}, {check({CAP_SYS_RAWIO}, "turning port access on", kInit)});
    b.add({"acct"}, {check({CAP_SYS_PACCT}, "", kInit)});

    // --- time: capable() ---
    b.add({"settimeofday", "stime", "clock_settime", "clock_settime64"},
          {check({CAP_SYS_TIME}, "", kInit)},
          "The check comes before anything is changed, even with NULL arguments. Time "
          "namespaces do not virtualise CLOCK_REALTIME.");
    b.add({"adjtimex", "clock_adjtime", "clock_adjtime64"},
          {check({CAP_SYS_TIME}, "when modes != 0 (reading with modes 0 needs nothing)", kInit)});

    // --- names, mounts, namespaces: ns_capable() of the namespace's owner ---
    b.add({"sethostname", "setdomainname"}, {check({CAP_SYS_ADMIN}, "", kOwn)},
          "Checked against the user namespace owning the UTS namespace; a container with its "
          "own UTS namespace changes only its own name.");
    b.add({"mount", "umount", "umount2", "pivot_root", "fsopen", "fsmount", "fspick", "move_mount",
           "mount_setattr"},
          {check({CAP_SYS_ADMIN}, "", kOwn)},
          "Checked against the user namespace owning the caller's mount namespace.");
    b.add({"open_tree"},
          {check({CAP_SYS_ADMIN}, "with OPEN_TREE_CLONE (a detached copy of a mount)", kOwn)});
    b.add({"unshare"},
          {check({CAP_SYS_ADMIN},
                 "for CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWPID, "
                 "CLONE_NEWCGROUP or CLONE_NEWTIME unless CLONE_NEWUSER comes with them",
                 kOwn)});
    b.add({"clone", "clone3"},
          {check({CAP_SYS_ADMIN},
                 "with a CLONE_NEW* flag other than CLONE_NEWUSER (unless CLONE_NEWUSER comes "
                 "with it)",
                 kOwn)});
    b.add({"clone3"}, {check({CAP_CHECKPOINT_RESTORE, CAP_SYS_ADMIN},
                             "with set_tid (choosing the pid)", kOwn)});
    b.add({"setns"}, {check({CAP_SYS_ADMIN},
                            "in the user namespace owning the target namespace (and, for a mount "
                            "namespace, CAP_SYS_CHROOT and CAP_SYS_ADMIN in the caller's own)",
                            kOwn)});
    b.add({"chroot"}, {check({CAP_SYS_CHROOT}, "", kOwn)});
    b.add({"swapon", "swapoff"}, {check({CAP_SYS_ADMIN}, "", kInit)});
    b.add({"quotactl", "quotactl_fd"},
          {check({CAP_SYS_ADMIN},
                 "for commands that change quotas or read another user's (all but "
                 "Q_GETQUOTA of the caller's own ids, Q_GETINFO, Q_GETFMT, Q_SYNC)",
                 kOwn)});
    b.add({"lookup_dcookie"}, {check({CAP_SYS_ADMIN}, "", kInit)});
    b.add({"fanotify_init"},
          {check({CAP_SYS_ADMIN},
                 "except the unprivileged mode (kernel 5.13+: FAN_REPORT_FID groups without "
                 "permission events)",
                 kInit)});
    b.add({"fanotify_mark"},
          {check({CAP_SYS_ADMIN}, "for FAN_MARK_MOUNT and FAN_MARK_FILESYSTEM marks", kInit)});
    b.add({"open_by_handle_at"},
          {check({CAP_DAC_READ_SEARCH},
                 "(kernel 6.10+ also accepts it in the user namespace owning the mount for "
                 "handles it can verify)",
                 kInit)});
    b.add({"name_to_handle_at"}, {},
          "The kernel checks no capability; only open_by_handle_at needs CAP_DAC_READ_SEARCH.");
    b.add({"setxattr", "lsetxattr", "fsetxattr"},
          {check({CAP_SYS_ADMIN}, "for trusted.* attributes", kInit),
           check({CAP_SETFCAP}, "for security.capability (file capabilities)", kOwn)});
    b.add({"vhangup"}, {check({CAP_SYS_TTY_CONFIG}, "", kInit)});
    b.add({"syslog"}, {check({CAP_SYSLOG, CAP_SYS_ADMIN},
                             "for every action when kernel.dmesg_restrict=1, else for all but "
                             "SYSLOG_ACTION_READ_ALL and SYSLOG_ACTION_SIZE_BUFFER",
                             kInit)});
    b.add({"bpf"},
          {check({CAP_BPF, CAP_SYS_ADMIN},
                 "for most map and program types when kernel.unprivileged_bpf_disabled is set "
                 "(Debian's default); tracing programs also need CAP_PERFMON, networking "
                 "programs CAP_NET_ADMIN",
                 kInit)});
    b.add({"perf_event_open"},
          {check({CAP_PERFMON, CAP_SYS_ADMIN},
                 "for events beyond what kernel.perf_event_paranoid allows (Debian's 3: any "
                 "event)",
                 kInit)});
    b.add({"userfaultfd"},
          {check({CAP_SYS_PTRACE},
                 "when vm.unprivileged_userfaultfd=0 and without UFFD_USER_MODE_ONLY", kInit)});

    // --- processes ---
    b.add({"ptrace"},
          {check({CAP_SYS_PTRACE},
                 "attaching to a process with other credentials (or any process under Yama "
                 "ptrace_scope 1-2)",
                 kOwn)});
    b.add({"process_vm_readv", "process_vm_writev", "pidfd_getfd"},
          {check({CAP_SYS_PTRACE}, "on a process with other credentials", kOwn)});
    b.add({"kcmp", "get_robust_list"},
          {check({CAP_SYS_PTRACE}, "on a process with other credentials", kOwn)});
    b.add({"process_madvise"},
          {check({CAP_SYS_NICE}, "on another process", kInit),
           check({CAP_SYS_PTRACE}, "on a process with other credentials", kOwn)});
    b.add({"kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "pidfd_send_signal"},
          {check({CAP_KILL}, "signalling a process of another user", kOwn)});
    b.add({"setpriority", "nice"},
          {check({CAP_SYS_NICE}, "lowering the nice value below what RLIMIT_NICE allows", kInit)});
    b.add({"setpriority"}, {check({CAP_SYS_NICE}, "on a process of another user", kOwn)});
    b.add({"sched_setscheduler", "sched_setparam", "sched_setattr"},
          {check({CAP_SYS_NICE},
                 "for a real-time policy or priority beyond RLIMIT_RTPRIO, a lower nice value "
                 "than RLIMIT_NICE allows, leaving SCHED_IDLE, or another user's process",
                 kInit)});
    b.add({"sched_setaffinity"}, {check({CAP_SYS_NICE}, "on a process of another user", kOwn)});
    b.add({"ioprio_set"}, {check({CAP_SYS_NICE, CAP_SYS_ADMIN}, "for IOPRIO_CLASS_RT", kInit),
                           check({CAP_SYS_NICE}, "on a process of another user", kInit)});
    b.add(
        {"mbind", "move_pages"},
        {check({CAP_SYS_NICE}, "with MPOL_MF_MOVE_ALL (moving pages shared with others)", kInit)});
    b.add({"migrate_pages"},
          {check({CAP_SYS_NICE},
                 "moving pages of another user's process, or to nodes outside its cpuset", kInit)});
    b.add({"get_mempolicy", "set_mempolicy", "set_mempolicy_home_node", "mbind", "migrate_pages",
           "move_pages"},
          {},
          "Docker's default seccomp profile (and caprun's built-in one) allows the NUMA "
          "syscalls only with CAP_SYS_NICE, although for get_mempolicy and set_mempolicy the "
          "kernel checks nothing.");
    b.add({"setrlimit", "prlimit64"},
          {check({CAP_SYS_RESOURCE}, "raising a hard limit (or RLIMIT_NOFILE above fs.nr_open)",
                 kInit)});
    b.add({"prlimit64"}, {check({CAP_SYS_RESOURCE}, "on a process with other credentials", kOwn)});
    b.add({"prctl"}, {check({CAP_SETPCAP}, "for PR_CAPBSET_DROP and PR_SET_SECUREBITS", kOwn),
                      check({CAP_SYS_RESOURCE}, "for PR_SET_MM", kInit)});
    b.add({"capset"}, {check({CAP_SETPCAP},
                             "adding to the inheritable set a capability not in permitted", kOwn)});
    b.add({"setuid", "setreuid", "setresuid", "setfsuid"},
          {check({CAP_SETUID}, "to a uid other than the real, effective or saved one", kOwn)});
    b.add({"setgid", "setregid", "setresgid", "setfsgid"},
          {check({CAP_SETGID}, "to a gid other than the real, effective or saved one", kOwn)});
    b.add({"setgroups"}, {check({CAP_SETGID}, "", kOwn)});

    // --- files ---
    b.add({"chown", "fchown", "lchown", "fchownat"},
          {check({CAP_CHOWN},
                 "changing the owner, or the group to one the caller is not a member of", kOwn)});
    b.add({"mknod", "mknodat"},
          {check({CAP_MKNOD}, "for character and block devices (not FIFOs, sockets, whiteouts)",
                 kInit)},
          "No user namespace can create device nodes.");
    b.add({"chmod", "fchmod", "fchmodat", "fchmodat2"},
          {check({CAP_FOWNER}, "on a file the caller does not own", kOwn)});
    b.add({"utime", "utimes", "utimensat", "futimesat"},
          {check({CAP_FOWNER}, "setting explicit times on a file the caller does not own", kOwn)});
    b.add({"unlink", "unlinkat", "rmdir", "rename", "renameat", "renameat2"},
          {check({CAP_FOWNER}, "removing another user's entry in a sticky directory such as /tmp",
                 kOwn)});
    b.add({"link", "linkat"},
          {check({CAP_FOWNER},
                 "hard-linking a file the caller does not own (fs.protected_hardlinks=1)", kOwn)});
    b.add({"open", "openat", "openat2", "creat"},
          {check({CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH},
                 "when the file's permission bits deny the access (EACCES)", kOwn, kEACCES),
           check({CAP_FOWNER}, "with O_NOATIME on a file the caller does not own", kOwn)});
    b.add({"fcntl", "fcntl64"},
          {check({CAP_LEASE}, "F_SETLEASE on a file the caller does not own", kOwn, kEACCES),
           check({CAP_SYS_RESOURCE}, "F_SETPIPE_SZ above fs.pipe-max-size", kInit)});
    b.add({"ioctl"},
          {check({CAP_NET_ADMIN}, "network interface configuration (SIOCSIF*, SIOCADDRT)", kOwn),
           check({CAP_LINUX_IMMUTABLE}, "FS_IOC_SETFLAGS setting the immutable or append-only flag",
                 kInit),
           check({CAP_SYS_ADMIN}, "TIOCSTI on a terminal that is not the caller's", kInit)});

    // --- memory locking, IPC, timers ---
    b.add({"mlock", "mlock2", "mlockall"},
          {check({CAP_IPC_LOCK}, "when RLIMIT_MEMLOCK is 0 (beyond a non-zero limit: ENOMEM)",
                 kInit)});
    b.add({"shmctl"},
          {check({CAP_IPC_LOCK}, "SHM_LOCK beyond RLIMIT_MEMLOCK", kInit),
           check({CAP_SYS_ADMIN}, "IPC_SET or IPC_RMID on a segment of another user", kOwn),
           check({CAP_IPC_OWNER}, "access the segment's permissions deny", kOwn, kEACCES)});
    b.add({"msgctl", "semctl"},
          {check({CAP_SYS_ADMIN}, "IPC_SET or IPC_RMID on an object of another user", kOwn),
           check({CAP_IPC_OWNER}, "access the object's permissions deny", kOwn, kEACCES)});
    b.add({"msgctl"},
          {check({CAP_SYS_RESOURCE}, "IPC_SET raising msg_qbytes above kernel.msgmnb", kInit)});
    b.add({"timer_create", "timerfd_create"},
          {check({CAP_WAKE_ALARM}, "with CLOCK_REALTIME_ALARM or CLOCK_BOOTTIME_ALARM", kInit)});

    // --- network: the user namespace owning the network namespace ---
    b.add({"socket"},
          {check({CAP_NET_RAW},
                 "for SOCK_RAW (AF_INET, AF_INET6) and AF_PACKET sockets (ping uses SOCK_DGRAM "
                 "sockets governed by net.ipv4.ping_group_range instead)",
                 kOwn)});
    b.add({"bind"}, {check({CAP_NET_BIND_SERVICE},
                           "for a port below net.ipv4.ip_unprivileged_port_start (1024 by default)",
                           kOwn, kEACCES)});
    b.add({"setsockopt"},
          {check({CAP_NET_ADMIN},
                 "for firewall tables (IPT_SO_SET_REPLACE, IP6T_SO_SET_REPLACE, "
                 "EBT_SO_SET_ENTRIES: iptables-legacy), SO_MARK, SO_RCVBUFFORCE, SO_SNDBUFFORCE",
                 kOwn),
           check({CAP_NET_RAW, CAP_NET_ADMIN}, "for IP_TRANSPARENT", kOwn)});
    b.add({"sendmsg", "sendto", "sendmmsg"},
          {check({CAP_NET_ADMIN},
                 "netlink requests that change the network: routes, links, addresses, nftables "
                 "(iptables-nft, ip route add)",
                 kOwn),
           check({CAP_AUDIT_WRITE}, "audit user messages on NETLINK_AUDIT", kInit),
           check({CAP_AUDIT_CONTROL}, "audit configuration on NETLINK_AUDIT", kInit)});

    std::vector<SyscallCapFacts> out;
    out.reserve(b.byName.size());
    for (auto& [name, e] : b.byName) out.push_back(std::move(e));
    return out;
}

}  // namespace

const std::vector<SyscallCapFacts>& allSyscallCapFacts() {
    static const std::vector<SyscallCapFacts> table = build();
    return table;
}

const SyscallCapFacts* syscallCapFacts(std::string_view name) {
    const auto& t = allSyscallCapFacts();
    auto it =
        std::lower_bound(t.begin(), t.end(), name,
                         [](const SyscallCapFacts& e, std::string_view n) { return e.name < n; });
    return it != t.end() && it->name == name ? &*it : nullptr;
}

std::vector<std::string> syscallsCheckingCap(int cap) {
    std::vector<std::string> out;
    for (const auto& e : allSyscallCapFacts())
        for (const auto& c : e.checks)
            if (std::find(c.anyOf.begin(), c.anyOf.end(), cap) != c.anyOf.end()) {
                out.push_back(e.name);
                break;
            }
    return out;
}

std::string capCheckNames(const CapCheck& c) {
    std::string s;
    for (int cap : c.anyOf) s += (s.empty() ? "" : " or ") + capabilityName(cap);
    return s;
}

std::string describeCapCheck(const CapCheck& c) {
    std::string s = capCheckNames(c);
    s += c.scope == CapScope::InitialUserNs ? " (initial user namespace)"
                                            : " (the owning user namespace)";
    if (!c.condition.empty()) s += " " + c.condition;
    if (c.error == kEACCES) s += "; fails with EACCES";
    return s;
}

}  // namespace caprun
