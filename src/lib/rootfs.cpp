#include "caprun/rootfs.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <deque>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "caprun/error.hpp"
#include "caprun/idmap.hpp"

namespace caprun {

namespace {

std::string fdPath(int fd) {
    return "/proc/self/fd/" + std::to_string(fd);
}

// Closes an fd on scope exit.
struct Fd {
    int fd = -1;
    explicit Fd(int f = -1) : fd(f) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
    int release() {
        int f = fd;
        fd = -1;
        return f;
    }
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

std::pair<std::string, std::string> splitParent(const std::string& path) {
    auto pos = path.find_last_of('/');
    if (pos == std::string::npos) return {"/", path};
    return {pos == 0 ? "/" : path.substr(0, pos), path.substr(pos + 1)};
}

void mountOrThrow(const std::string& source, const std::string& target, const char* type,
                  unsigned long flags, const std::string& data, const std::string& what) {
    if (::mount(source.empty() ? nullptr : source.c_str(), target.c_str(), type, flags,
                data.empty() ? nullptr : data.c_str()) < 0)
        throwErrno(what);
}

// Flags a bind remount must keep (the kernel refuses to clear locked ones in a user
// namespace, and clearing them silently would weaken the source's protection).
unsigned long lockedFlags(int fd) {
    struct statvfs sv {};
    if (::fstatvfs(fd, &sv) < 0) return 0;
    unsigned long f = 0;
    if (sv.f_flag & ST_NOSUID) f |= MS_NOSUID;
    if (sv.f_flag & ST_NODEV) f |= MS_NODEV;
    if (sv.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
    if (sv.f_flag & ST_RDONLY) f |= MS_RDONLY;
    return f;
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

// ---- cgroup filesystem for a "cgroup" mount ----

struct HostCgroupMount {
    std::string mountpoint;
    bool v2 = false;
    std::set<std::string> controllers;  // v1: "cpu", "name=systemd"
    std::string mountOptions;           // v1: "cpu" / "name=systemd" for a fresh mount
};

std::set<std::string> knownControllers() {
    std::set<std::string> out;
    std::ifstream in("/proc/cgroups");
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        out.insert(line.substr(0, line.find('\t')));
    }
    return out;
}

std::vector<HostCgroupMount> hostCgroupMounts() {
    std::vector<HostCgroupMount> out;
    std::ifstream in("/proc/self/mountinfo");
    std::string line;
    auto known = knownControllers();
    while (std::getline(in, line)) {
        std::istringstream ss(line);
        std::vector<std::string> f;
        std::string w;
        while (ss >> w) f.push_back(w);
        auto dash = std::find(f.begin(), f.end(), "-");
        if (dash == f.end() || f.size() < 5 || std::distance(dash, f.end()) < 4) continue;
        const std::string& fstype = *(dash + 1);
        if (fstype != "cgroup" && fstype != "cgroup2") continue;
        HostCgroupMount m;
        m.mountpoint = f[4];
        m.v2 = fstype == "cgroup2";
        if (!m.v2) {
            std::string opts = *(dash + 3);
            std::stringstream os(opts);
            std::string o;
            while (std::getline(os, o, ',')) {
                if (known.count(o) || o.rfind("name=", 0) == 0) {
                    m.controllers.insert(o);
                    m.mountOptions += (m.mountOptions.empty() ? "" : ",") + o;
                }
            }
        }
        out.push_back(m);
    }
    return out;
}

// The cgroup path of this process for one hierarchy, from /proc/self/cgroup.
std::string ownCgroupPath(const HostCgroupMount& m) {
    std::ifstream in("/proc/self/cgroup");
    std::string line;
    while (std::getline(in, line)) {
        auto a = line.find(':');
        auto b = line.find(':', a + 1);
        if (a == std::string::npos || b == std::string::npos) continue;
        std::string ctrls = line.substr(a + 1, b - a - 1);
        std::string path = line.substr(b + 1);
        if (m.v2) {
            if (line.compare(0, a, "0") == 0 && ctrls.empty()) return path;
            continue;
        }
        std::set<std::string> set;
        std::stringstream cs(ctrls);
        std::string c;
        while (std::getline(cs, c, ',')) set.insert(c);
        if (set == m.controllers) return path;
    }
    return "/";
}

void mountOneCgroup(const HostCgroupMount& m, int rootFd, const std::string& dest,
                    unsigned long flags, bool freshMount, const std::string& what) {
    Fd fd(openInRoot(rootFd, dest, CreateMissing::Directory));
    if (freshMount) {
        mountOrThrow(m.v2 ? "cgroup2" : "cgroup", fdPath(fd.fd), m.v2 ? "cgroup2" : "cgroup", flags,
                     m.v2 ? "" : m.mountOptions, what + ": mounting " + m.mountpoint);
        return;
    }
    // Without a cgroup namespace (or in a user namespace, where v1 hierarchies cannot be
    // mounted) show only the container's own cgroup, as runc does.
    std::string source = m.mountpoint + ownCgroupPath(m);
    mountOrThrow(source, fdPath(fd.fd), nullptr, MS_BIND | MS_REC, "",
                 what + ": binding " + source);
    Fd again(openInRoot(rootFd, dest, CreateMissing::No));  // the root of the new bind
    mountOrThrow("", fdPath(again.fd), nullptr,
                 MS_BIND | MS_REMOUNT | flags | lockedFlags(again.fd), "",
                 what + ": remounting " + source);
}

void mountCgroupFs(int rootFd, const PlannedMount& m, bool freshMount) {
    std::string what = "mounting cgroups on " + m.destination + " (" + m.jsonPath + ")";
    unsigned long flags = m.options.flags & ~MS_REMOUNT;
    auto hosts = hostCgroupMounts();
    for (const auto& h : hosts) {
        if (h.v2 && h.mountpoint == "/sys/fs/cgroup") {  // pure cgroup v2 host
            mountOneCgroup(h, rootFd, m.destination, flags, freshMount, what);
            return;
        }
    }
    {
        Fd fd(openInRoot(rootFd, m.destination, CreateMissing::Directory));
        mountOrThrow("tmpfs", fdPath(fd.fd), "tmpfs", (flags & ~MS_RDONLY), "mode=755",
                     what + ": mounting its tmpfs");
    }
    for (const auto& h : hosts) {
        std::string name = h.mountpoint.substr(h.mountpoint.find_last_of('/') + 1);
        if (h.mountpoint.rfind("/sys/fs/cgroup/", 0) != 0 || name.empty()) continue;
        mountOneCgroup(h, rootFd, m.destination + "/" + name, flags, freshMount, what);
    }
    if (flags & MS_RDONLY) {
        Fd fd(openInRoot(rootFd, m.destination, CreateMissing::No));
        mountOrThrow("", fdPath(fd.fd), nullptr, MS_REMOUNT | flags, "mode=755",
                     what + ": making its tmpfs read-only");
    }
}

void applyRecursiveAttrs(int rootFd, const PlannedMount& m, const std::string& what) {
    if (!m.options.recursiveAttrs.any()) return;
    Fd fd(openInRoot(rootFd, m.destination, CreateMissing::No));
    applyRecursiveMountAttrs(fd.fd, m.options.recursiveAttrs, what);
}

void applyPropagation(int rootFd, const PlannedMount& m) {
    if (!m.options.propagation) return;
    Fd fd(openInRoot(rootFd, m.destination, CreateMissing::No));
    mountOrThrow("", fdPath(fd.fd), nullptr, m.options.propagation, "",
                 "setting the propagation of " + m.destination + " (" + m.jsonPath + ")");
}

void executeMount(int rootFd, const PlannedMount& m, const RootfsPlan& plan, int sourceFd) {
    std::string what = "mounting " + (m.source.empty() ? m.type : m.source) + " on " +
                       m.destination + " (" + m.jsonPath + ")";
    if (m.kind == MountKind::Cgroup) {
        // cgroup v1 hierarchies cannot be mounted from a user namespace: bind them.
        mountCgroupFs(rootFd, m, plan.newCgroupNamespace && !plan.inUserNamespace);
        applyPropagation(rootFd, m);
        return;
    }
    if (m.kind == MountKind::Bind) {
        struct stat st {};
        if (::fstat(sourceFd, &st) < 0) throwErrno(what + ": the source");
        {
            Fd fd(openInRoot(rootFd, m.destination,
                             S_ISDIR(st.st_mode) ? CreateMissing::Directory : CreateMissing::File));
            if (m.idmappedTree >= 0)
                attachIdmappedTree(m.idmappedTree, fd.fd, what);
            else
                mountOrThrow(fdPath(sourceFd), fdPath(fd.fd), nullptr,
                             MS_BIND | (m.options.recursive ? MS_REC : 0), "", what);
        }
        unsigned long extra = m.options.flags & ~(MS_REMOUNT | MS_BIND | MS_REC);
        if (extra) {
            // Reopen: the new fd refers to the root of the bind mount just made.
            Fd fd(openInRoot(rootFd, m.destination, CreateMissing::No));
            mountOrThrow("", fdPath(fd.fd), nullptr,
                         MS_BIND | MS_REMOUNT | extra | lockedFlags(fd.fd), "",
                         what + ": applying its options");
        }
        applyRecursiveAttrs(rootFd, m, what);
        applyPropagation(rootFd, m);
        return;
    }
    std::string data = m.options.data;
    int existing = openInRootImpl(rootFd, m.destination, CreateMissing::No, true);
    Fd fd(existing >= 0 ? existing : openInRoot(rootFd, m.destination, CreateMissing::Directory));
    if (existing >= 0 && m.type == "tmpfs") {
        // As runc: a tmpfs takes the mode of the directory it covers unless the data says
        // otherwise (a later mode= wins), instead of the kernel's 1777.
        struct stat st {};
        if (::fstat(fd.fd, &st) < 0) throwErrno(what + ": reading the mode of its destination");
        char mode[16];
        std::snprintf(mode, sizeof mode, "mode=%04o", st.st_mode & 07777);
        data = data.empty() ? std::string(mode) : std::string(mode) + "," + data;
    }
    // tmpcopyup: the directory below, still reachable through its fd once covered.
    Fd below(m.options.tmpcopyup ? ::open(fdPath(fd.fd).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                                 : -1);
    if (m.options.tmpcopyup && below.fd < 0)
        throwErrno(what + ": opening the directory to copy up");
    std::string source = m.source.empty() ? m.type : m.source;
    if (::mount(source.c_str(), fdPath(fd.fd).c_str(), m.type.c_str(), m.options.flags,
                data.empty() ? nullptr : data.c_str()) < 0) {
        int err = errno;
        // sysfs cannot be mounted in a user namespace without its own network namespace;
        // runc binds the host's /sys read-only instead.
        if (m.kind == MountKind::Sysfs && err == EPERM) {
            mountOrThrow("/sys", fdPath(fd.fd), nullptr, MS_BIND | MS_REC, "", what);
            Fd again(openInRoot(rootFd, m.destination, CreateMissing::No));
            mountOrThrow("", fdPath(again.fd), nullptr,
                         MS_BIND | MS_REMOUNT | MS_RDONLY | m.options.flags | lockedFlags(again.fd),
                         "", what);
        } else {
            throwSys(what, err);
        }
    }
    if (below.fd >= 0) {
        Fd top(openInRoot(rootFd, m.destination, CreateMissing::No));
        Fd topDir(::open(fdPath(top.fd).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (topDir.fd < 0) throwErrno(what + ": opening the new tmpfs");
        copyTree(below.fd, topDir.fd, what + ": tmpcopyup");
    }
    applyRecursiveAttrs(rootFd, m, what);
    applyPropagation(rootFd, m);
}

void createDevice(int rootFd, const PlannedDevice& d, bool bind) {
    auto [parent, name] = splitParent(d.path);
    std::string what = "creating the device " + d.path;
    Fd pfd(openInRoot(rootFd, parent, CreateMissing::Directory));
    // O_PATH fds cannot be used as dirfd for mknodat/unlinkat on every kernel: reopen.
    Fd dir(::openat(pfd.fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir.fd < 0) throwErrno(what + ": opening " + parent);
    if (::unlinkat(dir.fd, name.c_str(), 0) < 0 && errno != ENOENT && errno != EBUSY)
        throwErrno(what + ": removing what was there");
    mode_t type = d.type == 'b' ? S_IFBLK : d.type == 'p' ? S_IFIFO : S_IFCHR;
    if (!bind) {
        if (::mknodat(dir.fd, name.c_str(), type | (d.fileMode & 07777),
                      makedev(static_cast<unsigned>(d.major), static_cast<unsigned>(d.minor))) ==
            0) {
            if (::fchmodat(dir.fd, name.c_str(), d.fileMode & 07777, 0) < 0)
                throwErrno(what + ": chmod");
            if (::fchownat(dir.fd, name.c_str(), d.uid, d.gid, AT_SYMLINK_NOFOLLOW) < 0)
                throwErrno(what + ": chown");
            return;
        }
        if (errno == EEXIST) return;  // a busy bind mount from a spec mount is kept
        if (errno != EPERM) throwErrno(what + ": mknod");
    }
    // In a user namespace: bind the host's node of the same path onto an empty file.
    int f = ::openat(dir.fd, name.c_str(), O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0);
    if (f < 0 && errno != EEXIST) throwErrno(what + ": creating its bind target");
    if (f >= 0) ::close(f);
    Fd target(::openat(dir.fd, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (target.fd < 0) throwErrno(what + ": opening its bind target");
    mountOrThrow(d.path, fdPath(target.fd), nullptr, MS_BIND, "",
                 what + ": binding the host's " + d.path);
}

void createSymlink(int rootFd, const std::string& link, const std::string& target) {
    auto [parent, name] = splitParent(link);
    Fd pfd(openInRoot(rootFd, parent, CreateMissing::Directory));
    Fd dir(::openat(pfd.fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir.fd < 0) throwErrno("creating the symlink " + link + ": opening " + parent);
    if (::symlinkat(target.c_str(), dir.fd, name.c_str()) < 0 && errno != EEXIST)
        throwErrno("creating the symlink " + link + " -> " + target);
}

bool rootIsRamfs() {
    struct statfs sf {};
    if (::statfs("/", &sf) < 0) return false;
    return sf.f_type == RAMFS_MAGIC || sf.f_type == TMPFS_MAGIC;
}

}  // namespace

int openInRoot(int rootFd, const std::string& path, CreateMissing create) {
    return openInRootImpl(rootFd, path, create, false);
}

void prepareRootfs(const RootfsPlan& plan, const MountSourceOpener& openSource) {
    // Only for pivot_root, and in the host's mount namespace it would change the host's.
    if (plan.ownMountNamespace) {
        mountOrThrow("", "/", nullptr, plan.rootPropagation, "",
                     "setting the propagation of / in the container's mount namespace");
        mountOrThrow(plan.rootfs, plan.rootfs, nullptr, MS_BIND | MS_REC, "",
                     "binding the rootfs " + plan.rootfs + " on itself");
    }
    Fd root(::open(plan.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (root.fd < 0) throwErrno("opening the rootfs " + plan.rootfs);
    for (std::size_t i = 0; i < plan.mounts.size(); ++i) {
        const auto& m = plan.mounts[i];
        Fd source;
        if (m.kind == MountKind::Bind) {
            if (openSource) {
                source.fd = openSource(i);
            } else {
                source.fd = ::open(m.source.c_str(), O_PATH | O_CLOEXEC);
                if (source.fd < 0)
                    throwErrno("mounting " + m.source + " on " + m.destination + " (" + m.jsonPath +
                               "): opening the source");
            }
        }
        executeMount(root.fd, m, plan, source.fd);
    }
    for (const auto& d : plan.devices) createDevice(root.fd, d, plan.inUserNamespace);
    for (const auto& [link, target] : plan.devSymlinks) createSymlink(root.fd, link, target);
}

void switchRoot(const RootfsPlan& plan) {
    Fd newRoot(::open(plan.rootfs.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (newRoot.fd < 0) throwErrno("opening the rootfs " + plan.rootfs);
    if (::fchdir(newRoot.fd) < 0) throwErrno("entering the rootfs " + plan.rootfs);
    if (!plan.ownMountNamespace) {
        // The host's mount namespace: pivot_root or MS_MOVE would move the host's root.
        if (::chroot(".") < 0) throwErrno("chroot into the rootfs " + plan.rootfs);
        if (::chdir("/") < 0) throwErrno("entering / of the container");
        return;
    }
    bool moveRoot = plan.noPivot;
    if (!moveRoot) {
        if (::syscall(SYS_pivot_root, ".", ".") == 0) {
            // The old root now sits on top of "."; detach it without telling the host.
            mountOrThrow("", ".", nullptr, MS_SLAVE | MS_REC, "", "making the old root a slave");
            if (::umount2(".", MNT_DETACH) < 0) throwErrno("detaching the old root");
        } else if (errno == EINVAL && rootIsRamfs()) {
            moveRoot = true;
        } else {
            throwErrno("pivot_root to " + plan.rootfs);
        }
    }
    if (moveRoot) {
        mountOrThrow(".", "/", nullptr, MS_MOVE, "", "moving the rootfs onto / (no pivot_root)");
        if (::chroot(".") < 0) throwErrno("chroot into the rootfs");
    }
    if (::chdir("/") < 0) throwErrno("entering / of the container");
}

void protectRootfs(const RootfsPlan& plan) {
    Fd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (root.fd < 0) throwErrno("opening the container's /");
    // While the root can still be written (root.readonly); entered later, after the user
    // switch, by prepareProcess.
    Fd cwd(openInRoot(root.fd, plan.cwd, CreateMissing::Directory));
    for (const auto& p : plan.maskedPaths) {
        int fd = openInRootImpl(root.fd, p, CreateMissing::No, true);
        if (fd == -ENOENT) continue;
        Fd f(fd);
        struct stat st {};
        if (::fstat(f.fd, &st) < 0) throwErrno("masking " + p);
        if (S_ISDIR(st.st_mode))
            mountOrThrow("tmpfs", fdPath(f.fd), "tmpfs", MS_RDONLY, "", "masking " + p);
        else
            mountOrThrow("/dev/null", fdPath(f.fd), nullptr, MS_BIND, "", "masking " + p);
    }
    for (const auto& p : plan.readonlyPaths) {
        int fd = openInRootImpl(root.fd, p, CreateMissing::No, true);
        if (fd == -ENOENT) continue;
        {
            Fd f(fd);
            mountOrThrow(fdPath(f.fd), fdPath(f.fd), nullptr, MS_BIND | MS_REC, "",
                         "making " + p + " read-only: binding it");
        }
        Fd again(openInRoot(root.fd, p, CreateMissing::No));
        mountOrThrow("", fdPath(again.fd), nullptr,
                     MS_BIND | MS_REMOUNT | MS_RDONLY | lockedFlags(again.fd), "",
                     "making " + p + " read-only");
    }
    if (plan.readonly) {
        mountOrThrow("", "/", nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | lockedFlags(root.fd), "",
                     "making the rootfs read-only");
    }
    // Last: an (r)unbindable tree would refuse the binds above (masks, read-only paths).
    if (plan.finalPropagation)
        mountOrThrow("", "/", nullptr, *plan.finalPropagation, "",
                     "applying linux.rootfsPropagation to /");
}

}  // namespace caprun
