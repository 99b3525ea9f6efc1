// Seccomp resolution: the selected filter's capability, architecture and kernel gates
// evaluated against what the capability planner granted, and the filter validated.
//
// resolveSeccomp() is a pure function of the parsed filter and a SeccompHost value (granted
// bounding mask, native arch, kernel release), so unit tests can feed any host. A capability
// plan gives its SeccompHost with seccompHostFor() (caprun/cap_plan.hpp).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "caprun/seccomp_profile.hpp"
#include "caprun/spec.hpp"

namespace caprun {

// What the capability planner decided, as far as seccomp gates care.
struct SeccompHost {
    std::uint64_t grantedBounding = 0;  // bit n set: capability n is in the granted bounding set
    // Why a capability that was requested is not granted ("not in host bounding set");
    // key: capability number. Absent and not granted means "not requested".
    std::map<int, std::string> capDropReasons;
    std::uint32_t nativeArch = 0;        // SCMP_ARCH_*; 0 = seccomp_arch_native()
    std::string kernelRelease;           // uname -r; empty = this kernel
    bool strictUnknownSyscalls = false;  // capability policy strict: unknown names are errors
};

// The kernel release gates are evaluated for: host.kernelRelease, or this kernel's (uname).
std::string seccompKernelRelease(const SeccompHost& host);

// One rule of the filter after gates were evaluated.
struct ResolvedSeccompRule {
    std::string jsonPath;                   // "syscalls[12]" / "linux.seccomp.syscalls[3]"
    std::vector<std::string> names;         // as written
    std::vector<std::string> unknownNames;  // not known to libseccomp; not in the filter
    std::string action;                     // "SCMP_ACT_ERRNO"
    std::uint32_t actionValue = 0;          // libseccomp action incl. errno/trace data
    std::optional<std::uint32_t> errnoRet;
    std::vector<SeccompArg> args;
    std::string comment;
    bool included = false;
    std::string reason;  // why in or out: "allowed only with CAP_SYS_NICE — not granted (...)"
    // Capability gates of this rule and their verdict.
    struct CapGate {
        std::string cap;       // "CAP_SYS_NICE"
        bool required = true;  // true: includes.caps (must hold); false: excludes.caps
        bool granted = false;
        std::string why;  // "granted", "not requested", "dropped: not in host bounding set"
    };
    std::vector<CapGate> capGates;
    bool gated() const { return !capGates.empty(); }
};

struct ResolvedSeccomp {
    SeccompSource source;
    bool enabled = false;  // false: no filter is installed
    std::string defaultAction;
    std::uint32_t defaultActionValue = 0;
    std::optional<std::uint32_t> defaultErrnoRet;
    std::uint32_t nativeArch = 0;
    std::vector<std::string> architectures;  // SCMP_ARCH_* tokens beyond/including native
    std::vector<std::string> flags;          // SECCOMP_FILTER_FLAG_* as written (validated)
    std::uint32_t flagBits = 0;              // for seccomp(2), NEW_LISTENER added with NOTIFY
    std::string listenerPath;
    std::string listenerMetadata;
    std::string kernelRelease;
    std::vector<ResolvedSeccompRule> rules;  // every rule of the source, in order
    std::vector<std::string> warnings;       // unknown names (lenient), dropped flags; the
                                             // caller logs them
    bool usesNotify = false;                 // some included rule has SCMP_ACT_NOTIFY
    // For every capability that is not granted: the syscalls that stay denied because of
    // it (gated on it and allowed by no other included rule). Key "CAP_SYS_NICE".
    std::map<std::string, std::vector<std::string>> deniedWithoutCap;

    std::size_t includedRuleCount() const;
};

// Evaluates gates and validates. Errors (caprun::Error) carry "<label>: <json path>: why":
// unknown action/arch/flag, errnoRet on an action that takes none, bad arg index/op,
// NOTIFY as default action or on write, unknown syscall names under strict policy.
ResolvedSeccomp resolveSeccomp(const SelectedSeccomp& selected, const SeccompHost& host);

// deniedWithoutCap for `cap` in any spelling ("CAP_SYS_NICE", "sys_nice"): the syscalls that
// stay denied because it is not granted. Empty when none or when seccomp is off.
std::vector<std::string> syscallsDeniedWithout(const ResolvedSeccomp& r, const std::string& cap);

}  // namespace caprun
