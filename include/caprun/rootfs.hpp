// The container's filesystem: mount options as flags (pure), the mount plan, and the
// executor that builds the root inside the container's mount namespace.
//
// Safety: every destination is resolved inside the rootfs one component at a time with
// O_NOFOLLOW fds. Symlinks are followed the way the container will see them (an absolute
// target restarts at the rootfs, not at the host's /); a ".." that would climb above the
// rootfs — the classic escape via a symlinked destination — is an error, so nothing is ever
// mounted on the host. The mount itself targets /proc/self/fd/N of the resolved O_PATH fd.
//
// Root switch: pivot_root(".", ".") then a lazy unmount of the old root. Fallback
// (`--no-pivot`, or automatically when the current root is a ramfs/initramfs where
// pivot_root fails with EINVAL): MS_MOVE the rootfs onto / and chroot into it. The host's
// mounts then stay reachable for a process that can escape a chroot (CAP_SYS_CHROOT), as
// with runc --no-pivot, so it is only for hosts running from an initramfs.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "caprun/mount_attr.hpp"
#include "caprun/rootfs_kernel.hpp"
#include "caprun/spec.hpp"

namespace caprun {

// Mount options of one spec mount, split the way mount(2) wants them.
struct MountOptions {
    unsigned long flags = 0;        // MS_* for the mount itself (ro, nosuid, ...)
    unsigned long propagation = 0;  // MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE (| MS_REC)
    bool bind = false;
    bool recursive = false;  // rbind
    bool tmpcopyup = false;
    bool idmap = false, ridmap = false;  // an idmapped bind (ridmap: its submounts too)
    RecursiveMountAttrs recursiveAttrs;  // rro, rnosuid, ...: mount_setattr(AT_RECURSIVE)
    std::string data;                    // everything else, comma-joined: "size=65536k,mode=755"
};

// Pure. Unknown words become filesystem data, as runc does (an error for a bind, which
// takes no data).
MountOptions parseMountOptions(const std::vector<std::string>& options);

// "rslave" -> MS_SLAVE|MS_REC; throws naming `what` for an unknown name.
unsigned long propagationFlags(const std::string& name, const std::string& what);

enum class MountKind { Bind, Proc, Sysfs, Cgroup, Other };

struct PlannedMount {
    std::string destination;  // absolute inside the container
    std::string type;
    std::string source;  // bind: absolute host path (bundle-relative resolved)
    MountKind kind = MountKind::Other;
    MountOptions options;
    std::string jsonPath;
    std::vector<IdMapping> uidMappings, gidMappings;  // idmap: the mapping to apply
    int idmappedTree = -1;  // idmap: the detached, idmapped tree (idmap.hpp) to attach
};

struct PlannedDevice {
    std::string path;  // inside the container, e.g. /dev/null
    char type = 'c';   // c, b, u (= c), p
    long long major = 0, minor = 0;
    std::uint32_t fileMode = 0666;
    std::uint32_t uid = 0, gid = 0;
};

struct RootfsPlan {
    std::string rootfs;  // absolute host path
    bool readonly = false;
    unsigned long rootPropagation = 0;              // applied to / of the new mount namespace first
    std::optional<unsigned long> finalPropagation;  // linux.rootfsPropagation, after pivot
    std::vector<PlannedMount> mounts;
    std::vector<PlannedDevice> devices;  // defaults, then linux.devices (same path: spec wins)
    std::vector<std::pair<std::string, std::string>> devSymlinks;  // link path, target
    std::vector<std::string> maskedPaths, readonlyPaths;
    bool noPivot = false;
    bool inUserNamespace = false;  // mknod and v1 cgroup mounts are refused there: bind
    // Flags a device bound from the host gets on top of MS_BIND (in a user namespace:
    // MS_NOSUID|MS_NOEXEC, as crun does; a device node needs neither).
    unsigned long deviceBindFlags = 0;
    bool newCgroupNamespace = false;
    // False when linux.namespaces has no mount entry: the container shares the runtime's
    // mount namespace (as runc does: its mounts are made there, under the rootfs, and stay
    // after the container), so / keeps its propagation, the rootfs is not bound on itself
    // and the root switch is a chroot. Joining a mount namespace by path counts as its own.
    bool ownMountNamespace = true;
    // Bind sources are opened by the runtime (host root, in the container's mount
    // namespace) and passed in: from inside a new user namespace a source the mapped ids
    // cannot reach would fail with EACCES.
    bool sourcesFromRuntime = false;
    // process.terminal with a mount namespace of the container's own: the pty is bound on
    // /dev/console (bindConsole). Without one the bind would be a host mount outliving the
    // container; a note says it is not made.
    bool consoleOnDev = false;
    // process.cwd, created (if missing) before the root is made read-only.
    std::string cwd = "/";
    // What the plan changed so that a new user namespace can make a mount, or what of a
    // mount has no effect (check prints them).
    std::vector<std::string> notes;
    // The notes create also logs as warnings: what the config asks for and does not get.
    std::vector<std::string> warnings;
};

// Pure: the plan for a spec whose bundle directory is `bundle` (absolute).
// Without a mount namespace of its own (`ownMountNamespace` false) maskedPaths,
// readonlyPaths, root.readonly and rootfsPropagation are refused: they would change mounts
// of the host's namespace.
RootfsPlan planRootfs(const Spec& spec, const std::string& bundle, bool noPivot,
                      bool newUserNamespace, bool newCgroupNamespace,
                      bool ownMountNamespace = true);

// Pure: an absolute path with duplicate slashes, "." and trailing slashes removed and ".."
// applied lexically (never above /). Throws naming `jsonPath` for an empty or relative path.
std::string cleanAbsolutePath(const std::string& path, const std::string& jsonPath);

// The runc default devices, in order.
std::vector<PlannedDevice> defaultDevices();

// ---- executor (runs in the container's mount namespace) ----
// Each step goes through a RootfsKernel (rootfs_kernel.hpp); the overloads without one use
// LinuxRootfsKernel.

// Opens `path` (absolute or relative, always taken inside the root) below `rootFd` as an
// O_PATH|O_CLOEXEC fd, following symlinks inside the root and refusing any that climbs out
// ("... escapes the rootfs"). Missing components are created when asked (directories for
// the parents, then the last one as asked). Throws Error naming `path`.
int openInRoot(int rootFd, const std::string& path, CreateMissing create);

// Opens the source of plan.mounts[index] (a bind mount) and returns an O_PATH|O_CLOEXEC fd
// the caller of prepareRootfs closes after mounting.
using MountSourceOpener = std::function<int(std::size_t index)>;

// Called once by prepareRootfs before the first step that needs the process in its own
// cgroup: a cgroup mount (it shows the process's cgroup) or, at the latest, the device nodes
// (mknod is checked against the devices cgroup). The mounts before it overlap the runtime's
// cgroup placement, which can wait out an RCU grace period.
using CgroupBarrier = std::function<void()>;

// Before pivot: propagation of /, bind of the rootfs on itself, every mount in order,
// devices and /dev symlinks. Bind sources come from `openSource` when given, else they are
// opened here (O_PATH|O_CLOEXEC). The destination is always resolved inside the rootfs.
void prepareRootfs(const RootfsPlan& plan, const MountSourceOpener& openSource = {},
                   const CgroupBarrier& cgroupBarrier = {});
void prepareRootfs(const RootfsPlan& plan, RootfsKernel& kernel,
                   const MountSourceOpener& openSource = {},
                   const CgroupBarrier& cgroupBarrier = {});

// pivot_root (or, with --no-pivot or on a ramfs root where pivot_root is impossible,
// MS_MOVE + chroot). After it the process's root and cwd are the container's /.
void switchRoot(const RootfsPlan& plan);
void switchRoot(const RootfsPlan& plan, RootfsKernel& kernel);

// A missing process.cwd created (inside the root), masked and readonly paths, read-only
// root, then linux.rootfsPropagation: last, after sysctls were written.
void protectRootfs(const RootfsPlan& plan);
void protectRootfs(const RootfsPlan& plan, RootfsKernel& kernel);

// process.terminal: the container's pty (slaveFd, of the container's devpts) bound onto
// /dev/console, as the runtime spec asks. After switchRoot, before protectRootfs. A missing
// /dev/console is created as an empty file; one that is a link, a directory or another
// kind of node is refused, and the bind is made from fd to fd (open_tree + move_mount) so
// no path is resolved between the check and the mount (CVE-2025-52565).
// Does nothing unless plan.consoleOnDev.
void bindConsole(const RootfsPlan& plan, int slaveFd);
void bindConsole(const RootfsPlan& plan, int slaveFd, RootfsKernel& kernel);

}  // namespace caprun
