// The sync socket between the runtime and a process it cloned (the container's init, or
// an exec'd process): a SOCK_SEQPACKET socketpair carrying one typed message per packet,
// optionally with one fd (SCM_RIGHTS).
#pragma once

#include <string>

namespace caprun {

enum class Msg : char {
    Go = 'G',  // parent -> child: id maps written (under systemd: the scope holds the init)
    CgroupPlaced = 'C',  // parent -> child: in its cgroup (and resctrl group), limits applied
    NeedHooks = 'H',     // child -> parent: namespaces and mounts exist; run prestart/createRuntime
    HooksDone = 'O',  // parent -> child: payload = createContainer state JSON \0 start state JSON
    Ready = 'R',      // child -> parent: blocked before user code (or, for exec, about to exec)
    Failed = 'E',     // child -> parent: payload = error text
    Console = 'P',    // child -> parent: carries the pty master fd
    SeccompListener = 'S',  // child -> parent: carries the seccomp NOTIFY listener fd
    MountSource = 'M',    // child -> parent: payload = index in mounts; reply carries its source fd
    JoinedProcess = 'X',  // joiner -> runtime: payload = the cloned process's pid, fd = pidfd
};

void sendMsg(int fd, Msg type, const std::string& payload = {});

// Sends a message carrying one fd (SCM_RIGHTS).
void sendMsgWithFd(int fd, Msg type, int passFd, const std::string& payload = {});

// Returns false on EOF (the other side is gone). A passed fd (O_CLOEXEC) goes to *passedFd.
bool recvMsg(int fd, Msg& type, std::string& payload, int* passedFd = nullptr);

// sendMsg that returns false instead of throwing (the other side may be gone: its last
// message, read next, says why).
bool trySendMsg(int fd, Msg type);

// When a step of the runtime fails while the child runs on: if the child already sent
// Failed, throws that (the cause; the runtime's error is then its effect). Never blocks.
void throwIfChildFailed(int fd);

}  // namespace caprun
