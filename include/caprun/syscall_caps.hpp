// Which capabilities the kernel checks inside a syscall: facts written for this project
// from capabilities(7) and the kernel's own checks (capable() vs ns_capable()), used by
// `caprun explain`, the start-up warnings and `caprun trace` to name the capability behind
// an EPERM/EACCES and the fix. Data only; no decision depends on the running host.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace caprun {

// Which user namespace the kernel checks the capability against.
enum class CapScope {
    // capable(): the initial user namespace. Holding the capability in a container's own
    // user namespace never satisfies it; only the host's capability does.
    InitialUserNs,
    // ns_capable(): the user namespace owning the object (the UTS/mount/network/pid
    // namespace, the file's owner mapping, the target process). In a container without its
    // own user namespace that is the initial one too.
    OwningUserNs,
};

// One capability check the kernel makes in a syscall.
struct CapCheck {
    std::vector<int> anyOf;  // one of these suffices (CAP_PERFMON or CAP_SYS_ADMIN)
    std::string condition;   // when the check is made; empty: on every call
    CapScope scope = CapScope::OwningUserNs;
    int error = 1;  // the errno when it fails (EPERM; a few checks give EACCES)
};

struct SyscallCapFacts {
    std::string name;                  // libseccomp's name: "delete_module"
    std::vector<CapCheck> checks;      // empty: the kernel checks no capability
    std::string note;                  // e.g. that a seccomp profile gates it although the
                                       // kernel checks nothing
    std::vector<std::string> seeAlso;  // related syscall names with their own entries
};

// The entry for `name`, or nullptr when the table has none (most syscalls check nothing).
const SyscallCapFacts* syscallCapFacts(std::string_view name);

// Every entry, ordered by name.
const std::vector<SyscallCapFacts>& allSyscallCapFacts();

// Syscalls of the table in which the kernel checks `cap` (in any anyOf), ordered by name.
std::vector<std::string> syscallsCheckingCap(int cap);

// "CAP_SYS_TIME" or "CAP_PERFMON or CAP_SYS_ADMIN".
std::string capCheckNames(const CapCheck& c);

// A sentence: "CAP_SYS_TIME (initial user namespace) when modes != 0".
std::string describeCapCheck(const CapCheck& c);

}  // namespace caprun
