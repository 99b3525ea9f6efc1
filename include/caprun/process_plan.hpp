// Everything decided about a container process before it is cloned, as plain data: the
// capability plan, rlimits, oom score, user, no_new_privs, the compiled seccomp filter and
// the point where it is installed, the keyring, the scheduling and LSM attributes. One
// planner for the init (create, run, check) and for exec; `check` prints this value and
// create hands the same value to the process executor (process_executor.hpp).
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "caprun/cap_plan.hpp"
#include "caprun/check_report.hpp"
#include "caprun/host_facts.hpp"
#include "caprun/platform_facts.hpp"
#include "caprun/process_sched.hpp"
#include "caprun/seccomp_compile.hpp"
#include "caprun/spec.hpp"

namespace caprun {

enum class ProcessRole { Init, Exec };

// Where the process executor installs the seccomp filter.
enum class SeccompInstallPoint {
    None,
    // no_new_privs off: loading a filter needs CAP_SYS_ADMIN, so before the sets shrink.
    BeforeCapabilityDrop,
    // no_new_privs on and the filter uses NOTIFY: right after the credentials, before the
    // wait for start, so the listener fd reaches the agent while create still waits.
    AfterCredentials,
    // no_new_privs on: the last step before execve, so the runtime's own remaining setup
    // (the wait for start, startContainer hooks) is not filtered.
    BeforeExec,
};

// "none", "before-capability-drop", "after-credentials", "before-exec".
std::string seccompInstallPointName(SeccompInstallPoint p);

struct PlannedRlimit {
    int resource = 0;  // RLIMIT_*
    std::string type;  // "RLIMIT_NOFILE"
    rlim_t soft = 0, hard = 0;
};

struct ProcessPlan {
    ProcessRole role = ProcessRole::Init;
    std::string policy;  // "strict" | "lenient"
    CapabilityPlan capabilities;
    User user;
    std::vector<std::string> args, env;
    std::string cwd = "/";
    std::optional<std::string> hostname, domainname;  // the init with a new uts namespace
    std::vector<PlannedRlimit> rlimits;               // as decided (clamped under lenient)
    std::optional<int> oomScoreAdj;
    std::optional<mode_t> umask;
    bool noNewPrivileges = false;
    unsigned preserveFds = 0;    // fds 3..3+n-1 stay open across execve
    std::string sessionKeyring;  // joined before the user switch; empty: keep the caller's
    bool userNamespace = false;  // the process is in a user namespace (keyring permission)
    ProcessAttrPlan attrs;
    SeccompPlan seccomp;  // seccomp.compiled.enabled == false: no filter
    SeccompInstallPoint seccompAt = SeccompInstallPoint::None;
    // Non-empty: the process must not start (strict policy's shortfall), and why.
    std::string refusal;
    std::vector<std::string> warnings;  // lenient drops, seccomp warnings: for the log
    std::vector<std::string> notes;     // predictions worth an info line
};

// What the caller chose for this process, beyond the spec.
struct ProcessRequest {
    ProcessRole role = ProcessRole::Init;
    std::optional<std::string> capPolicy;       // --cap-policy; else annotation, environment
    std::optional<std::string> seccompProfile;  // --seccomp-profile PATH|default|unconfined
    std::string seccompCacheRoot;               // the state root; empty: no filter cache
    std::string rootfs;          // where args[0] is looked up for file capabilities; "" none
    std::string sessionKeyring;  // empty: keep the caller's
    bool userNamespace = false;
    unsigned preserveFds = 0;
};

// Plans `process` (the spec's own, or exec's) against the whole `spec`: linux decides the
// user namespace, the uts namespace, the seccomp filter. Probes nothing itself: the host
// comes in as `host` and `platform`. Reads the seccomp profile file and cache when given.
// Throws Error for a value that can never be applied (naming its JSON path); a strict
// policy's shortfall is not thrown but returned in `refusal`, so check can still print it.
ProcessPlan planProcess(const Spec& spec, const Process& process, const ProcessRequest& request,
                        const HostFacts& host, const PlatformFacts& platform);

// For create, run and exec: throws the refusal when there is one, else logs the warnings
// and notes.
void requireStartable(const ProcessPlan& plan);

// The plan as `check` shows it: a JSON object (the value of check's "processPlan" key) and text.
std::string processPlanJson(const ProcessPlan& plan);
std::string processPlanText(const ProcessPlan& plan);
// check's "processPlan" section: exactly processPlanJson(plan) and processPlanText(plan).
void addProcessSection(CheckReport& report, const ProcessPlan& plan);

// "RLIMIT_NOFILE" -> RLIMIT_NOFILE; throws naming `jsonPath` for an unknown name.
int rlimitResource(const std::string& name, const std::string& jsonPath);

}  // namespace caprun
