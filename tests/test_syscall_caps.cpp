// The syscall -> capability table against facts stated in capabilities(7) and
// user_namespaces(7) (quoted next to each check), not against the table's own text.
#include <doctest/doctest.h>

#include <linux/capability.h>
#include <seccomp.h>

#include <algorithm>
#include <string>

#include "caprun/syscall_caps.hpp"

using namespace caprun;

namespace {

// Does the kernel check `cap` (alone or as one of alternatives) in `syscall`?
bool checks(const char* syscall, int cap) {
    const SyscallCapFacts* f = syscallCapFacts(syscall);
    if (!f) return false;
    for (const auto& c : f->checks)
        if (std::find(c.anyOf.begin(), c.anyOf.end(), cap) != c.anyOf.end()) return true;
    return false;
}

const CapCheck* checkOf(const char* syscall, int cap) {
    const SyscallCapFacts* f = syscallCapFacts(syscall);
    if (!f) return nullptr;
    for (const auto& c : f->checks)
        if (std::find(c.anyOf.begin(), c.anyOf.end(), cap) != c.anyOf.end()) return &c;
    return nullptr;
}

}  // namespace

TEST_CASE("capabilities(7): the syscalls each capability governs") {
    // CAP_SYS_MODULE: "Load and unload kernel modules (see init_module(2) and delete_module(2))"
    CHECK(checks("init_module", CAP_SYS_MODULE));
    CHECK(checks("finit_module", CAP_SYS_MODULE));
    CHECK(checks("delete_module", CAP_SYS_MODULE));
    // CAP_SYS_TIME: "Set system clock (settimeofday(2), stime(2), adjtimex(2))"
    CHECK(checks("settimeofday", CAP_SYS_TIME));
    CHECK(checks("stime", CAP_SYS_TIME));
    CHECK(checks("adjtimex", CAP_SYS_TIME));
    CHECK(checks("clock_settime", CAP_SYS_TIME));
    // CAP_SYS_BOOT: "Use reboot(2) and kexec_load(2)"
    CHECK(checks("reboot", CAP_SYS_BOOT));
    CHECK(checks("kexec_load", CAP_SYS_BOOT));
    // CAP_SYS_CHROOT: "Use chroot(2)"
    CHECK(checks("chroot", CAP_SYS_CHROOT));
    // CAP_SYS_PACCT: "Use acct(2)"
    CHECK(checks("acct", CAP_SYS_PACCT));
    // CAP_SYS_RAWIO: "Perform I/O port operations (iopl(2) and ioperm(2))"
    CHECK(checks("iopl", CAP_SYS_RAWIO));
    CHECK(checks("ioperm", CAP_SYS_RAWIO));
    // CAP_SYS_TTY_CONFIG: "Use vhangup(2)"
    CHECK(checks("vhangup", CAP_SYS_TTY_CONFIG));
    // CAP_SYS_PTRACE: "Trace arbitrary processes using ptrace(2); ... process_vm_readv(2) and
    // process_vm_writev(2); inspect processes using kcmp(2)"
    CHECK(checks("ptrace", CAP_SYS_PTRACE));
    CHECK(checks("process_vm_readv", CAP_SYS_PTRACE));
    CHECK(checks("process_vm_writev", CAP_SYS_PTRACE));
    CHECK(checks("kcmp", CAP_SYS_PTRACE));
    // CAP_SYS_NICE: "apply migrate_pages(2) to arbitrary processes"; "apply move_pages(2) to
    // arbitrary processes"; "use the MPOL_MF_MOVE_ALL flag with mbind(2) and move_pages(2)";
    // "set the I/O scheduling class and priority (ioprio_set(2))";
    // "set real-time scheduling policies ... (sched_setscheduler(2), sched_setparam(2),
    // sched_setattr(2))"; "lower the process nice value (nice(2), setpriority(2))"
    for (const char* s :
         {"migrate_pages", "move_pages", "mbind", "ioprio_set", "sched_setscheduler",
          "sched_setparam", "sched_setattr", "nice", "setpriority"})
        CHECK_MESSAGE(checks(s, CAP_SYS_NICE), s);
    // CAP_SYS_ADMIN: "sethostname(2) and setdomainname(2)"; "mount(2), umount(2)";
    // "pivot_root(2)"; "swapon(2) and swapoff(2)"; "quotactl(2)"; "lookup_dcookie(2)";
    // "fanotify_init(2)"; "setns(2)"; "clone(2) and unshare(2) ... new namespaces"
    for (const char* s :
         {"sethostname", "setdomainname", "mount", "umount2", "pivot_root", "swapon", "swapoff",
          "quotactl", "lookup_dcookie", "fanotify_init", "setns", "clone", "unshare"})
        CHECK_MESSAGE(checks(s, CAP_SYS_ADMIN), s);
    // CAP_DAC_READ_SEARCH: "invoke open_by_handle_at(2)"
    CHECK(checks("open_by_handle_at", CAP_DAC_READ_SEARCH));
    // CAP_MKNOD: "Create special files using mknod(2)"
    CHECK(checks("mknod", CAP_MKNOD));
    CHECK(checks("mknodat", CAP_MKNOD));
    // CAP_SETGID: "make forged GIDs ...; setgroups(2)"; CAP_SETUID: "arbitrary manipulations of
    // process UIDs (setuid(2), setreuid(2), setresuid(2), setfsuid(2))"
    CHECK(checks("setgroups", CAP_SETGID));
    CHECK(checks("setgid", CAP_SETGID));
    for (const char* s : {"setuid", "setreuid", "setresuid", "setfsuid"})
        CHECK_MESSAGE(checks(s, CAP_SETUID), s);
    // CAP_CHOWN: "Make arbitrary changes to file UIDs and GIDs (see chown(2))"
    CHECK(checks("chown", CAP_CHOWN));
    CHECK(checks("fchownat", CAP_CHOWN));
    // CAP_KILL: "Bypass permission checks for sending signals (see kill(2))"
    CHECK(checks("kill", CAP_KILL));
    // CAP_NET_RAW: "Use RAW and PACKET sockets"
    CHECK(checks("socket", CAP_NET_RAW));
    // CAP_NET_BIND_SERVICE: "Bind a socket to Internet domain privileged ports (port numbers
    // less than 1024)"
    CHECK(checks("bind", CAP_NET_BIND_SERVICE));
    CHECK(checkOf("bind", CAP_NET_BIND_SERVICE)->error == 13);  // bind(2): EACCES
    // CAP_SYSLOG: "Perform privileged syslog(2) operations"
    CHECK(checks("syslog", CAP_SYSLOG));
    // CAP_PERFMON / CAP_BPF (Linux 5.8), with CAP_SYS_ADMIN as the older alternative
    CHECK(checks("perf_event_open", CAP_PERFMON));
    CHECK(checks("perf_event_open", CAP_SYS_ADMIN));
    CHECK(checks("bpf", CAP_BPF));
    CHECK(checks("bpf", CAP_SYS_ADMIN));
    // CAP_WAKE_ALARM: "Trigger something that will wake up the system (set
    // CLOCK_REALTIME_ALARM and CLOCK_BOOTTIME_ALARM timers)"
    CHECK(checks("timer_create", CAP_WAKE_ALARM));
    // CAP_SYS_RESOURCE: "raise the hard limit ... (setrlimit(2))"
    CHECK(checks("setrlimit", CAP_SYS_RESOURCE));
    CHECK(checks("prlimit64", CAP_SYS_RESOURCE));
    // CAP_NET_ADMIN: "modify routing tables", "set socket options", "set
    // promiscuous mode" ... (the iptables setsockopt and netlink requests)
    CHECK(checks("setsockopt", CAP_NET_ADMIN));
    CHECK(checks("sendmsg", CAP_NET_ADMIN));
}

