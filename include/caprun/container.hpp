// Creating, starting, running and exec'ing into containers: the orchestration of the
// process model (docs/architecture.md) over the plans of the other concerns.
//
// Process model:
// - `create` decides everything first (capability policy — strict fails here, before any
//   namespace, mount, state directory or process exists —, seccomp compiled, namespaces,
//   mounts), then creates the state directory and the exec FIFO, and clone3()s the
//   container init directly with the namespace flags: the container process is a direct
//   child of the caller and no intermediate process survives (containerd-shim and conmon
//   are subreapers waiting for it). It is not a re-exec of the runtime: the init is a copy
//   of this process that sets the container up and then execve()s the user's program, so
//   the runtime binary is never reachable as a path inside the container; until that
//   execve the init is not dumpable, so /proc/<pid>/exe cannot be opened from outside.
// - Parent and init talk over a SOCK_SEQPACKET socketpair: the parent writes uid/gid maps
//   and enters the cgroup, then lets the init go; the init mounts the rootfs and asks the
//   parent to run prestart/createRuntime hooks, runs createContainer hooks itself, pivots,
//   applies the process settings (hostname, sysctl, rlimits, user, capabilities, seccomp),
//   reports "ready" and blocks reading the exec FIFO. An error in the init is sent back as
//   text and becomes the error of `create`, which then removes everything it made.
// - `start` writes one byte into the exec FIFO (it fails when no init is waiting), then runs
//   poststart hooks. The init runs startContainer hooks and execve()s.
// - `run` = create + start + wait in the foreground: signals sent to caprun are forwarded
//   to the container process, the exit status is the process's (128+signal when killed),
//   and the container is deleted when it ends. The init has PR_SET_PDEATHSIG=SIGKILL, so
//   even a SIGKILLed `caprun run` does not leave it running.
// - `exec` clone()s a process that joins the init's namespaces (setns on /proc/<pid>/ns/*)
//   and cgroup and gets its own capability plan and seccomp filter the same way.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "caprun/process_plan.hpp"
#include "caprun/runtime_context.hpp"

namespace caprun {

struct CreateOptions {
    std::string id;
    std::string bundle = ".";
    std::string pidFile;
    std::string consoleSocket;
    bool noPivot = false;
    bool noNewKeyring = false;
    unsigned preserveFds = 0;
    std::optional<std::string> seccompProfile;  // --seccomp-profile PATH|default
    bool traceEperm = false;  // run --trace-eperm (or the annotation run.caprun.trace-eperm)
    std::string recordDir;    // record --output: what the workload used is written there
};

// The request create (and run) plans the container's init with; check plans with the same.
// `rootfs` is the resolved root.path, `userNamespace` whether the init gets its own.
ProcessRequest initProcessRequest(const RuntimeContext& g, const CreateOptions& o,
                                  const std::string& rootfs, bool userNamespace);

// create: returns once the init is blocked before user code and the state is "created".
void createContainer(const RuntimeContext& g, const CreateOptions& o);

// start: releases a created container's init.
void startContainer(const RuntimeContext& g, const std::string& id);

// run: create + start; foreground returns the container process's exit status (128+signal
// when killed) after deleting the container — or, with `keep`, leaving it stopped for
// `state` and `delete`; with `detach` returns 0 once started.
int runContainer(const RuntimeContext& g, const CreateOptions& o, bool detach, bool keep = false);

struct ExecOptions {
    std::string id;
    std::string processFile;        // --process: a runtime-spec Process JSON
    std::vector<std::string> args;  // exec ID CMD...
    bool detach = false;
    std::string pidFile;
    std::string consoleSocket;
    bool tty = false;
    std::vector<std::string> env;  // KEY=VALUE, added to / replacing the container's env
    std::string cwd;
    std::optional<std::uint32_t> uid, gid;  // --user UID[:GID]
    std::vector<std::uint32_t> additionalGids;
    // --cap NAME: added to bounding, effective and permitted; never to inheritable (the
    // CVE-2022-29162 class) nor ambient.
    std::vector<std::string> capAdd;
    std::string apparmorProfile;  // --apparmor: replaces process.apparmorProfile
    std::string processLabel;     // --process-label: replaces process.selinuxLabel
    bool noNewPrivileges = false;
    unsigned preserveFds = 0;
};

struct Process;
struct Spec;

// The process exec runs: --process FILE or the container's process with the command line,
// then the options (--env, --cwd, --user, --cap, --apparmor, ...) applied over it.
Process execProcessSpec(const ExecOptions& o, const Spec& spec);

// exec: foreground returns the process's exit status; detached returns 0 once it runs.
int execInContainer(const RuntimeContext& g, const ExecOptions& o);

}  // namespace caprun
