// The kernel calls the rootfs executor (rootfs.hpp) makes, behind an interface so a unit
// test can record them and make one fail. Calls whose errno the executor decides on return
// it (0 on success); the others throw caprun::Error "<what>: <errno text>" with the `what`
// the executor passes.
//
// Path resolution inside the rootfs is one call (openInRoot): it is the walk that keeps
// every destination below the rootfs, creating missing components when asked; the
// double records it as one step instead of each openat/mkdirat of the walk.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "caprun/mount_attr.hpp"
#include "caprun/spec.hpp"

namespace caprun {

enum class CreateMissing { No, Directory, File };

class RootfsKernel {
  public:
    virtual ~RootfsKernel() = default;

    // An O_PATH|O_CLOEXEC fd of `path` resolved below `rootFd` (see openInRoot in
    // rootfs.hpp), or -ENOENT for a missing path when `mayBeMissing` and nothing is created.
    virtual int openInRoot(int rootFd, const std::string& path, CreateMissing create,
                           bool mayBeMissing) = 0;
    // open(path, flags | O_CLOEXEC); throws "<what>: ...".
    virtual int open(const std::string& path, int flags, const std::string& what) = 0;
    // openat(dirFd, name, flags | O_CLOEXEC, mode): the fd, or -errno.
    virtual int openAt(int dirFd, const std::string& name, int flags, mode_t mode) = 0;
    virtual void close(int fd) = 0;
    // fstat's st_mode; throws "<what>: ...".
    virtual mode_t fileMode(int fd, const std::string& what) = 0;
    // fstat's st_rdev (the device a character or block node stands for); throws "<what>: ...".
    virtual dev_t deviceNumber(int fd, const std::string& what) = 0;
    // MS_NOSUID, MS_NODEV, MS_NOEXEC and MS_RDONLY of the mount `fd` is on (fstatvfs), the
    // flags a bind remount must keep; 0 when they cannot be read.
    virtual unsigned long lockedMountFlags(int fd) = 0;
    // Whether / is a ramfs or tmpfs (an initramfs root, where pivot_root is impossible).
    virtual bool rootIsRamfs() = 0;
    // The text of a /proc file (mountinfo, cgroup, cgroups); "" when it cannot be read.
    virtual std::string readProcFile(const std::string& path) = 0;

    // mount(2); empty source, type and data are passed as NULL. 0 or errno.
    virtual int mount(const std::string& source, const std::string& target, const std::string& type,
                      unsigned long flags, const std::string& data) = 0;
    // mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE); throws "<what>: ...".
    virtual void setRecursiveMountAttrs(int fd, const RecursiveMountAttrs& attrs,
                                        const std::string& what) = 0;
    // move_mount of a detached tree onto targetFd; throws "<what>: ...".
    virtual void moveMount(int treeFd, int targetFd, const std::string& what) = 0;
    // Idmapped mounts, made in the runtime before clone (idmap.hpp): an fd of a user
    // namespace holding these mappings, made for the purpose (throws "<what>: ..."); a
    // detached clone of the tree at `path` (open_tree OPEN_TREE_CLONE, AT_RECURSIVE when
    // `recursive`): the fd, or -errno; the mapping of `usernsFd` given to a detached tree
    // (mount_setattr MOUNT_ATTR_IDMAP, to every mount below it when `recursive`): 0 or errno.
    virtual int mappingUserNamespace(const std::vector<IdMapping>& uids,
                                     const std::vector<IdMapping>& gids,
                                     const std::string& what) = 0;
    virtual int openTreeClone(const std::string& path, bool recursive) = 0;
    // A detached bind of the file `fd` is open on (open_tree AT_EMPTY_PATH|OPEN_TREE_CLONE),
    // no path involved: the fd, or -errno.
    virtual int openTreeCloneOfFd(int fd) = 0;
    virtual int setIdmap(int treeFd, int usernsFd, bool recursive) = 0;
    // tmpcopyup: the tree below fromFd copied into toFd; throws "<what>: ...".
    virtual void copyTree(int fromFd, int toFd, const std::string& what) = 0;
    // umount2(target, flags): 0 or errno.
    virtual int umount(const std::string& target, int flags) = 0;
    // pivot_root(newRoot, putOld): 0 or errno.
    virtual int pivotRoot(const std::string& newRoot, const std::string& putOld) = 0;
    // chroot / chdir / fchdir; throw "<what>: ...".
    virtual void chroot(const std::string& path, const std::string& what) = 0;
    virtual void chdir(const std::string& path, const std::string& what) = 0;
    virtual void fchdir(int fd, const std::string& what) = 0;

    // unlinkat / mknodat / symlinkat below dirFd: 0 or errno.
    virtual int unlinkAt(int dirFd, const std::string& name) = 0;
    virtual int mknodAt(int dirFd, const std::string& name, mode_t mode, dev_t dev) = 0;
    virtual int symlinkAt(const std::string& target, int dirFd, const std::string& name) = 0;
    // fchmodat / fchownat (not following a symlink); throw "<what>: ...".
    virtual void chmodAt(int dirFd, const std::string& name, mode_t mode,
                         const std::string& what) = 0;
    virtual void chownAt(int dirFd, const std::string& name, uid_t uid, gid_t gid,
                         const std::string& what) = 0;
};

// The real kernel.
class LinuxRootfsKernel final : public RootfsKernel {
  public:
    int openInRoot(int rootFd, const std::string& path, CreateMissing create,
                   bool mayBeMissing) override;
    int open(const std::string& path, int flags, const std::string& what) override;
    int openAt(int dirFd, const std::string& name, int flags, mode_t mode) override;
    void close(int fd) override;
    mode_t fileMode(int fd, const std::string& what) override;
    dev_t deviceNumber(int fd, const std::string& what) override;
    unsigned long lockedMountFlags(int fd) override;
    bool rootIsRamfs() override;
    std::string readProcFile(const std::string& path) override;
    int mount(const std::string& source, const std::string& target, const std::string& type,
              unsigned long flags, const std::string& data) override;
    void setRecursiveMountAttrs(int fd, const RecursiveMountAttrs& attrs,
                                const std::string& what) override;
    void moveMount(int treeFd, int targetFd, const std::string& what) override;
    int mappingUserNamespace(const std::vector<IdMapping>& uids, const std::vector<IdMapping>& gids,
                             const std::string& what) override;
    int openTreeClone(const std::string& path, bool recursive) override;
    int openTreeCloneOfFd(int fd) override;
    int setIdmap(int treeFd, int usernsFd, bool recursive) override;
    void copyTree(int fromFd, int toFd, const std::string& what) override;
    int umount(const std::string& target, int flags) override;
    int pivotRoot(const std::string& newRoot, const std::string& putOld) override;
    void chroot(const std::string& path, const std::string& what) override;
    void chdir(const std::string& path, const std::string& what) override;
    void fchdir(int fd, const std::string& what) override;
    int unlinkAt(int dirFd, const std::string& name) override;
    int mknodAt(int dirFd, const std::string& name, mode_t mode, dev_t dev) override;
    int symlinkAt(const std::string& target, int dirFd, const std::string& name) override;
    void chmodAt(int dirFd, const std::string& name, mode_t mode, const std::string& what) override;
    void chownAt(int dirFd, const std::string& name, uid_t uid, gid_t gid,
                 const std::string& what) override;
};

}  // namespace caprun
