// Seccomp: choosing the filter source, resolving capability-gated rules against the
// capabilities that were really granted, validating, compiling to BPF with libseccomp,
// installing with seccomp(2), and handing a SCMP_ACT_NOTIFY listener to its agent.
//
// Plan, then apply: resolveSeccomp() is a pure function of the parsed filter and a
// SeccompHost value (granted bounding mask, native arch, kernel release), so unit tests
// can feed any host. Compilation happens in the runtime before clone; the container init
// only calls installSeccomp() on ready bytes.
//
// A container start (create/run/exec), in the runtime before clone:
//   CapabilityPlan cp = planForContainer(...);
//   SeccompPlan sp = planSeccomp(spec, profileOption, seccompHostFor(cp), g.root);
//   for (w : sp.warnings) log::warn(w);
//   lenient warning: cp.shortfallMessage([&](const CapDrop& d) {
//                        return seccompDropNote(sp.deniedWithoutCap, d); });
// in the init, at the executor's moment: int fd = installSeccomp(sp.compiled); a listener
// fd (NOTIFY) goes back to the runtime (SCM_RIGHTS on the sync socket), which calls
//   sendSeccompListener(sp.compiled.listenerPath, fd,
//       seccompListenerMessage(pid, sp.compiled.listenerMetadata, <state JSON, "creating">));
// `caprun check`: addSeccompSection(report, resolveSeccomp(selectSeccomp(...), host)).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "caprun/spec.hpp"

