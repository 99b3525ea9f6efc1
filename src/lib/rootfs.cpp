#include "caprun/rootfs.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cerrno>
#include <cstdio>
#include <set>
#include <sstream>

#include "caprun/error.hpp"
#include "caprun/sys/mountinfo.hpp"

namespace caprun {

namespace {

std::string fdPath(int fd) {
    return "/proc/self/fd/" + std::to_string(fd);
}

// Closes an fd through the kernel interface on scope exit.
class Fd {
  public:
    Fd(RootfsKernel& k, int fd = -1) : k_(k), fd(fd) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() {
        if (fd >= 0) k_.close(fd);
    }

  private:
    RootfsKernel& k_;

  public:
    int fd;
};

std::pair<std::string, std::string> splitParent(const std::string& path) {
    auto pos = path.find_last_of('/');
    if (pos == std::string::npos) return {"/", path};
    return {pos == 0 ? "/" : path.substr(0, pos), path.substr(pos + 1)};
}

void mountOrThrow(RootfsKernel& k, const std::string& source, const std::string& target,
                  const std::string& type, unsigned long flags, const std::string& data,
                  const std::string& what) {
    if (int err = k.mount(source, target, type, flags, data)) throwSys(what, err);
}

int resolve(RootfsKernel& k, int rootFd, const std::string& path, CreateMissing create) {
    return k.openInRoot(rootFd, path, create, false);
}
// ---- cgroup filesystem for a "cgroup" mount ----

struct HostCgroupMount {
    std::string mountpoint;
    bool v2 = false;
    std::set<std::string> controllers;  // v1: "cpu", "name=systemd"
    std::string mountOptions;           // v1: "cpu" / "name=systemd" for a fresh mount
};

std::set<std::string> knownControllers(RootfsKernel& k) {
    std::set<std::string> out;
    std::istringstream in(k.readProcFile("/proc/cgroups"));
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        out.insert(line.substr(0, line.find('\t')));
    }
    return out;
}

std::vector<HostCgroupMount> hostCgroupMounts(RootfsKernel& k) {
    std::vector<HostCgroupMount> out;
    auto entries = sys::parseMountInfo(k.readProcFile("/proc/self/mountinfo"));
    auto known = knownControllers(k);
    for (const auto& e : entries) {
        if (e.fsType != "cgroup" && e.fsType != "cgroup2") continue;
        HostCgroupMount m;
        m.mountpoint = e.mountPoint;
        m.v2 = e.fsType == "cgroup2";
        if (!m.v2) {
            std::stringstream os(e.superOptions);
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
std::string ownCgroupPath(RootfsKernel& k, const HostCgroupMount& m) {
    for (const auto& e : sys::parseProcCgroup(k.readProcFile("/proc/self/cgroup"))) {
        if (m.v2) {
            if (e.hierarchyId == "0" && e.controllerList.empty()) return e.path;
            continue;
        }
        std::set<std::string> set(e.controllers.begin(), e.controllers.end());
        if (set == m.controllers) return e.path;
    }
    return "/";
}

void mountOneCgroup(RootfsKernel& k, const HostCgroupMount& m, int rootFd, const std::string& dest,
                    unsigned long flags, bool freshMount, const std::string& what) {
    Fd fd(k, resolve(k, rootFd, dest, CreateMissing::Directory));
    if (freshMount) {
        mountOrThrow(k, m.v2 ? "cgroup2" : "cgroup", fdPath(fd.fd), m.v2 ? "cgroup2" : "cgroup",
                     flags, m.v2 ? "" : m.mountOptions, what + ": mounting " + m.mountpoint);
        return;
    }
    // Without a cgroup namespace (or in a user namespace, where v1 hierarchies cannot be
    // mounted) show only the container's own cgroup, as runc does.
    std::string source = m.mountpoint + ownCgroupPath(k, m);
    mountOrThrow(k, source, fdPath(fd.fd), "", MS_BIND | MS_REC, "", what + ": binding " + source);
    Fd again(k, resolve(k, rootFd, dest, CreateMissing::No));  // the root of the new bind
    mountOrThrow(k, "", fdPath(again.fd), "",
                 MS_BIND | MS_REMOUNT | flags | k.lockedMountFlags(again.fd), "",
                 what + ": remounting " + source);
}

void mountCgroupFs(RootfsKernel& k, int rootFd, const PlannedMount& m, bool freshMount) {
    std::string what = "mounting cgroups on " + m.destination + " (" + m.jsonPath + ")";
    unsigned long flags = m.options.flags & ~MS_REMOUNT;
    auto hosts = hostCgroupMounts(k);
    for (const auto& h : hosts) {
        if (h.v2 && h.mountpoint == "/sys/fs/cgroup") {  // pure cgroup v2 host
            mountOneCgroup(k, h, rootFd, m.destination, flags, freshMount, what);
            return;
        }
    }
    {
        Fd fd(k, resolve(k, rootFd, m.destination, CreateMissing::Directory));
        mountOrThrow(k, "tmpfs", fdPath(fd.fd), "tmpfs", (flags & ~MS_RDONLY), "mode=755",
                     what + ": mounting its tmpfs");
    }
    for (const auto& h : hosts) {
        std::string name = h.mountpoint.substr(h.mountpoint.find_last_of('/') + 1);
        if (h.mountpoint.rfind("/sys/fs/cgroup/", 0) != 0 || name.empty()) continue;
        mountOneCgroup(k, h, rootFd, m.destination + "/" + name, flags, freshMount, what);
    }
    if (flags & MS_RDONLY) {
        Fd fd(k, resolve(k, rootFd, m.destination, CreateMissing::No));
        mountOrThrow(k, "", fdPath(fd.fd), "", MS_REMOUNT | flags, "mode=755",
                     what + ": making its tmpfs read-only");
    }
}

void applyRecursiveAttrs(RootfsKernel& k, int rootFd, const PlannedMount& m,
                         const std::string& what) {
    if (!m.options.recursiveAttrs.any()) return;
    Fd fd(k, resolve(k, rootFd, m.destination, CreateMissing::No));
    k.setRecursiveMountAttrs(fd.fd, m.options.recursiveAttrs, what);
}

void applyPropagation(RootfsKernel& k, int rootFd, const PlannedMount& m) {
    if (!m.options.propagation) return;
    Fd fd(k, resolve(k, rootFd, m.destination, CreateMissing::No));
    mountOrThrow(k, "", fdPath(fd.fd), "", m.options.propagation, "",
                 "setting the propagation of " + m.destination + " (" + m.jsonPath + ")");
}

void executeMount(RootfsKernel& k, int rootFd, const PlannedMount& m, const RootfsPlan& plan,
                  int sourceFd) {
    std::string what = "mounting " + (m.source.empty() ? m.type : m.source) + " on " +
                       m.destination + " (" + m.jsonPath + ")";
    if (m.kind == MountKind::Cgroup) {
        // cgroup v1 hierarchies cannot be mounted from a user namespace: bind them.
        mountCgroupFs(k, rootFd, m, plan.newCgroupNamespace && !plan.inUserNamespace);
        applyPropagation(k, rootFd, m);
        return;
    }
    if (m.kind == MountKind::Bind) {
        mode_t sourceMode = k.fileMode(sourceFd, what + ": the source");
        {
            Fd fd(k, resolve(k, rootFd, m.destination,
                             S_ISDIR(sourceMode) ? CreateMissing::Directory : CreateMissing::File));
            if (m.idmappedTree >= 0)
                k.moveMount(m.idmappedTree, fd.fd, what + ": attaching the idmapped tree");
            else
                mountOrThrow(k, fdPath(sourceFd), fdPath(fd.fd), "",
                             MS_BIND | (m.options.recursive ? MS_REC : 0), "", what);
        }
        unsigned long extra = m.options.flags & ~(MS_REMOUNT | MS_BIND | MS_REC);
        if (extra) {
            // Reopen: the new fd refers to the root of the bind mount just made.
            Fd fd(k, resolve(k, rootFd, m.destination, CreateMissing::No));
            mountOrThrow(k, "", fdPath(fd.fd), "",
                         MS_BIND | MS_REMOUNT | extra | k.lockedMountFlags(fd.fd), "",
                         what + ": applying its options");
        }
        applyRecursiveAttrs(k, rootFd, m, what);
        applyPropagation(k, rootFd, m);
        return;
    }
    std::string data = m.options.data;
    int existing = k.openInRoot(rootFd, m.destination, CreateMissing::No, true);
    Fd fd(k,
          existing >= 0 ? existing : resolve(k, rootFd, m.destination, CreateMissing::Directory));
    if (existing >= 0 && m.type == "tmpfs") {
        // As runc: a tmpfs takes the mode of the directory it covers unless the data says
        // otherwise (a later mode= wins), instead of the kernel's 1777.
        mode_t covered = k.fileMode(fd.fd, what + ": reading the mode of its destination");
        char mode[16];
        std::snprintf(mode, sizeof mode, "mode=%04o", covered & 07777);
        data = data.empty() ? std::string(mode) : std::string(mode) + "," + data;
    }
    // tmpcopyup: the directory below, still reachable through its fd once covered.
    Fd below(k, m.options.tmpcopyup ? k.open(fdPath(fd.fd), O_RDONLY | O_DIRECTORY,
                                             what + ": opening the directory to copy up")
                                    : -1);
    std::string source = m.source.empty() ? m.type : m.source;
    if (int err = k.mount(source, fdPath(fd.fd), m.type, m.options.flags, data)) {
        // sysfs cannot be mounted in a user namespace without its own network namespace;
        // runc binds the host's /sys read-only instead.
        if (m.kind == MountKind::Sysfs && err == EPERM) {
            mountOrThrow(k, "/sys", fdPath(fd.fd), "", MS_BIND | MS_REC, "", what);
            Fd again(k, resolve(k, rootFd, m.destination, CreateMissing::No));
            mountOrThrow(
                k, "", fdPath(again.fd), "",
                MS_BIND | MS_REMOUNT | MS_RDONLY | m.options.flags | k.lockedMountFlags(again.fd),
                "", what);
        } else {
            throwSys(what, err);
        }
    }
    if (below.fd >= 0) {
        Fd top(k, resolve(k, rootFd, m.destination, CreateMissing::No));
        Fd topDir(k,
                  k.open(fdPath(top.fd), O_RDONLY | O_DIRECTORY, what + ": opening the new tmpfs"));
        k.copyTree(below.fd, topDir.fd, what + ": tmpcopyup");
    }
    applyRecursiveAttrs(k, rootFd, m, what);
    applyPropagation(k, rootFd, m);
}

// O_PATH fds cannot be used as dirfd for mknodat/unlinkat on every kernel: the parent of
// `path` reopened as a directory.
int openParentDir(RootfsKernel& k, int rootFd, const std::string& parent, const std::string& what) {
    Fd pfd(k, resolve(k, rootFd, parent, CreateMissing::Directory));
    int dir = k.openAt(pfd.fd, ".", O_RDONLY | O_DIRECTORY, 0);
    if (dir < 0) throwSys(what + ": opening " + parent, -dir);
    return dir;
}

void createDevice(RootfsKernel& k, int rootFd, const PlannedDevice& d, bool bind,
                  unsigned long flags) {
    auto [parent, name] = splitParent(d.path);
    std::string what = "creating the device " + d.path;
    Fd dir(k, openParentDir(k, rootFd, parent, what));
    if (int err = k.unlinkAt(dir.fd, name); err != 0 && err != ENOENT && err != EBUSY)
        throwSys(what + ": removing what was there", err);
    mode_t type = d.type == 'b' ? S_IFBLK : d.type == 'p' ? S_IFIFO : S_IFCHR;
    if (!bind) {
        int err =
            k.mknodAt(dir.fd, name, type | (d.fileMode & 07777),
                      makedev(static_cast<unsigned>(d.major), static_cast<unsigned>(d.minor)));
        if (err == 0) {
            k.chmodAt(dir.fd, name, d.fileMode & 07777, what + ": chmod");
            k.chownAt(dir.fd, name, d.uid, d.gid, what + ": chown");
            return;
        }
        if (err == EEXIST) return;  // a busy bind mount from a spec mount is kept
        if (err != EPERM) throwSys(what + ": mknod", err);
    }
    // In a user namespace: bind the host's node of the same path onto an empty file.
    int f = k.openAt(dir.fd, name, O_CREAT | O_WRONLY | O_NOFOLLOW, 0);
    if (f < 0 && f != -EEXIST) throwSys(what + ": creating its bind target", -f);
    if (f >= 0) k.close(f);
    Fd target(k, k.openAt(dir.fd, name, O_PATH | O_NOFOLLOW, 0));
    if (target.fd < 0) throwSys(what + ": opening its bind target", -target.fd);
    mountOrThrow(k, d.path, fdPath(target.fd), "", MS_BIND, "",
                 what + ": binding the host's " + d.path);
    if (flags == 0) return;
    // A bind ignores flags but MS_REC; the remount sets them, keeping what the kernel locked.
    Fd again(k, k.openAt(dir.fd, name, O_PATH | O_NOFOLLOW, 0));
    if (again.fd < 0) throwSys(what + ": opening its bind", -again.fd);
    mountOrThrow(k, "", fdPath(again.fd), "",
                 MS_BIND | MS_REMOUNT | flags | k.lockedMountFlags(again.fd), "",
                 what + ": remounting the host's " + d.path);
}

void createSymlink(RootfsKernel& k, int rootFd, const std::string& link,
                   const std::string& target) {
    auto [parent, name] = splitParent(link);
    Fd dir(k, openParentDir(k, rootFd, parent, "creating the symlink " + link));
    if (int err = k.symlinkAt(target, dir.fd, name); err != 0 && err != EEXIST)
        throwSys("creating the symlink " + link + " -> " + target, err);
}

// What a non-directory node is, for an error that says why it was refused.
std::string nodeKind(mode_t mode) {
    if (S_ISLNK(mode)) return "a symlink";
    if (S_ISREG(mode)) return "a regular file";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISFIFO(mode)) return "a fifo";
    if (S_ISSOCK(mode)) return "a socket";
    return "a directory";
}

// /dev/<name> of the container as an O_PATH fd of that very node: /dev is resolved inside
// the root and the last component is not followed, so a link the rootfs (or a racer) put
// there is seen as a link. -errno when it cannot be opened.
int openDevNode(RootfsKernel& k, int rootFd, const std::string& name, const std::string& what) {
    Fd dev(k, openParentDir(k, rootFd, "/dev", what));
    return k.openAt(dev.fd, name, O_PATH | O_NOFOLLOW, 0);
}

// The source maskedPaths bind over files: the container's /dev/null, checked to be the null
// device. The rootfs owns /dev when the spec mounts no tmpfs there; a /dev/null it replaced
// by a link to a procfs file would otherwise put a writable host knob over the masked path
// (CVE-2025-31133).
int openNullDevice(RootfsKernel& k, int rootFd, const std::string& what) {
    int fd = openDevNode(k, rootFd, "null", what);
    if (fd < 0) throwSys(what + ": opening the container's /dev/null", -fd);
    Fd null(k, fd);
    mode_t mode = k.fileMode(null.fd, what + ": /dev/null");
    dev_t dev = S_ISCHR(mode) ? k.deviceNumber(null.fd, what + ": /dev/null") : 0;
    if (!S_ISCHR(mode) || major(dev) != 1 || minor(dev) != 3)
        throw Error(what + ": the container's /dev/null is " +
                    (S_ISCHR(mode) ? "the character device " + std::to_string(major(dev)) + ":" +
                                         std::to_string(minor(dev))
                                   : nodeKind(mode)) +
                    ", not the null device (1:3); caprun masks only with the null device");
    null.fd = -1;
    return fd;
}

}  // namespace

int openInRoot(int rootFd, const std::string& path, CreateMissing create) {
    LinuxRootfsKernel k;
    return k.openInRoot(rootFd, path, create, false);
}

void prepareRootfs(const RootfsPlan& plan, const MountSourceOpener& openSource,
                   const CgroupBarrier& cgroupBarrier) {
    LinuxRootfsKernel k;
    prepareRootfs(plan, k, openSource, cgroupBarrier);
}

void prepareRootfs(const RootfsPlan& plan, RootfsKernel& k, const MountSourceOpener& openSource,
                   const CgroupBarrier& cgroupBarrier) {
    bool passedBarrier = false;
    auto barrier = [&] {
        if (passedBarrier) return;
        passedBarrier = true;
        if (cgroupBarrier) cgroupBarrier();
    };
    // Only for pivot_root, and in the host's mount namespace it would change the host's.
    if (plan.ownMountNamespace) {
        mountOrThrow(k, "", "/", "", plan.rootPropagation, "",
                     "setting the propagation of / in the container's mount namespace");
        mountOrThrow(k, plan.rootfs, plan.rootfs, "", MS_BIND | MS_REC, "",
                     "binding the rootfs " + plan.rootfs + " on itself");
    }
    Fd root(k, k.open(plan.rootfs, O_PATH | O_DIRECTORY, "opening the rootfs " + plan.rootfs));
    for (std::size_t i = 0; i < plan.mounts.size(); ++i) {
        const auto& m = plan.mounts[i];
        Fd source(k);
        if (m.kind == MountKind::Bind) {
            if (openSource)
                source.fd = openSource(i);
            else
                source.fd = k.open(m.source, O_PATH,
                                   "mounting " + m.source + " on " + m.destination + " (" +
                                       m.jsonPath + "): opening the source");
        }
        if (m.kind == MountKind::Cgroup) barrier();
        executeMount(k, root.fd, m, plan, source.fd);
    }
    barrier();
    for (const auto& d : plan.devices)
        createDevice(k, root.fd, d, plan.inUserNamespace, plan.deviceBindFlags);
    for (const auto& [link, target] : plan.devSymlinks) createSymlink(k, root.fd, link, target);
}

void switchRoot(const RootfsPlan& plan) {
    LinuxRootfsKernel k;
    switchRoot(plan, k);
}

void switchRoot(const RootfsPlan& plan, RootfsKernel& k) {
    Fd newRoot(k, k.open(plan.rootfs, O_RDONLY | O_DIRECTORY, "opening the rootfs " + plan.rootfs));
    k.fchdir(newRoot.fd, "entering the rootfs " + plan.rootfs);
    if (!plan.ownMountNamespace) {
        // The host's mount namespace: pivot_root or MS_MOVE would move the host's root.
        k.chroot(".", "chroot into the rootfs " + plan.rootfs);
        k.chdir("/", "entering / of the container");
        return;
    }
    bool moveRoot = plan.noPivot;
    if (!moveRoot) {
        if (int err = k.pivotRoot(".", "."); err == 0) {
            // The old root now sits on top of "."; detach it without telling the host.
            mountOrThrow(k, "", ".", "", MS_SLAVE | MS_REC, "", "making the old root a slave");
            if (int uerr = k.umount(".", MNT_DETACH)) throwSys("detaching the old root", uerr);
        } else if (err == EINVAL && k.rootIsRamfs()) {
            moveRoot = true;
        } else {
            throwSys("pivot_root to " + plan.rootfs, err);
        }
    }
    if (moveRoot) {
        mountOrThrow(k, ".", "/", "", MS_MOVE, "", "moving the rootfs onto / (no pivot_root)");
        k.chroot(".", "chroot into the rootfs");
    }
    k.chdir("/", "entering / of the container");
}

void protectRootfs(const RootfsPlan& plan) {
    LinuxRootfsKernel k;
    protectRootfs(plan, k);
}

void protectRootfs(const RootfsPlan& plan, RootfsKernel& k) {
    Fd root(k, k.open("/", O_PATH | O_DIRECTORY, "opening the container's /"));
    // While the root can still be written (root.readonly); entered later, after the user
    // switch, by prepareProcess.
    Fd cwd(k, resolve(k, root.fd, plan.cwd, CreateMissing::Directory));
    Fd null(k);  // opened for the first masked file
    for (const auto& p : plan.maskedPaths) {
        int fd = k.openInRoot(root.fd, p, CreateMissing::No, true);
        if (fd == -ENOENT) continue;
        Fd f(k, fd);
        if (S_ISDIR(k.fileMode(f.fd, "masking " + p))) {
            mountOrThrow(k, "tmpfs", fdPath(f.fd), "tmpfs", MS_RDONLY, "", "masking " + p);
            continue;
        }
        if (null.fd < 0) null.fd = openNullDevice(k, root.fd, "masking " + p);
        mountOrThrow(k, fdPath(null.fd), fdPath(f.fd), "", MS_BIND, "", "masking " + p);
    }
    for (const auto& p : plan.readonlyPaths) {
        int fd = k.openInRoot(root.fd, p, CreateMissing::No, true);
        if (fd == -ENOENT) continue;
        {
            Fd f(k, fd);
            mountOrThrow(k, fdPath(f.fd), fdPath(f.fd), "", MS_BIND | MS_REC, "",
                         "making " + p + " read-only: binding it");
        }
        Fd again(k, resolve(k, root.fd, p, CreateMissing::No));
        mountOrThrow(k, "", fdPath(again.fd), "",
                     MS_BIND | MS_REMOUNT | MS_RDONLY | k.lockedMountFlags(again.fd), "",
                     "making " + p + " read-only");
    }
    if (plan.readonly) {
        mountOrThrow(k, "", "/", "", MS_BIND | MS_REMOUNT | MS_RDONLY | k.lockedMountFlags(root.fd),
                     "", "making the rootfs read-only");
    }
    // Last: an (r)unbindable tree would refuse the binds above (masks, read-only paths).
    if (plan.finalPropagation)
        mountOrThrow(k, "", "/", "", *plan.finalPropagation, "",
                     "applying linux.rootfsPropagation to /");
}

void bindConsole(const RootfsPlan& plan, int slaveFd) {
    LinuxRootfsKernel k;
    bindConsole(plan, slaveFd, k);
}

void bindConsole(const RootfsPlan& plan, int slaveFd, RootfsKernel& k) {
    if (!plan.consoleOnDev) return;
    const std::string what = "process.terminal: binding the pty onto /dev/console";
    Fd root(k, k.open("/", O_PATH | O_DIRECTORY, what + ": opening the container's /"));
    {
        // O_EXCL: an existing name, a dangling link included, is never followed to create.
        Fd dev(k, openParentDir(k, root.fd, "/dev", what));
        int made = k.openAt(dev.fd, "console", O_CREAT | O_EXCL | O_RDONLY | O_NOFOLLOW, 0600);
        if (made < 0 && made != -EEXIST) throwSys(what + ": creating /dev/console", -made);
        if (made >= 0) k.close(made);
    }
    int fd = openDevNode(k, root.fd, "console", what);
    if (fd < 0) throwSys(what + ": opening /dev/console", -fd);
    Fd target(k, fd);
    mode_t mode = k.fileMode(target.fd, what + ": /dev/console");
    if (!S_ISREG(mode) && !S_ISCHR(mode))
        throw Error(what + ": /dev/console in the container is " + nodeKind(mode) +
                    "; caprun binds the pty only onto a file or a character device, never "
                    "through a link");
    // By fds end to end: the pty is the tree, the node opened above is the mount point.
    Fd tree(k, k.openTreeCloneOfFd(slaveFd));
    if (tree.fd < 0) throwSys(what + ": cloning the pty (open_tree)", -tree.fd);
    k.moveMount(tree.fd, target.fd, what);
}

}  // namespace caprun
