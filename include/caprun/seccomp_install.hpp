// Seccomp install and the NOTIFY listener hand-off: the container init loads the compiled
// filter with seccomp(2); a listener fd (SCMP_ACT_NOTIFY) goes back to the runtime over the
// sync socket, which sends it to the seccomp agent at listenerPath:
//   sendSeccompListener(c.listenerPath, fd,
//       seccompListenerMessage(pid, c.listenerMetadata, <state JSON, "creating">));
#pragma once

#include <string>

#include "caprun/seccomp_compile.hpp"

namespace caprun {

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