namespace caprun {

// The annotation that selects a profile per container (a path, or "default").
inline constexpr const char* kSeccompProfileAnnotation = "run.caprun.seccomp-profile";

// Where the filter of a container comes from. A profile (option or annotation) replaces
// config.json's linux.seccomp entirely.
struct SeccompSource {
    enum class Kind { None, ConfigJson, ProfileFile, BuiltinDefault };
    Kind kind = Kind::None;
    std::string path;              // ProfileFile: the file
    std::string via;               // "--seccomp-profile", "annotation run.caprun.seccomp-profile",
                                   // "config.json linux.seccomp"
    std::string describe() const;  // "built-in default profile (from --seccomp-profile)"
    std::string label() const;     // error prefix: "config.json", the profile path, ...
};

// The chosen filter, parsed (profiles: dockerd's format, archMap resolved for `nativeArch`).
struct SelectedSeccomp {
    SeccompSource source;
    std::optional<Seccomp> filter;  // nullopt: no seccomp at all
    std::string jsonPrefix;         // "linux.seccomp." for config.json, "" for profiles
};

// First match wins: `profileOption` (--seccomp-profile PATH|default|unconfined), the
// annotation, config.json's linux.seccomp. "unconfined" installs no filter at all.
// Errors name the file and JSON path.
// `nativeArch` is a libseccomp SCMP_ARCH_* token (0 = seccomp_arch_native()).
SelectedSeccomp selectSeccomp(const Spec& spec, const std::optional<std::string>& profileOption,
                              std::uint32_t nativeArch = 0);

// Parses a dockerd-style profile text (defaultAction, defaultErrnoRet, architectures or
// archMap, syscalls with includes/excludes). `label` prefixes errors ("profile.json").
Seccomp parseSeccompProfile(std::string_view text, const std::string& label,
                            std::uint32_t nativeArch = 0);

// The built-in default profile (profiles/default.json, compiled into the binary).
std::string_view builtinDefaultProfileJson();

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

struct CapabilityPlan;
struct CapDrop;
struct CheckReport;

// The seccomp inputs a capability plan decides: the granted bounding set, why each
// requested capability was dropped from it, strict policy, the host's kernel release.
SeccompHost seccompHostFor(const CapabilityPlan& plan);

// The note the planner's lenient warning adds to a dropped capability (pass it as
// CapabilityPlan::shortfallMessage's `extra`): "seccomp keeps get_mempolicy, mbind denied
// without it"; empty when no syscall depends on it.
std::string seccompDropNote(const std::map<std::string, std::vector<std::string>>& deniedWithoutCap,
                            const CapDrop& drop);

// `caprun check`: appends the text and sets the "seccomp" member of the report.
void addSeccompSection(CheckReport& report, const ResolvedSeccomp& r);

// The syscalls that stay denied because `cap` ("CAP_SYS_NICE") is not granted; for the
// capability planner's lenient-drop warning. Empty when none or when seccomp is off.
std::vector<std::string> syscallsDeniedWithout(const ResolvedSeccomp& r, const std::string& cap);

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

// "allow", "errno", ... for a libseccomp action value; "fails with EPERM" for it.
std::string seccompActionKind(std::uint32_t actionValue);
std::string seccompActionPhrase(std::uint32_t actionValue);

// `caprun check` rendering: text lines, and a JSON object (the value of the "seccomp" key).
std::string renderSeccompText(const ResolvedSeccomp& r);
std::string renderSeccompJson(const ResolvedSeccomp& r);

// A filter ready to install: classic BPF instructions plus seccomp(2) flags.
struct CompiledSeccomp {
    bool enabled = false;
    std::vector<std::uint8_t> bpf;  // struct sock_filter[], 8 bytes each
    std::uint32_t flagBits = 0;     // SECCOMP_FILTER_FLAG_*
    bool usesNotify = false;
    std::string listenerPath;
    std::string listenerMetadata;
    bool fromCache = false;
    std::string cacheKey;  // hex; empty when not cached
};

// Compiles with libseccomp (seccomp_export_bpf through a memfd). Heavy: call before fork.
CompiledSeccomp compileSeccomp(const ResolvedSeccomp& r);

// Compile or load from the cache under `stateRoot` (empty: no cache). Call before fork.
CompiledSeccomp prepareSeccomp(const ResolvedSeccomp& r, const std::string& stateRoot);

// Everything a container start needs from seccomp, computed in the runtime before clone.
struct SeccompPlan {
    SeccompSource source;
    CompiledSeccomp compiled;           // compiled.enabled == false: no filter
    std::vector<std::string> warnings;  // for the caller to log (unknown names, ignored flags)
    // As ResolvedSeccomp::deniedWithoutCap: for the lenient-drop warning of the planner.
    std::map<std::string, std::vector<std::string>> deniedWithoutCap;
    std::size_t ruleCount = 0;
    std::size_t includedRuleCount = 0;
};

// Select, resolve and compile; or, when the cache under `stateRoot` holds an entry for the
// same definition bytes (profile file, built-in profile, or config.json's linux.seccomp)
// and the same resolution inputs (granted bounding set, arch, kernel release, policy,
// versions), load it without parsing or resolving: the fast path of a container start.
// `stateRoot` empty: no cache. Throws like selectSeccomp and resolveSeccomp.
SeccompPlan planSeccomp(const Spec& spec, const std::optional<std::string>& profileOption,
                        const SeccompHost& host, const std::string& stateRoot);

// Installs the filter in the calling thread (seccomp(2) SECCOMP_SET_MODE_FILTER). The caller
// must either hold CAP_SYS_ADMIN in its user namespace or have set no_new_privs. Returns the
// listener fd (O_CLOEXEC by the kernel) when the filter uses NOTIFY, else -1. Does not
// allocate; throws Error on failure naming the flags.
int installSeccomp(const CompiledSeccomp& c);

// The runtime-spec "container process state" sent to a seccomp agent:
// {"ociVersion","fds":["seccompFd"],"pid","metadata","state":<stateJson>}.
std::string seccompListenerMessage(int pid, const std::string& metadata,
                                   const std::string& stateJson);

// Connects to `listenerPath` (unix SOCK_STREAM) and sends the message with `listenerFd` as
// one SCM_RIGHTS fd, as the runtime-spec describes for listenerPath. Runs in the runtime
// after the container process exists (state "creating").
void sendSeccompListener(const std::string& listenerPath, int listenerFd,
                         const std::string& message);

}  // namespace caprun
