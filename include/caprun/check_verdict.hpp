// The block `caprun check` opens with: whether the container starts under strict and under
// lenient, the capabilities granted and dropped (with the set and why), the capability-gated
// seccomp rules left out that a workload is likely to hit, and every refusal. Built only from
// what the planners decided (the capability plan, the resolved seccomp filter, and the
// refusals create would raise under each policy): it never decides anything itself.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "caprun/cap_plan.hpp"
#include "caprun/seccomp_resolve.hpp"

namespace caprun {

// What create would do under one policy: every refusal it would raise (sysctl, rootfs,
// cgroups, fields, the capability shortfall), in the order create meets them.
struct PolicyOutcome {
    CapPolicy policy = CapPolicy::Lenient;
    std::vector<std::string> refusals;
    bool starts() const { return refusals.empty(); }
};

// Syscalls the filter keeps denied because no capability that unlocks them is granted
// (any one of `caps` would).
struct SeccompGap {
    std::vector<std::string> caps;         // "CAP_BPF", "CAP_SYS_ADMIN"
    std::vector<std::string> droppedCaps;  // those of `caps` requested but not granted
    std::vector<std::string> syscalls;     // only the likely hit ones unless a cap is dropped
    bool dropped() const { return !droppedCaps.empty(); }
};

struct CheckVerdict {
    PolicyChoice inForce;
    PolicyOutcome strict, lenient;
    std::vector<std::string> granted;  // capability names in any granted set, in number order
    std::vector<CapDrop> dropped;
    std::vector<SeccompGap> seccompGaps;  // dropped capabilities first
    std::vector<std::string> refusals;    // both outcomes' refusals, each once
};

// Syscalls that common workloads call and that the default profiles gate on a capability
// (sandboxes: mount, unshare, setns; debuggers: ptrace; profilers: perf_event_open, ...).
const std::vector<std::string>& likelyHitSyscalls();

// `plan` is the capability plan of the policy in force, `seccomp` the filter resolved against
// it; `strict` and `lenient` what create would refuse under each.
CheckVerdict makeCheckVerdict(const CapabilityPlan& plan, const ResolvedSeccomp& seccomp,
                              PolicyOutcome strict, PolicyOutcome lenient);

struct CheckReport;

// The same verdict as check's "verdict" JSON member: strict and lenient ({starts, refusals}),
// granted, dropped ([{cap, sets, reason}]), seccompGaps ([{caps, dropped, syscalls}]).
void addVerdict(CheckReport& report, const CheckVerdict& v);

constexpr std::size_t kMaxVerdictLines = 12;

// The block as lines (at most kMaxVerdictLines, each without its newline). With `colour`,
// ANSI colours mark what is granted (green), dropped (yellow) and refused (red).
std::vector<std::string> verdictLines(const CheckVerdict& v, bool colour);

}  // namespace caprun
