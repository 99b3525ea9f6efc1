#include "caprun/sys/procfs.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "caprun/error.hpp"

namespace caprun::sys {

namespace {

int openat2Retrying(int dirFd, const std::string& path, int flags, std::uint64_t resolve) {
    open_how how{};
    how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC);
    how.resolve = resolve;
    long r;
    do {
        r = ::syscall(SYS_openat2, dirFd, path.c_str(), &how, sizeof how);
    } while (r < 0 && errno == EAGAIN);
    return static_cast<int>(r);
}

constexpr std::uint64_t kStrict = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;

}  // namespace

UniqueFd openProcfs(const std::string& what, const std::string& whose) {
    UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (root.fd < 0) throwErrno(what + ": opening / to reach " + whose);
    // /proc is a mount point (another mount than /): no RESOLVE_NO_XDEV for it.
    UniqueFd proc(openat2Retrying(root.fd, "proc", O_PATH | O_DIRECTORY, kStrict));
    if (proc.fd < 0)
        throwErrno(what + ": opening " + whose +
                   " (it must be a directory, not a symlink, with procfs mounted on it)");
    struct statfs sfs {};
    if (::fstatfs(proc.fd, &sfs) != 0) throwErrno(what + ": fstatfs on " + whose);
    if (sfs.f_type != PROC_SUPER_MAGIC)
        throw Error(what + ": " + whose + " is not procfs: mount proc on /proc");
    return proc;
}

UniqueFd openContainerProcfs(const std::string& what) {
    return openProcfs(what, "the container's /proc");
}

int openOnProcfs(int procFd, const std::string& rel, int flags) {
    // "self" and "thread-self" are symlinks procfs makes to this process's directory.
    std::uint64_t resolve = kStrict | RESOLVE_NO_XDEV;
    if (rel.rfind("self/", 0) == 0 || rel.rfind("thread-self/", 0) == 0)
        resolve &= ~static_cast<std::uint64_t>(RESOLVE_NO_SYMLINKS);
    return openat2Retrying(procFd, rel, flags, resolve);
}

namespace {

// False when `rel` does not exist and `missingOk`; throws for any other failure.
bool writeProcFile(int procFd, const std::string& rel, const std::string& value,
                   const std::string& what, bool missingOk) {
    UniqueFd f(openOnProcfs(procFd, rel, O_WRONLY | O_NOCTTY));
    if (f.fd < 0) {
        if (missingOk && errno == ENOENT) return false;
        // EXDEV: something is mounted over the file (or a directory on its way).
        throwErrno(
            what + ": opening /proc/" + rel +
            (errno == EXDEV ? " (a mount covers it; caprun writes only to procfs itself)" : ""));
    }
    ssize_t n;
    do {
        n = ::write(f.fd, value.data(), value.size());
    } while (n < 0 && errno == EINTR);
    const std::string where = ": writing \"" + value + "\" to /proc/" + rel;
    if (n < 0) throwErrno(what + where);
    if (static_cast<std::size_t>(n) != value.size())
        throw Error(what + where + ": short write (" + std::to_string(n) + " of " +
                    std::to_string(value.size()) + " bytes)");
    return true;
}

}  // namespace

void writeOnProcfs(int procFd, const std::string& rel, const std::string& value,
                   const std::string& what) {
    writeProcFile(procFd, rel, value, what, false);
}

bool writeOnProcfsIfPresent(int procFd, const std::string& rel, const std::string& value,
                            const std::string& what) {
    return writeProcFile(procFd, rel, value, what, true);
}

}  // namespace caprun::sys
