#include "caprun/mount_attr.hpp"
#include "caprun/sys/unique_fd.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "caprun/error.hpp"

#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#define MOUNT_ATTR_NOSUID 0x00000002
#define MOUNT_ATTR_NODEV 0x00000004
#define MOUNT_ATTR_NOEXEC 0x00000008
#define MOUNT_ATTR__ATIME 0x00000070
#define MOUNT_ATTR_RELATIME 0x00000000
#define MOUNT_ATTR_NOATIME 0x00000010
#define MOUNT_ATTR_STRICTATIME 0x00000020
#define MOUNT_ATTR_NODIRATIME 0x00000080
#endif
#ifndef MOUNT_ATTR_NOSYMFOLLOW
#define MOUNT_ATTR_NOSYMFOLLOW 0x00200000
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif

namespace caprun {

namespace {

struct RecWord {
    const char* name;
    std::uint64_t set, clear;
};

// An atime mode is a value inside MOUNT_ATTR__ATIME: setting one clears the field first.
// ratime / rnorelatime / rnostrictatime go back to the kernel's default, relatime.
constexpr RecWord kRecWords[] = {
    {"rro", MOUNT_ATTR_RDONLY, 0},
    {"rrw", 0, MOUNT_ATTR_RDONLY},
    {"rnosuid", MOUNT_ATTR_NOSUID, 0},
    {"rsuid", 0, MOUNT_ATTR_NOSUID},
    {"rnodev", MOUNT_ATTR_NODEV, 0},
    {"rdev", 0, MOUNT_ATTR_NODEV},
    {"rnoexec", MOUNT_ATTR_NOEXEC, 0},
    {"rexec", 0, MOUNT_ATTR_NOEXEC},
    {"rnodiratime", MOUNT_ATTR_NODIRATIME, 0},
    {"rdiratime", 0, MOUNT_ATTR_NODIRATIME},
    {"rrelatime", MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME},
    {"rnorelatime", MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME},
    {"ratime", MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME},
    {"rnoatime", MOUNT_ATTR_NOATIME, MOUNT_ATTR__ATIME},
    {"rstrictatime", MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME},
    {"rnostrictatime", MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME},
    {"rnosymfollow", MOUNT_ATTR_NOSYMFOLLOW, 0},
    {"rsymfollow", 0, MOUNT_ATTR_NOSYMFOLLOW},
};

constexpr const char* kRecNames[] = {"rro",          "rrw",        "rnosuid",      "rsuid",
                                     "rnodev",       "rdev",       "rnoexec",      "rexec",
                                     "rnodiratime",  "rdiratime",  "rrelatime",    "rnorelatime",
                                     "ratime",       "rnoatime",   "rstrictatime", "rnostrictatime",
                                     "rnosymfollow", "rsymfollow", nullptr};

struct ExtraFlag {
    const char* name;
    bool clear;
    unsigned long flag;
};

constexpr ExtraFlag kExtraFlags[] = {
    {"nosymfollow", false, MS_NOSYMFOLLOW}, {"symfollow", true, MS_NOSYMFOLLOW},
    {"lazytime", false, MS_LAZYTIME},       {"nolazytime", true, MS_LAZYTIME},
    {"iversion", false, MS_I_VERSION},      {"noiversion", true, MS_I_VERSION},
    {"silent", false, MS_SILENT},           {"loud", true, MS_SILENT},
};

struct MountAttr {
    std::uint64_t attr_set, attr_clr, propagation, userns_fd;
};

struct Dir {
    DIR* d;
    ~Dir() {
        if (d) ::closedir(d);
    }
};

void copyMeta(int fd, const struct stat& st, const std::string& what) {
    if (::fchown(fd, st.st_uid, st.st_gid) < 0) throwErrno(what + ": fchown");
    if (::fchmod(fd, st.st_mode & 07777) < 0) throwErrno(what + ": fchmod");
    const struct timespec times[2] = {st.st_atim, st.st_mtim};
    if (::futimens(fd, times) < 0) throwErrno(what + ": futimens");
}

void copyFile(int fromDir, int toDir, const char* name, const struct stat& st,
              const std::string& what) {
    UniqueFd in(::openat(fromDir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (in.fd < 0) throwErrno(what + ": opening");
    UniqueFd out(::openat(toDir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (out.fd < 0) throwErrno(what + ": creating the copy");
    std::vector<char> buf(64 * 1024);
    for (;;) {
        ssize_t n = ::read(in.fd, buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throwErrno(what + ": reading");
        if (n == 0) break;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = ::write(out.fd, buf.data() + off, static_cast<std::size_t>(n - off));
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) throwErrno(what + ": writing the copy");
            off += w;
        }
    }
    copyMeta(out.fd, st, what);
}

}  // namespace

const char* const* recursiveMountOptionNames() {
    return kRecNames;
}

bool addRecursiveMountOption(const std::string& option, RecursiveMountAttrs& attrs) {
    for (const auto& w : kRecWords) {
        if (option != w.name) continue;
        if (w.clear & MOUNT_ATTR__ATIME) {
            attrs.set &= ~static_cast<std::uint64_t>(MOUNT_ATTR__ATIME);
            attrs.clear |= MOUNT_ATTR__ATIME;
            attrs.set |= w.set;
        } else {
            attrs.set = (attrs.set & ~w.clear) | w.set;
            attrs.clear = (attrs.clear & ~w.set) | w.clear;
        }
        return true;
    }
    return false;
}

bool addExtraMountFlag(const std::string& option, unsigned long& flags) {
    for (const auto& f : kExtraFlags) {
        if (option != f.name) continue;
        if (f.clear)
            flags &= ~f.flag;
        else
            flags |= f.flag;
        return true;
    }
    return false;
}

void applyRecursiveMountAttrs(int fd, const RecursiveMountAttrs& attrs, const std::string& what) {
    MountAttr a{attrs.set, attrs.clear, 0, 0};
    if (::syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof a) < 0) {
        int err = errno;
        if (err == ENOSYS)
            throw Error(what +
                        ": recursive mount options need mount_setattr (Linux 5.12 or later)");
        throwSys(what + ": applying its recursive options (mount_setattr AT_RECURSIVE)", err);
    }
}

void copyTree(int fromFd, int toFd, const std::string& what) {
    int dupFd = ::fcntl(fromFd, F_DUPFD_CLOEXEC, 0);
    if (dupFd < 0) throwErrno(what + ": reading the directory");
    Dir dir{::fdopendir(dupFd)};
    if (!dir.d) {
        int err = errno;
        ::close(dupFd);
        throwSys(what + ": reading the directory", err);
    }
    while (struct dirent* e = ::readdir(dir.d)) {
        const char* name = e->d_name;
        if (std::strcmp(name, ".") == 0 || std::strcmp(name, "..") == 0) continue;
        std::string entry = what + ": " + name;
        struct stat st {};
        if (::fstatat(fromFd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) throwErrno(entry);
        if (S_ISDIR(st.st_mode)) {
            if (::mkdirat(toFd, name, 0700) < 0) throwErrno(entry + ": mkdir");
            UniqueFd from(::openat(fromFd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
            UniqueFd to(::openat(toFd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
            if (from.fd < 0 || to.fd < 0) throwErrno(entry + ": opening");
            copyTree(from.fd, to.fd, entry);
            copyMeta(to.fd, st, entry);
        } else if (S_ISREG(st.st_mode)) {
            copyFile(fromFd, toFd, name, st, entry);
        } else if (S_ISLNK(st.st_mode)) {
            std::vector<char> target(static_cast<std::size_t>(st.st_size) + 1);
            ssize_t n = ::readlinkat(fromFd, name, target.data(), target.size());
            if (n < 0) throwErrno(entry + ": readlink");
            target[static_cast<std::size_t>(n)] = '\0';
            if (::symlinkat(target.data(), toFd, name) < 0) throwErrno(entry + ": symlink");
            if (::fchownat(toFd, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
                throwErrno(entry + ": lchown");
        } else {
            // fifos, sockets, device nodes: the node itself, not its contents.
            if (::mknodat(toFd, name, st.st_mode, st.st_rdev) < 0) throwErrno(entry + ": mknod");
            if (::fchownat(toFd, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
                throwErrno(entry + ": chown");
        }
    }
}

}  // namespace caprun
