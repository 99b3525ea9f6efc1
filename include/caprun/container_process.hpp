// What create, run and exec share around the processes they clone: clone3 (inside joined
// namespaces), the child's first steps, waiting and exit codes, signal forwarding for the
// foreground, the pty of the container's devpts, pid files.
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "caprun/console.hpp"
#include "caprun/namespaces.hpp"

namespace caprun {

// In the container (after its /dev/pts exists): a pty of the container's own devpts, so
// `tty` names it inside; the master goes to the runtime over `sync`, the slave is returned.
int openContainerPty(int sync, const std::optional<ConsoleSize>& size);

// The cgroup a child starts in. With fd >= 0 (a cgroup v2 directory) clone3 puts the child
// there (CLONE_INTO_CGROUP, Linux 5.7), so nobody moves it later and no migration waits for
// the cgroup lock. `placed` says whether the kernel did: where it refuses (an older kernel, a
// cgroup it cannot start in) the clone is retried without it and the caller moves the child
// by cgroup.procs as before, which names the reason if that fails too.
struct CloneCgroup {
    int fd = -1;
    bool placed = false;
};

// clone3 with CLONE_PIDFD; 0 in the child.
pid_t cloneProcess(unsigned long long flags, int* pidfd, CloneCgroup* cgroup = nullptr);

// clone3 inside the namespace paths the parent joins (namespaces.hpp says which), the
// runtime back in its own namespaces afterwards. Returns 0 in the child.
pid_t cloneInNamespaces(const NamespacePlan& plan, const std::vector<OpenedNamespace>& opened,
                        unsigned long long flags, int* pidfd, CloneCgroup* cgroup = nullptr);

// For a rootless runtime, which holds no capability over the namespaces its container's
// user namespace owns: it could neither setns into them itself (an ordinary user not into
// any) nor return to its own afterwards. A short-lived joiner, the runtime's child, enters
// every opened namespace (joinAllNamespaces: user first), makes the plan's new time
// namespace, and clones the process with CLONE_PARENT | `flags` (into `cgroup` where the
// kernel allows), so the process is the runtime's own child. The joiner passes its pid and
// pidfd to the runtime over `childSync` (Msg::JoinedProcess) and exits; `parentSock` is the
// runtime's end. `processMain` runs in the process and must not return. A failure of the
// joiner is thrown here with its words.
pid_t cloneThroughJoiner(const NamespacePlan& plan, const std::vector<OpenedNamespace>& opened,
                         unsigned long long flags, int childSync, int parentSock, int* pidfd,
                         CloneCgroup* cgroup, const std::function<void()>& processMain);

// The first steps of every process the runtime clones. Until execve: killed with the
// runtime while it sets us up (and for foreground run, for good), and not dumpable so
// /proc/<pid>/exe (the runtime) cannot be opened. Then it waits for the parent's go-ahead
// (Msg::Go: id maps written; for exec, its cgroup entered too).
void startClonedChild(int sync);

// Absolute and normalised, without a trailing slash.
std::string absolutePath(const std::string& p);

// The exit status a shell would report: the code, or 128+signal.
int waitStatusToExitCode(int status);

// SIGKILL and reap; nothing for pid <= 0.
void killAndReap(pid_t pid);

// Foreground run/exec: every signal caprun gets goes to `pid` (SIGWINCH too unless a
// terminal is being copied), until stopForwarding().
void installForwarders(pid_t pid, bool terminal);
void stopForwarding();

}  // namespace caprun