TEST_CASE("user_namespaces(7): operations only the initial user namespace may perform") {
    // "changing the system time (CAP_SYS_TIME), loading a kernel module (CAP_SYS_MODULE), and
    // creating a device (CAP_MKNOD). Only a process with privileges in the initial user
    // namespace can perform such operations."
    CHECK(checkOf("settimeofday", CAP_SYS_TIME)->scope == CapScope::InitialUserNs);
    CHECK(checkOf("clock_settime", CAP_SYS_TIME)->scope == CapScope::InitialUserNs);
    CHECK(checkOf("init_module", CAP_SYS_MODULE)->scope == CapScope::InitialUserNs);
    CHECK(checkOf("delete_module", CAP_SYS_MODULE)->scope == CapScope::InitialUserNs);
    CHECK(checkOf("mknod", CAP_MKNOD)->scope == CapScope::InitialUserNs);
    // "Holding CAP_SYS_ADMIN within the user namespace that owns a process's mount namespace
    // allows that process to create bind mounts and mount ..."; the UTS namespace's owner
    // governs sethostname; the network namespace's owner raw sockets.
    CHECK(checkOf("mount", CAP_SYS_ADMIN)->scope == CapScope::OwningUserNs);
    CHECK(checkOf("sethostname", CAP_SYS_ADMIN)->scope == CapScope::OwningUserNs);
    CHECK(checkOf("socket", CAP_NET_RAW)->scope == CapScope::OwningUserNs);
}

