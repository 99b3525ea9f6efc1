#include "caprun/rootfs_kernel.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstring>
#include <deque>
#include <vector>

#include "caprun/error.hpp"

#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#define MOVE_MOUNT_T_EMPTY_PATH 0x00000040
#endif
#ifndef MOUNT_ATTR_IDMAP
#define MOUNT_ATTR_IDMAP 0x00100000
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif

namespace caprun {

namespace {

std::string mapText(const std::vector<IdMapping>& m) {
    std::string out;
    for (const auto& e : m)
        out += std::to_string(e.containerID) + " " + std::to_string(e.hostID) + " " +
               std::to_string(e.size) + "\n";
    return out;
}

void writeMap(pid_t pid, const char* file, const std::string& text, const std::string& what) {
    std::string path = "/proc/" + std::to_string(pid) + "/" + file;
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) throwErrno(what + ": opening " + path);
    ssize_t n = ::write(fd, text.data(), text.size());
    int err = errno;
    ::close(fd);
    if (n != static_cast<ssize_t>(text.size()))
        throwSys(what + ": writing " + path, n < 0 ? err : EIO);
}

// A user namespace holding the mapping, by fd: a child unshares one and waits while the
// runtime writes its maps and opens it, then is killed.
int userNamespaceFd(const std::vector<IdMapping>& uids, const std::vector<IdMapping>& gids,
                    const std::string& what) {
    int ready[2];
    if (::pipe2(ready, O_CLOEXEC) < 0) throwErrno(what + ": pipe");
    pid_t pid = ::fork();
    if (pid < 0) {
        int err = errno;
        ::close(ready[0]);
        ::close(ready[1]);
        throwSys(what + ": fork for the mapping's user namespace", err);
    }
    if (pid == 0) {
        ::close(ready[0]);
        char ok = ::unshare(CLONE_NEWUSER) == 0 ? 'y' : 'n';
        if (::write(ready[1], &ok, 1) != 1) ::_exit(1);
        for (;;) ::pause();
    }
    ::close(ready[1]);
    char ok = 'n';
    ssize_t n = ::read(ready[0], &ok, 1);
    ::close(ready[0]);
    auto reap = [pid] {
        ::kill(pid, SIGKILL);
        int st;
        while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
        }
    };
    if (n != 1 || ok != 'y') {
        reap();
        throw Error(what +
                    ": creating a user namespace for the mapping failed (unshare CLONE_NEWUSER)");
    }
    int fd = -1;
    try {
        writeMap(pid, "uid_map", mapText(uids), what);
        writeMap(pid, "gid_map", mapText(gids), what);
        std::string ns = "/proc/" + std::to_string(pid) + "/ns/user";
        fd = ::open(ns.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) throwErrno(what + ": opening " + ns);
    } catch (...) {
        reap();
        throw;
    }
    reap();
    return fd;
}

struct MountAttrIdmap {
    std::uint64_t attr_set, attr_clr, propagation, userns_fd;
};

std::vector<std::string> splitPath(const std::string& p) {
    std::vector<std::string> out;
    std::string cur;
    for (char c : p) {
        if (c == '/') {
            if (!cur.empty()) out.push_back(cur);
            cur.clear();
        } else {
            cur += c;
        }
    }
    if (!cur.empty()) out.push_back(cur);
    return out;
}

// Whether the symlink `name` in `dirFd` is, or leads through, a procfs magic link
// (/proc/self/fd/N, cwd, root, exe, ns/*): its readlink text is no path inside the rootfs
// but the runtime's own fds and host paths ("pipe:[…]", "/tmp/…"), and the kernel would
// follow it out of the rootfs (CVE-2024-21626). Magic links live on procfs only, whose
// plain symlinks (self, thread-self, mounts -> self/mounts) stay below /proc: openat2's
// RESOLVE_NO_MAGICLINKS tells them apart (ELOOP). Kernels before 5.6 lack openat2; there
// the text tells: a magic link reads as an absolute path or "type:[inode]".
bool isMagicLink(int dirFd, const std::string& name, const std::string& target) {
    struct statfs fs {};
    if (::fstatfs(dirFd, &fs) < 0 || fs.f_type != PROC_SUPER_MAGIC) return false;
    struct open_how how {};
    how.flags = O_PATH | O_CLOEXEC;
    how.resolve = RESOLVE_NO_MAGICLINKS | RESOLVE_BENEATH;
    long fd = ::syscall(SYS_openat2, dirFd, name.c_str(), &how, sizeof how);
    if (fd >= 0) {
        ::close(static_cast<int>(fd));
        return false;
    }
    if (errno != ENOSYS) return errno == ELOOP;
    return target.empty() || target.front() == '/' || target.find(':') != std::string::npos;
}

