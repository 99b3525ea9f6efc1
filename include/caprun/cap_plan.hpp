// The capability planner: intersects the five requested sets with what the
// host offers under a strict or lenient policy, decides the rlimits and oom_score_adj that
// need CAP_SYS_RESOURCE, and predicts the sets the process holds after execve. Pure: a
// function of the spec, HostFacts and the policy (plus the executable's file capabilities,
// read from the rootfs beforehand).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "caprun/capabilities.hpp"
#include "caprun/host_facts.hpp"
#include "caprun/spec.hpp"

namespace caprun {

enum class CapPolicy { Lenient, Strict };

struct PolicyChoice {
    CapPolicy policy = CapPolicy::Lenient;
    std::string source = "default";  // "--cap-policy", "annotation run.caprun.cap-policy", ...
};

const char* capPolicyName(CapPolicy p);

constexpr const char* kCapPolicyAnnotation = "run.caprun.cap-policy";
constexpr const char* kCapPolicyEnv = "CAPRUN_CAP_POLICY";
// containerd's CRI marks a pod's sandbox (pause) container with this annotation = "sandbox".
constexpr const char* kCriContainerTypeAnnotation = "io.kubernetes.cri.container-type";

// First match wins: --cap-policy, the annotation, the environment variable, else lenient.
// An invalid value is an error naming where it came from. `env` may be null.
PolicyChoice resolvePolicy(const std::optional<std::string>& option,
                           const std::map<std::string, std::string>& annotations, const char* env);

// Why a requested name was not granted in a set.
enum class CapDropKind {
    InvalidName,         // not a capability name at all
    UnknownToKernel,     // a real name above cap_last_cap
    HostLacks,           // not in the runtime's bounding (and so not offerable at all)
    NotInHostPermitted,  // in the host's bounding but not the runtime's permitted set
    NotInPermitted,      // effective requested without permitted
    InheritableBlocked,  // inheritable outside what capset allows
    AmbientNeedsBoth,    // ambient without granted permitted and inheritable
    AmbientLocked,       // SECBIT_NO_CAP_AMBIENT_RAISE is set
};

// One requested name that was not granted, with every set it lost and why (sets with the
// same reason are grouped).
struct CapDrop {
    std::string name;        // canonical CAP_X when it is a name, else as written
    std::optional<int> cap;  // number when known
    struct Part {
        std::vector<CapSetKind> sets;
        CapDropKind kind;
        std::string reason;  // a sentence fragment naming the mask it was checked against
    };
    std::vector<Part> parts;
    std::vector<CapSetKind> allSets() const;
    // "CAP_SYS_RESOURCE (bounding, effective, permitted): <reason>; ..."
    std::string describe() const;
};

// An rlimit as requested and as it will be applied.
struct RlimitDecision {
    std::string type;      // RLIMIT_NOFILE
    std::string jsonPath;  // process.rlimits[0]
    std::uint64_t requestedSoft = 0, requestedHard = 0;
    std::uint64_t soft = 0, hard = 0;  // what will be set
    std::uint64_t runtimeHard = 0;     // the runtime's own hard limit
    bool shortfall = false;            // above runtimeHard without CAP_SYS_RESOURCE
    std::string describe() const;      // the sentence used in errors and warnings
};

struct OomScoreDecision {
    int requested = 0;
    int value = 0;  // what will be written
    int runtimeValue = 0;
    bool shortfall = false;  // below the runtime's own without CAP_SYS_RESOURCE
    // Asked by the caller for a pod sandbox (containerd's -998), not by the pod's author:
    // clamped under either policy, never a reason for strict to refuse the pod.
    bool callersOwn = false;
    std::string describe() const;
};

// File capabilities of the executable, read from its security.capability xattr.
struct FileCapabilities {
    CapMask permitted = 0, inheritable = 0;
    bool effective = false;
};

struct ExecutableInfo {
    std::string path;  // inside the rootfs, as resolved; empty if not found
    std::string note;  // why it was not found / could not be read, for check
    std::optional<FileCapabilities> fileCaps;
    bool setuidRoot = false;
};

struct CapabilityPlan {
    PolicyChoice policy;
    HostFacts host;
    bool userNamespace = false;  // planned against the offer inside a user namespace
    // What the init holds when the executor starts: the runtime's own sets, or in a user
    // namespace the full set of that namespace (see planCapabilities).
    CapSets offered;
    unsigned offeredSecurebits = 0;
    // The bounding bits the executor drops (PR_CAPBSET_DROP): offered.bounding minus
    // granted.bounding. Decided here, never re-derived from the host by the executor.
    CapMask boundingDrop = 0;
    bool capabilitiesObject = false;  // process.capabilities was present
    std::map<CapSetKind, std::vector<std::string>> requestedNames;  // as written
    CapSets requested;                                              // valid, known names only
    CapSets granted;
    std::vector<CapDrop> dropped;
    // Without CAP_SETPCAP the runtime cannot shrink the bounding set: these capabilities
    // would stay in it although not requested (a shortfall; lenient keeps them).
    CapMask boundingKept = 0;
    std::vector<RlimitDecision> rlimits;
    std::optional<OomScoreDecision> oomScoreAdj;
    std::uint32_t uid = 0;
    bool noNewPrivileges = false;
    ExecutableInfo executable;
    CapSets predicted;  // after execve
    std::vector<std::string> predictionWarnings;
    // In a user namespace that is not the initial one (new, joined, or the runtime's own):
    // granted capabilities the kernel checks against the initial one (cap_userns.hpp).
    std::vector<std::string> userNamespaceNotes;
    // The new user namespace's setgroups is "deny" (rootless, gid map written directly):
    // the executor skips setgroups, and additional gids are refused.
    bool setgroupsDenied = false;

