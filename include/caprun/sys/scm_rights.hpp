// Passing file descriptors over a unix socket (SCM_RIGHTS), for the sync socket, the
// --console-socket and the seccomp agent. The callers add what was being done to errors.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <vector>

namespace caprun::sys {

// sendmsg of `len` bytes with `fd` attached (MSG_NOSIGNAL, EINTR retried). Returns the
// bytes sent, or -1 with errno set.
ssize_t sendWithFd(int socket, const void* data, std::size_t len, int fd);

// recvmsg into `buf`; every fd that came along (up to kMaxReceivedFds, O_CLOEXEC) is appended
// to `fds`, the caller owns them. Returns the bytes received (0: the peer is gone), or -1
// with errno set.
constexpr std::size_t kMaxReceivedFds = 4;
ssize_t receiveWithFds(int socket, void* buf, std::size_t len, std::vector<int>& fds);

}  // namespace caprun::sys
