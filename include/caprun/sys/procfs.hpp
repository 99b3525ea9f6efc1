// Writing through the container's procfs without being redirected (CVE-2019-16884,
// CVE-2025-52881): "/proc" of the current root is opened without following a link and
// checked to be procfs (fstatfs), and every file below it is opened on that same mount
// (openat2 RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV), so neither a
// symlinked /proc nor a mount over a procfs file (a bind, a shared mount propagated in)
// can turn the write into one on another file.
#pragma once

#include <string>

#include "caprun/sys/unique_fd.hpp"

namespace caprun::sys {

// "/proc" of the current root as an O_PATH directory fd on procfs; `whose` names it in the
// errors ("the container's /proc"). Throws "<what>: opening <whose>...".
UniqueFd openProcfs(const std::string& what, const std::string& whose);

// openProcfs for the container's /proc, after pivot_root.
UniqueFd openContainerProcfs(const std::string& what);

// `rel` below procFd, on procFd's own mount. Links are refused, except that `rel` may
// start with "self/" or "thread-self/" (plain procfs links to this process's directory,
// which stay on the mount). The fd, or -1 with errno set.
int openOnProcfs(int procFd, const std::string& rel, int flags);

// `value` written whole to `rel` below procFd (opened as openOnProcfs does). Throws
// "<what>: opening /proc/<rel>: ..." or "<what>: writing \"<value>\" to /proc/<rel>: ...".
void writeOnProcfs(int procFd, const std::string& rel, const std::string& value,
                   const std::string& what);

// writeOnProcfs, except that a file that does not exist is no error: false then (a kernel
// without that file), true once written.
bool writeOnProcfsIfPresent(int procFd, const std::string& rel, const std::string& value,
                            const std::string& what);

}  // namespace caprun::sys
