// What a resolved seccomp filter means, for people: the verdict on one syscall (`caprun
// explain` and `trace`) and the filter's section of `caprun check` as text and JSON.
// The check report adds it with addSeccompSection() (caprun/check_report.hpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "caprun/seccomp_resolve.hpp"

namespace caprun {

// What the resolved filter does with one syscall (for `caprun explain` and `trace`). libseccomp
// lets a rule without argument conditions override every conditional rule of the same
// syscall; without one, conditional rules apply when their arguments match, else the default.
struct SeccompVerdict {
    bool filtered = false;  // a filter is installed (else every syscall is allowed)
    // "allow", "log", "errno", "kill", "trap", "notify", "trace": for the unconditional case
    std::string kind = "allow";
    std::uint32_t actionValue = 0;            // libseccomp's action value
    std::optional<std::uint32_t> errnoValue;  // kind "errno" (or trace data)
    std::string phrase;                       // "fails with EPERM"
    std::optional<std::size_t> rule;  // index in ResolvedSeccomp::rules; nullopt: the default
    std::string decidedBy;            // "syscalls[23]" or "defaultAction"
    // Included rules naming the syscall with argument conditions: rule index, condition text
    // ("arg0 & 0x7e020000 == 0"), and what it does then. Only when no unconditional rule.
    struct Conditional {
        std::size_t rule;
        std::string condition;
        std::string kind, phrase;
    };
    std::vector<Conditional> conditional;
    std::vector<std::size_t> leftOut;  // rules naming it that are not in the filter
    bool unknownToLibseccomp = false;  // a rule names it but libseccomp does not know it
};
SeccompVerdict seccompVerdictFor(const ResolvedSeccomp& r, const std::string& syscall);

// `caprun check` rendering: text lines, and a JSON object (the value of the "seccomp" key).
std::string renderSeccompText(const ResolvedSeccomp& r);
std::string renderSeccompJson(const ResolvedSeccomp& r);
// check's brief: the source, the rule counts and the default action, and the warnings.
std::string renderSeccompBrief(const ResolvedSeccomp& r);

}  // namespace caprun
