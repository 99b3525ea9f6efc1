// `caprun explain`: for a syscall name, what the container's seccomp filter does with it
// (and which rule decides, with its capability gates), which capabilities the kernel checks
// in it (syscall_caps.hpp) and whether the container holds them after execve, and the fix
// in the caller's own words (config.json, docker, Kubernetes, podman, ctr) for the policy in
// force — or that no container setting can help because the host lacks the capability.
//
// Pure: a function of the spec, the capability plan (planForContainer, as `check` makes it)
// and the selected seccomp filter (selectSeccomp). Fixes are found by re-running the same
// planners with the capability added, never by a separate model of them.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "caprun/cap_plan.hpp"
#include "caprun/seccomp_report.hpp"
#include "caprun/spec.hpp"

namespace caprun {

// Where one capability stands for the container.
struct CapStanding {
    std::string cap;  // "CAP_SYS_NICE"
    int number = -1;
    bool held = false;       // in the effective set after execve (the prediction)
    bool hostOffers = true;  // in the runtime's bounding set
    std::string state;       // "held", "dropped", "lost at execve", "not requested",
                             // "host lacks it"
    std::string why;         // the plan's words (drop reason, ...)
};

struct ExplainedCapCheck {
    std::vector<CapStanding> anyOf;  // one of them suffices
    std::string condition;           // empty: every call
    bool initialUserNs = false;
    int error = 1;
    bool satisfied = false;  // the container passes the check
    std::string note;        // e.g. why holding it in a user namespace does not count
};

struct ExplainedRule {
    std::size_t index = 0;  // in the filter's syscalls list
    std::string jsonPath;   // "syscalls[23]" / "linux.seccomp.syscalls[3]"
    bool included = false;
    std::string kind;       // "allow", "errno", ...
    std::string condition;  // argument conditions, empty when none
    std::string reason;     // resolveSeccomp's words
    std::vector<ResolvedSeccompRule::CapGate> gates;
};

// One capability the container would need, and how to get it.
struct CapFix {
    enum class Kind {
        Container,         // add it in the container's settings (the lines below)
        HostLacks,         // not in the runtime's bounding set: no container setting can help
        RuntimeLacks,      // in the host's bounding set but not the runtime's permitted set
        UserNamespace,     // checked against the initial user namespace; the container has its own
        NotKeptAfterExec,  // no setting of the five sets keeps it after execve for this process
        KernelLacks,       // the kernel was built without what the syscall needs (ENOSYS)
    };
    std::string cap;  // "CAP_SYS_NICE"
    Kind kind = Kind::Container;
    std::vector<std::string> because;     // "seccomp rule syscalls[23] allows it only with ..."
    bool conditional = false;             // needed only for some arguments
    std::vector<std::string> configSets;  // config.json sets to add it to
    std::vector<std::string> lines;       // the fix in each caller's words, or the host's
};

struct SyscallExplanation {
    std::string syscall;
    // seccomp
    std::string seccompSource;  // SeccompSource::describe()
    bool seccompFiltered = false;
    std::string seccompKind;  // "allow", "errno", "kill", "notify", "trace", "log", "trap"
    std::optional<std::uint32_t> seccompErrno;
    std::string seccompPhrase;         // "fails with EPERM"
    std::string decidedBy;             // "syscalls[23]", "defaultAction"; empty without a filter
    std::vector<ExplainedRule> rules;  // the deciding rule, conditional ones, left-out ones
    std::vector<SeccompVerdict::Conditional> conditional;
    // kernel
    std::vector<ExplainedCapCheck> kernelChecks;
    std::string kernelNote;
    // The kernel was built without the facility the syscall needs (kernel_facilities.hpp):
    // said first in the outcome, and no capability is suggested.
    std::string kernelLacks;
    // verdict
    std::string cause;    // "seccomp", "capability", "capability (depending on arguments)",
                          // "seccomp (depending on arguments)", "none"
    std::string outcome;  // one sentence
    std::vector<CapFix> fixes;
    std::string otherFix;  // when no capability helps (a seccomp rule without a gate)
};

// Throws Error for names neither libseccomp nor the table knows, naming each with the
// nearest known names.
void validateSyscallNames(const std::vector<std::string>& names);

// Every syscall name explain accepts, sorted: libseccomp's for the native architecture plus
// syscall_caps' table (what shell completion offers).
const std::vector<std::string>& knownSyscallNames();

// Up to `n` known syscall names nearest to `name` (edit distance), nearest first.
std::vector<std::string> nearestSyscallNames(const std::string& name, std::size_t n = 3);

std::vector<SyscallExplanation> explainSyscalls(const Spec& spec, const CapabilityPlan& plan,
                                                const SelectedSeccomp& seccomp,
                                                const std::vector<std::string>& names);

// The fix for capabilities the kernel denied (as `caprun trace` saw them) in `syscall`: the
// same CapFix explain gives, with `because` as the reason.
std::vector<CapFix> fixesForDeniedCaps(const Spec& spec, const CapabilityPlan& plan,
                                       const std::string& syscall,
                                       const std::vector<std::string>& caps,
                                       const std::string& because);

// The note a dropped capability gets in check's and run's warning: the syscalls seccomp keeps
// denied, the ones whose kernel check will fail, and for a host that lacks it, that it is
// the host. Empty when there is nothing to add.
std::string capDropNote(const CapabilityPlan& plan,
                        const std::map<std::string, std::vector<std::string>>& deniedWithoutCap,
                        const CapDrop& drop);

// Rendering (explain_report.cpp).
std::string explainText(const std::vector<SyscallExplanation>& e, const CapabilityPlan& plan);
std::string explainJson(const std::vector<SyscallExplanation>& e, const CapabilityPlan& plan);

}  // namespace caprun
