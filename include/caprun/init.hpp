// The container side of create and exec: what a freshly cloned process does before it
// execve()s the user's program. Everything here was decided by the parent before clone
// (the capability plan, rlimits as clamped by the planner, the compiled seccomp filter);
// the child only performs it, in the order the kernel needs.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "caprun/cap_plan.hpp"
#include "caprun/global_options.hpp"
#include "caprun/process_sched.hpp"
#include "caprun/spec.hpp"

namespace caprun {

struct ProcessSetup {
    std::vector<std::string> args;
    std::vector<std::string> env;
    std::string cwd = "/";
    std::optional<std::string> hostname, domainname;     // set only with a new uts namespace
    std::vector<std::pair<int, struct rlimit>> rlimits;  // resource, values as decided
    std::optional<int> oomScoreAdj;
    std::optional<mode_t> umask;
    std::uint32_t uid = 0;  // process.user.uid: whose home HOME defaults to
    bool noNewPrivileges = false;
    unsigned preserveFds = 0;    // fds 3..3+n-1 stay open across execve
    std::string sessionKeyring;  // joined before the user switch; empty: keep the caller's
    bool userNamespace = false;  // the process is in a new user namespace (keyring permission)
    int terminalSlave = -1;      // pty slave: becomes the controlling terminal and stdio
    // I/O priority, scheduler, memory policy, affinity, personality, LSM (process_sched.hpp).
    ProcessAttrPlan attrs;
    // Switches user and groups and applies the capability sets (the capability executor),
    // calling `installSeccomp` at the moment the executor chooses (before dropping
    // capabilities when no_new_privileges is off).
    std::function<void(const std::function<void()>& installSeccomp)> applyCredentials;
    std::function<void()> installSeccomp;  // empty: no filter
    // SCMP_ACT_NOTIFY: the filter's listener fd goes to this sink (the init sends it to the
    // runtime, which hands it to the agent at listenerPath). With no_new_privs the filter is
    // then installed at the end of setup, not right before execve, so the fd can still be
    // passed while create waits.
    bool seccompNotify = false;
    std::string seccompListenerPath, seccompListenerMetadata;
    std::shared_ptr<std::function<void(int)>> seccompListenerSink =
        std::make_shared<std::function<void(int)>>();
};

// Everything decided about a process before clone: the capability policy and plan, the
// rlimits as the planner allows them, the seccomp filter resolved against the granted
// capabilities and compiled. Under strict policy an ungranted capability or an rlimit
// above what the host can give throws here, before anything is created.
struct ProcessPlan {
    std::string policy;  // "strict" | "lenient"
    ProcessSetup setup;  // applyCredentials/installSeccomp capture the plan and the filter
    std::shared_ptr<const CapabilityPlan> capabilities;  // the plan applyCredentials applies
};

// `rootfs` is where the executable is looked up for its file capabilities (empty: not
// inspected).
ProcessPlan planProcess(const GlobalOptions& g, const Spec& spec, const Process& process,
                        const std::optional<std::string>& seccompProfile,
                        const std::string& stateRoot, const std::string& rootfs = "");

// "RLIMIT_NOFILE" -> RLIMIT_NOFILE; throws naming `jsonPath` for an unknown name.
int rlimitResource(const std::string& name, const std::string& jsonPath);

// Resolves args[0] the way execvp would, with PATH from `env` (default PATH when unset),
// relative to the current root. Throws Error "executable file `x` not found in $PATH" /
// "<path>: <errno text>".
std::string findExecutable(const std::vector<std::string>& args,
                           const std::vector<std::string>& env);

// The home directory of `uid` in passwd(5) text: the sixth field of its first entry; "/"
// when there is no entry (or its home is empty), as runc does.
std::string homeFromPasswd(std::string_view passwd, std::uint32_t uid);

// Steps before the process waits for `start` (or, for exec, before it execs): HOME from the
// container's /etc/passwd when p.env has none (added to p.env), hostname, terminal,
// oom_score_adj, rlimits, cwd (created if missing, inside the root), credentials and
// capabilities, no_new_privs, and seccomp when no_new_privs is off.
// Returns the resolved executable path. Throws Error naming the step.
std::string prepareProcess(ProcessSetup& p);

// The last steps: seccomp when no_new_privs is on, every fd above stdio and the preserved
// ones marked close-on-exec, then execve. Only returns by throwing.
[[noreturn]] void execProcess(const ProcessSetup& p, const std::string& executable);

// close_range(first, ~0, CLOSE_RANGE_CLOEXEC) with a /proc/self/fd fallback.
void markFdsCloseOnExec(int first);

}  // namespace caprun