// Returns the fd, or -errno for a missing path when `create` is No and `mayBeMissing`.
int openInRootImpl(int rootFd, const std::string& path, CreateMissing create, bool mayBeMissing) {
    std::deque<std::string> todo;
    for (auto& c : splitPath(path)) todo.push_back(c);
    std::vector<int> stack;  // owned fds below the root; the root is rootFd
    auto cleanup = [&] {
        for (int f : stack) ::close(f);
        stack.clear();
    };
    auto cur = [&] { return stack.empty() ? rootFd : stack.back(); };
    int links = 0;
    try {
        while (!todo.empty()) {
            std::string c = todo.front();
            todo.pop_front();
            if (c.empty() || c == ".") continue;
            if (c == "..") {
                if (stack.empty())
                    throw Error("resolving \"" + path +
                                "\" inside the rootfs: it escapes the "
                                "rootfs through \"..\" (a symlink pointing outside?)");
                ::close(stack.back());
                stack.pop_back();
                continue;
            }
            int fd = ::openat(cur(), c.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
            if (fd < 0 && errno == ENOENT && create != CreateMissing::No) {
                bool last = todo.empty();
                if (!last || create == CreateMissing::Directory) {
                    if (::mkdirat(cur(), c.c_str(), 0755) < 0 && errno != EEXIST)
                        throwErrno("creating \"" + c + "\" of \"" + path + "\" inside the rootfs");
                } else {
                    int f = ::openat(cur(), c.c_str(),
                                     O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
                    if (f < 0 && errno != EEXIST)
                        throwErrno("creating \"" + path + "\" inside the rootfs");
                    if (f >= 0) ::close(f);
                }
                fd = ::openat(cur(), c.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
            }
            if (fd < 0) {
                int err = errno;
                if (err == ENOENT && mayBeMissing) {
                    cleanup();
                    return -ENOENT;
                }
                throwSys("resolving \"" + path + "\" inside the rootfs at \"" + c + "\"", err);
            }
            struct stat st {};
            if (::fstat(fd, &st) < 0) {
                int err = errno;
                ::close(fd);
                throwSys("resolving \"" + path + "\" inside the rootfs", err);
            }
            if (S_ISLNK(st.st_mode)) {
                char buf[PATH_MAX];
                ssize_t n = ::readlinkat(fd, "", buf, sizeof buf - 1);
                int err = errno;
                ::close(fd);
                if (n < 0) throwSys("reading the symlink \"" + c + "\" in \"" + path + "\"", err);
                if (++links > 40)
                    throw Error("resolving \"" + path + "\" inside the rootfs: too many symlinks");
                std::string target(buf, static_cast<size_t>(n));
                if (isMagicLink(cur(), c, target))
                    throw Error("resolving \"" + path + "\" inside the rootfs: \"" + c +
                                "\" is, or leads through, a procfs magic link (an fd or "
                                "directory of the runtime, outside the container's root)");
                auto parts = splitPath(target);
                for (auto it = parts.rbegin(); it != parts.rend(); ++it) todo.push_front(*it);
                // An absolute target means the container's /, i.e. the rootfs.
                if (!target.empty() && target.front() == '/') cleanup();
                continue;
            }
            if (!todo.empty() && !S_ISDIR(st.st_mode)) {
                ::close(fd);
                throwSys("resolving \"" + path + "\" inside the rootfs at \"" + c + "\"", ENOTDIR);
            }
            stack.push_back(fd);
        }
    } catch (...) {
        cleanup();
        throw;
    }
    if (stack.empty()) {
        int fd = ::openat(rootFd, ".", O_PATH | O_CLOEXEC);
        if (fd < 0) throwErrno("opening the rootfs");
        return fd;
    }
    int result = stack.back();
    stack.pop_back();
    cleanup();
    return result;
}

}  // namespace

int LinuxRootfsKernel::openInRoot(int rootFd, const std::string& path, CreateMissing create,
                                  bool mayBeMissing) {
    return openInRootImpl(rootFd, path, create, mayBeMissing);
}

int LinuxRootfsKernel::open(const std::string& path, int flags, const std::string& what) {
    int fd = ::open(path.c_str(), flags | O_CLOEXEC);
    if (fd < 0) throwErrno(what);
    return fd;
}

int LinuxRootfsKernel::openAt(int dirFd, const std::string& name, int flags, mode_t mode) {
    int fd = ::openat(dirFd, name.c_str(), flags | O_CLOEXEC, mode);
    return fd < 0 ? -errno : fd;
}

void LinuxRootfsKernel::close(int fd) {
    ::close(fd);
}

mode_t LinuxRootfsKernel::fileMode(int fd, const std::string& what) {
    struct stat st {};
    if (::fstat(fd, &st) < 0) throwErrno(what);
    return st.st_mode;
}

dev_t LinuxRootfsKernel::deviceNumber(int fd, const std::string& what) {
    struct stat st {};
    if (::fstat(fd, &st) < 0) throwErrno(what);
    return st.st_rdev;
}

unsigned long LinuxRootfsKernel::lockedMountFlags(int fd) {
    struct statvfs sv {};
    if (::fstatvfs(fd, &sv) < 0) return 0;
    unsigned long f = 0;
    if (sv.f_flag & ST_NOSUID) f |= MS_NOSUID;
    if (sv.f_flag & ST_NODEV) f |= MS_NODEV;
    if (sv.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
    if (sv.f_flag & ST_RDONLY) f |= MS_RDONLY;
    return f;
}

bool LinuxRootfsKernel::rootIsRamfs() {
    struct statfs sf {};
    if (::statfs("/", &sf) < 0) return false;
    return sf.f_type == RAMFS_MAGIC || sf.f_type == TMPFS_MAGIC;
}

std::string LinuxRootfsKernel::readProcFile(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return "";
    std::string out;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return out;
}

int LinuxRootfsKernel::mount(const std::string& source, const std::string& target,
                             const std::string& type, unsigned long flags,
                             const std::string& data) {
    if (::mount(source.empty() ? nullptr : source.c_str(), target.c_str(),
                type.empty() ? nullptr : type.c_str(), flags,
                data.empty() ? nullptr : data.c_str()) < 0)
        return errno;
    return 0;
}

void LinuxRootfsKernel::setRecursiveMountAttrs(int fd, const RecursiveMountAttrs& attrs,
                                               const std::string& what) {
    applyRecursiveMountAttrs(fd, attrs, what);
}

void LinuxRootfsKernel::moveMount(int treeFd, int targetFd, const std::string& what) {
    if (::syscall(SYS_move_mount, treeFd, "", targetFd, "",
                  MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
        throwErrno(what + " (move_mount)");
}

int LinuxRootfsKernel::mappingUserNamespace(const std::vector<IdMapping>& uids,
                                            const std::vector<IdMapping>& gids,
                                            const std::string& what) {
    return userNamespaceFd(uids, gids, what);
}

int LinuxRootfsKernel::openTreeClone(const std::string& path, bool recursive) {
    unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0);
    int fd = static_cast<int>(::syscall(SYS_open_tree, AT_FDCWD, path.c_str(), flags));
    return fd < 0 ? -errno : fd;
}

int LinuxRootfsKernel::openTreeCloneOfFd(int fd) {
    unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH;
    int tree = static_cast<int>(::syscall(SYS_open_tree, fd, "", flags));
    return tree < 0 ? -errno : tree;
}

int LinuxRootfsKernel::setIdmap(int treeFd, int usernsFd, bool recursive) {
    MountAttrIdmap attr{MOUNT_ATTR_IDMAP, 0, 0, static_cast<std::uint64_t>(usernsFd)};
    if (::syscall(SYS_mount_setattr, treeFd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0),
                  &attr, sizeof attr) < 0)
        return errno;
    return 0;
}

void LinuxRootfsKernel::copyTree(int fromFd, int toFd, const std::string& what) {
    caprun::copyTree(fromFd, toFd, what);
}

int LinuxRootfsKernel::umount(const std::string& target, int flags) {
    return ::umount2(target.c_str(), flags) < 0 ? errno : 0;
}

int LinuxRootfsKernel::pivotRoot(const std::string& newRoot, const std::string& putOld) {
    return ::syscall(SYS_pivot_root, newRoot.c_str(), putOld.c_str()) < 0 ? errno : 0;
}

void LinuxRootfsKernel::chroot(const std::string& path, const std::string& what) {
    if (::chroot(path.c_str()) < 0) throwErrno(what);
}

void LinuxRootfsKernel::chdir(const std::string& path, const std::string& what) {
    if (::chdir(path.c_str()) < 0) throwErrno(what);
}

void LinuxRootfsKernel::fchdir(int fd, const std::string& what) {
    if (::fchdir(fd) < 0) throwErrno(what);
}

int LinuxRootfsKernel::unlinkAt(int dirFd, const std::string& name) {
    return ::unlinkat(dirFd, name.c_str(), 0) < 0 ? errno : 0;
}

int LinuxRootfsKernel::mknodAt(int dirFd, const std::string& name, mode_t mode, dev_t dev) {
    return ::mknodat(dirFd, name.c_str(), mode, dev) < 0 ? errno : 0;
}

int LinuxRootfsKernel::symlinkAt(const std::string& target, int dirFd, const std::string& name) {
    return ::symlinkat(target.c_str(), dirFd, name.c_str()) < 0 ? errno : 0;
}

void LinuxRootfsKernel::chmodAt(int dirFd, const std::string& name, mode_t mode,
                                const std::string& what) {
    if (::fchmodat(dirFd, name.c_str(), mode, 0) < 0) throwErrno(what);
}

void LinuxRootfsKernel::chownAt(int dirFd, const std::string& name, uid_t uid, gid_t gid,
                                const std::string& what) {
    if (::fchownat(dirFd, name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) < 0) throwErrno(what);
}

}  // namespace caprun
