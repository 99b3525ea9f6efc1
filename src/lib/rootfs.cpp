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
#include <deque>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "caprun/error.hpp"
#include "caprun/idmap.hpp"

namespace caprun {

namespace {

struct FlagWord {
    const char* name;
    bool clear;  // "rw" clears MS_RDONLY
    unsigned long flag;
};

constexpr FlagWord kFlagWords[] = {
    {"defaults", false, 0},
    {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},
    {"suid", true, MS_NOSUID},
    {"nosuid", false, MS_NOSUID},
    {"dev", true, MS_NODEV},
    {"nodev", false, MS_NODEV},
    {"exec", true, MS_NOEXEC},
    {"noexec", false, MS_NOEXEC},
    {"sync", false, MS_SYNCHRONOUS},
    {"async", true, MS_SYNCHRONOUS},
    {"dirsync", false, MS_DIRSYNC},
    {"remount", false, MS_REMOUNT},
    {"mand", false, MS_MANDLOCK},
    {"nomand", true, MS_MANDLOCK},
    {"atime", true, MS_NOATIME},
    {"noatime", false, MS_NOATIME},
    {"diratime", true, MS_NODIRATIME},
    {"nodiratime", false, MS_NODIRATIME},
    {"relatime", false, MS_RELATIME},
    {"norelatime", true, MS_RELATIME},
    {"strictatime", false, MS_STRICTATIME},
    {"nostrictatime", true, MS_STRICTATIME},
};

struct PropWord {
    const char* name;
    unsigned long flags;
};

constexpr PropWord kPropWords[] = {
    {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
    {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
    {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
};

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

void executeMount(int rootFd, const PlannedMount& m, const RootfsPlan& plan) {
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
        if (::stat(m.source.c_str(), &st) < 0) throwErrno(what + ": the source");
        {
            Fd fd(openInRoot(rootFd, m.destination,
                             S_ISDIR(st.st_mode) ? CreateMissing::Directory : CreateMissing::File));
            if (m.idmappedTree >= 0)
                attachIdmappedTree(m.idmappedTree, fd.fd, what);
            else
                mountOrThrow(m.source, fdPath(fd.fd), nullptr,
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
    Fd fd(openInRoot(rootFd, m.destination, CreateMissing::Directory));
    // tmpcopyup: the directory below, still reachable through its fd once covered.
    Fd below(m.options.tmpcopyup ? ::open(fdPath(fd.fd).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                                 : -1);
    if (m.options.tmpcopyup && below.fd < 0)
        throwErrno(what + ": opening the directory to copy up");
    std::string source = m.source.empty() ? m.type : m.source;
    if (::mount(source.c_str(), fdPath(fd.fd).c_str(), m.type.c_str(), m.options.flags,
                m.options.data.empty() ? nullptr : m.options.data.c_str()) < 0) {
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

unsigned long propagationFlags(const std::string& name, const std::string& what) {
    for (const auto& p : kPropWords)
        if (name == p.name) return p.flags;
    throw Error(what + ": unknown propagation \"" + name +
                "\" (expected private, rprivate, shared, rshared, slave, rslave, unbindable or "
                "runbindable)");
}

MountOptions parseMountOptions(const std::vector<std::string>& options,
                               const std::string& jsonPath) {
    MountOptions out;
    std::string data;
    for (const auto& o : options) {
        if (o == "bind") {
            out.bind = true;
            continue;
        }
        if (o == "rbind") {
            out.bind = out.recursive = true;
            continue;
        }
        if (o == "tmpcopyup") {
            out.tmpcopyup = true;
            continue;
        }
        if (o == "idmap" || o == "ridmap") {
            (o == "idmap" ? out.idmap : out.ridmap) = true;
            continue;
        }
        if (addRecursiveMountOption(o, out.recursiveAttrs)) continue;
        if (addExtraMountFlag(o, out.flags)) continue;
        bool handled = false;
        for (const auto& f : kFlagWords) {
            if (o == f.name) {
                if (f.clear)
                    out.flags &= ~f.flag;
                else
                    out.flags |= f.flag;
                handled = true;
                break;
            }
        }
        for (const auto& p : kPropWords) {
            if (!handled && o == p.name) {
                out.propagation = p.flags;
                handled = true;
            }
        }
        if (!handled) data += (data.empty() ? "" : ",") + o;
    }
    out.data = data;
    return out;
}

std::vector<PlannedDevice> defaultDevices() {
    return {
        {"/dev/null", 'c', 1, 3, 0666, 0, 0},    {"/dev/zero", 'c', 1, 5, 0666, 0, 0},
        {"/dev/full", 'c', 1, 7, 0666, 0, 0},    {"/dev/random", 'c', 1, 8, 0666, 0, 0},
        {"/dev/urandom", 'c', 1, 9, 0666, 0, 0}, {"/dev/tty", 'c', 5, 0, 0666, 0, 0},
    };
}

RootfsPlan planRootfs(const Spec& spec, const std::string& bundle, bool noPivot,
                      bool newUserNamespace, bool newCgroupNamespace) {
    RootfsPlan plan;
    if (spec.root.path.empty()) throw Error("config.json: root.path is missing or empty");
    plan.rootfs = spec.root.path.front() == '/' ? spec.root.path : bundle + "/" + spec.root.path;
    plan.readonly = spec.root.readonly;
    plan.noPivot = noPivot;
    plan.inUserNamespace = newUserNamespace;
    plan.newCgroupNamespace = newCgroupNamespace;
    plan.rootPropagation = MS_SLAVE | MS_REC;
    if (spec.linux && !spec.linux->rootfsPropagation.empty()) {
        unsigned long p =
            propagationFlags(spec.linux->rootfsPropagation, "config.json: linux.rootfsPropagation");
        // pivot_root refuses a shared parent, and an unbindable rootfs cannot be bound on
        // itself: both start from rslave and get their propagation after the pivot.
        if (!(p & (MS_SHARED | MS_UNBINDABLE))) plan.rootPropagation = p;
        plan.finalPropagation = p;
    }
    for (const auto& m : spec.mounts) {
        PlannedMount pm;
        pm.jsonPath = m.jsonPath;
        if (m.destination.empty() || m.destination.front() != '/')
            throw Error("config.json: " + m.jsonPath + ".destination: \"" + m.destination +
                        "\" is not an absolute path");
        pm.destination = m.destination;
        pm.type = m.type;
        pm.options = parseMountOptions(m.options, m.jsonPath);
        if (pm.options.bind || m.type == "bind") {
            pm.kind = MountKind::Bind;
            pm.options.bind = true;
            if (!pm.options.data.empty())
                throw Error("config.json: " + m.jsonPath + ".options: \"" + pm.options.data +
                            "\": not a mount option caprun knows, and a bind mount takes no "
                            "filesystem data");
            if (pm.options.tmpcopyup)
                throw Error("config.json: " + m.jsonPath +
                            ".options: tmpcopyup applies to tmpfs mounts, not to a bind");
            if (m.source.empty())
                throw Error("config.json: " + m.jsonPath + ".source: a bind mount needs a source");
            pm.source = m.source.front() == '/' ? m.source : bundle + "/" + m.source;
        } else {
            pm.source = m.source;
            if (m.type == "proc")
                pm.kind = MountKind::Proc;
            else if (m.type == "sysfs")
                pm.kind = MountKind::Sysfs;
            else if (m.type == "cgroup" || m.type == "cgroup2")
                pm.kind = MountKind::Cgroup;
            else if (m.type.empty())
                throw Error("config.json: " + m.jsonPath +
                            ".type: missing (only bind mounts may omit it)");
        }
        planIdmap(spec, m, newUserNamespace, pm);
        plan.mounts.push_back(std::move(pm));
    }
    plan.devices = defaultDevices();
    if (spec.linux) {
        for (std::size_t i = 0; i < spec.linux->devices.size(); ++i) {
            const auto& d = spec.linux->devices[i];
            std::string jp = "config.json: linux.devices[" + std::to_string(i) + "]";
            if (d.path.empty() || d.path.front() != '/')
                throw Error(jp + ".path: \"" + d.path + "\" is not an absolute path");
            PlannedDevice pd;
            pd.path = d.path;
            if (d.type == "c" || d.type == "u")
                pd.type = 'c';
            else if (d.type == "b")
                pd.type = 'b';
            else if (d.type == "p")
                pd.type = 'p';
            else
                throw Error(jp + ".type: \"" + d.type + "\" is not one of c, b, u, p");
            pd.major = d.major;
            pd.minor = d.minor;
            pd.fileMode = d.fileMode.value_or(0666);
            pd.uid = d.uid.value_or(0);
            pd.gid = d.gid.value_or(0);
            bool replaced = false;
            for (auto& existing : plan.devices)
                if (existing.path == pd.path) {
                    existing = pd;
                    replaced = true;
                }
            if (!replaced) plan.devices.push_back(pd);
        }
        plan.maskedPaths = spec.linux->maskedPaths;
        plan.readonlyPaths = spec.linux->readonlyPaths;
    }
    plan.devSymlinks = {{"/dev/fd", "/proc/self/fd"},
                        {"/dev/stdin", "/proc/self/fd/0"},
                        {"/dev/stdout", "/proc/self/fd/1"},
                        {"/dev/stderr", "/proc/self/fd/2"},
                        {"/dev/ptmx", "pts/ptmx"}};
    return plan;
}

int openInRoot(int rootFd, const std::string& path, CreateMissing create) {
    return openInRootImpl(rootFd, path, create, false);
}

void prepareRootfs(const RootfsPlan& plan) {
    mountOrThrow("", "/", nullptr, plan.rootPropagation, "",
                 "setting the propagation of / in the container's mount namespace");
    mountOrThrow(plan.rootfs, plan.rootfs, nullptr, MS_BIND | MS_REC, "",
                 "binding the rootfs " + plan.rootfs + " on itself");
    Fd root(::open(plan.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (root.fd < 0) throwErrno("opening the rootfs " + plan.rootfs);
    for (const auto& m : plan.mounts) executeMount(root.fd, m, plan);
    for (const auto& d : plan.devices) createDevice(root.fd, d, plan.inUserNamespace);
    for (const auto& [link, target] : plan.devSymlinks) createSymlink(root.fd, link, target);
}

void switchRoot(const RootfsPlan& plan) {
    Fd newRoot(::open(plan.rootfs.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (newRoot.fd < 0) throwErrno("opening the rootfs " + plan.rootfs);
    if (::fchdir(newRoot.fd) < 0) throwErrno("entering the rootfs " + plan.rootfs);
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