TEST_CASE("argument-dependent checks say when; syscalls the kernel does not check have none") {
    // adjtimex(2): "the caller must have CAP_SYS_TIME if modes is nonzero"
    REQUIRE(checkOf("adjtimex", CAP_SYS_TIME));
    CHECK(checkOf("adjtimex", CAP_SYS_TIME)->condition.find("modes") != std::string::npos);
    // mbind(2): "MPOL_MF_MOVE_ALL ... requires CAP_SYS_NICE"
    CHECK(checkOf("mbind", CAP_SYS_NICE)->condition.find("MPOL_MF_MOVE_ALL") != std::string::npos);
    // get_mempolicy(2) and set_mempolicy(2) list no EPERM: the kernel checks nothing; the entry
    // exists for the seccomp-profile note.
    REQUIRE(syscallCapFacts("get_mempolicy"));
    CHECK(syscallCapFacts("get_mempolicy")->checks.empty());
    CHECK(syscallCapFacts("get_mempolicy")->note.find("CAP_SYS_NICE") != std::string::npos);
    // name_to_handle_at(2) needs no capability (only open_by_handle_at does).
    REQUIRE(syscallCapFacts("name_to_handle_at"));
    CHECK(syscallCapFacts("name_to_handle_at")->checks.empty());
    CHECK(syscallCapFacts("getpid") == nullptr);
    CHECK(describeCapCheck(*checkOf("perf_event_open", CAP_PERFMON))
              .rfind("CAP_PERFMON or CAP_SYS_ADMIN (initial user namespace)", 0) == 0);
}

TEST_CASE("the table is sorted, names are libseccomp's, the reverse index agrees") {
    const auto& all = allSyscallCapFacts();
    REQUIRE(all.size() > 60);
    for (std::size_t i = 1; i < all.size(); ++i) CHECK(all[i - 1].name < all[i].name);
    for (const auto& e : all) {
        CHECK_MESSAGE(seccomp_syscall_resolve_name(e.name.c_str()) != __NR_SCMP_ERROR, e.name);
        for (const auto& c : e.checks) CHECK(!c.anyOf.empty());
    }
    auto module = syscallsCheckingCap(CAP_SYS_MODULE);
    for (const char* s : {"delete_module", "finit_module", "init_module"})
        CHECK(std::find(module.begin(), module.end(), s) != module.end());
    auto nice = syscallsCheckingCap(CAP_SYS_NICE);
    CHECK(std::find(nice.begin(), nice.end(), "get_mempolicy") == nice.end());
}