    // Anything the host cannot grant (capabilities, rlimits, oom_score_adj)?
    bool hasShortfall() const;
    // Under strict policy: the one error that stops create/run (empty when nothing is
    // short). Under lenient: the one warning (empty when nothing was dropped). `extra`
    // may add a note per dropped capability (the seccomp rules that stay off because of it).
    std::string shortfallMessage(
        const std::function<std::string(const CapDrop&)>& extra = nullptr) const;
    // Whether create/run must stop.
    bool refusesToStart() const {
        return policy.policy == CapPolicy::Strict && hasRefusableShortfall();
    }
    // A shortfall the policy decides on: all but the caller's own (OomScoreDecision).
    bool hasRefusableShortfall() const;
};

// Resolves args[0] through the config's PATH inside `rootfs` (never leaving it) and reads
// its file capabilities. Never throws: problems become ExecutableInfo::note.
ExecutableInfo inspectExecutable(const Process& process, const std::string& rootfs);

// The planner. `exe` comes from inspectExecutable (or a test).
CapabilityPlan planCapabilities(const Spec& spec, const HostFacts& host, const PolicyChoice& policy,
                                const ExecutableInfo& exe);

// The post-execve sets (capabilities(7), "Transformation of capabilities during execve()";
// the kernel's cap_bprm_creds_from_file), for a process that holds `before` and execs `exe`.
CapSets predictAfterExec(const CapSets& before, std::uint32_t uid, bool noNewPrivileges,
                         const ExecutableInfo& exe, unsigned securebits, int capLastCap);

// The capabilities a file forces that make its execve fail with EPERM: with the effective bit
// set, every file-permitted capability must reach the new permitted set through the bounding
// set (or inheritable & file-inheritable), whoever runs it.
CapMask forcedCapsMissing(const CapSets& before, const ExecutableInfo& exe);

// The whole planning step as run/create/check do it: policy (`policyOption` from
// --cap-policy, else the annotation, else the environment), executable inspection inside
// `rootfs`, plan.
CapabilityPlan planForContainer(const Spec& spec, const std::optional<std::string>& policyOption,
                                const std::string& rootfs, const HostFacts& host);

// The seccomp inputs a capability plan decides: the granted bounding set, why each
// requested capability was dropped from it, strict policy, the host's kernel release.
// (SeccompHost is in caprun/seccomp_resolve.hpp.)
struct SeccompHost;
SeccompHost seccompHostFor(const CapabilityPlan& plan);

}  // namespace caprun
