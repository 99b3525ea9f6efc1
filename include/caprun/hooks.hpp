// OCI hooks: run a hook program with the container's state JSON on its stdin, its own
// args and env, and a timeout after which it is killed.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "caprun/spec.hpp"

namespace caprun {

enum class HookKind {
    Prestart,
    CreateRuntime,
    CreateContainer,
    StartContainer,
    Poststart,
    Poststop
};
std::string hookKindName(HookKind k);  // "createRuntime"

// What running one hook produced.
struct HookResult {
    bool exited = false;  // else killed by a signal
    int status = 0;       // exit status or signal number
    bool timedOut = false;
    std::string output;  // stdout+stderr of the hook, at most 4 KiB (for error messages)
};

// Runs one hook: fork, execve(path, args (or {path} when empty), env (the runtime's own
// environment when the hook has no env)), stdin = stateJson,
// stdout/stderr captured. The hook leads a process group of its own: when it times out, exits
// non-zero or is killed, that whole group is SIGKILLed and runHook returns once no member of
// it is left; a hook that succeeds keeps what it started. Throws Error only when the hook
// cannot be started at all (missing path, fork failure).
HookResult runHook(const Hook& hook, std::string_view stateJson);

// Runs `hooks` in order; the first that fails (cannot start, non-zero exit, signal,
// timeout) throws Error "<kind> hook <path> <what happened>: <output>" and later ones do
// not run.
void runHooks(HookKind kind, const std::vector<Hook>& hooks, std::string_view stateJson);

// For poststop: every hook runs; failures are logged as warnings and do not stop the
// others. Returns the number that failed.
int runHooksLoggingFailures(HookKind kind, const std::vector<Hook>& hooks,
                            std::string_view stateJson);

}  // namespace caprun
