#include "caprun/idmap.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "caprun/error.hpp"
#include "caprun/rootfs.hpp"

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

bool hasUserNamespace(const Spec& spec) {
    if (!spec.linux) return false;
    for (const auto& n : spec.linux->namespaces)
        if (n.type == "user") return true;
    return false;
}

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
int userNamespaceFd(const PlannedMount& m, const std::string& what) {
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
        writeMap(pid, "uid_map", mapText(m.uidMappings), what);
        writeMap(pid, "gid_map", mapText(m.gidMappings), what);
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

}  // namespace

std::string idmapRefusal(const Spec& spec, const Mount& m, bool newUserNamespace) {
    bool wants = false, bind = m.type == "bind";
    for (const auto& o : m.options) {
        wants |= o == "idmap" || o == "ridmap";
        bind |= o == "bind" || o == "rbind";
    }
    bool mapped = !m.uidMappings.empty() || !m.gidMappings.empty();
    if (!wants) return mapped ? "uidMappings/gidMappings need the idmap or ridmap option" : "";
    if (!bind) return "idmap and ridmap apply to bind mounts only";
    if (mapped && (m.uidMappings.empty() || m.gidMappings.empty()))
        return "an idmapped mount needs both uidMappings and gidMappings (or neither)";
    if (!mapped && !(newUserNamespace && spec.linux && !spec.linux->uidMappings.empty() &&
                     !spec.linux->gidMappings.empty()))
        return "idmap needs the mount's uidMappings and gidMappings, or a new user namespace "
               "with linux.uidMappings/gidMappings to take them from";
    return "";
}

void planIdmap(const Spec& spec, const Mount& m, bool newUserNamespace, PlannedMount& pm) {
    if (std::string why = idmapRefusal(spec, m, newUserNamespace || hasUserNamespace(spec));
        !why.empty())
        throw Error("config.json: " + m.jsonPath + ": " + why);
    if (!pm.options.idmap && !pm.options.ridmap) return;
    pm.uidMappings = m.uidMappings.empty() ? spec.linux->uidMappings : m.uidMappings;
    pm.gidMappings = m.gidMappings.empty() ? spec.linux->gidMappings : m.gidMappings;
}

void openIdmappedTrees(RootfsPlan& plan) {
    for (auto& m : plan.mounts) {
        if (!m.options.idmap && !m.options.ridmap) continue;
        std::string what =
            "idmapped mount of " + m.source + " on " + m.destination + " (" + m.jsonPath + ")";
        int userns = userNamespaceFd(m, what);
        unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
                         (m.options.recursive || m.options.ridmap ? AT_RECURSIVE : 0);
        int tree = static_cast<int>(::syscall(SYS_open_tree, AT_FDCWD, m.source.c_str(), flags));
        if (tree < 0) {
            int err = errno;
            ::close(userns);
            throwSys(what + ": open_tree", err);
        }
        MountAttrIdmap attr{MOUNT_ATTR_IDMAP, 0, 0, static_cast<std::uint64_t>(userns)};
        long r =
            ::syscall(SYS_mount_setattr, tree, "",
                      AT_EMPTY_PATH | (m.options.ridmap ? AT_RECURSIVE : 0), &attr, sizeof attr);
        int err = errno;
        ::close(userns);
        if (r < 0) {
            ::close(tree);
            if (err == EINVAL)
                throw Error(what + ": the filesystem of " + m.source +
                            " does not support idmapped mounts (mount_setattr MOUNT_ATTR_IDMAP: " +
                            std::strerror(err) + ")");
            throwSys(what + ": mount_setattr MOUNT_ATTR_IDMAP", err);
        }
        m.idmappedTree = tree;
    }
}

void closeIdmappedTrees(RootfsPlan& plan) {
    for (auto& m : plan.mounts) {
        if (m.idmappedTree >= 0) ::close(m.idmappedTree);
        m.idmappedTree = -1;
    }
}

void attachIdmappedTree(int treeFd, int targetFd, const std::string& what) {
    if (::syscall(SYS_move_mount, treeFd, "", targetFd, "",
                  MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
        throwErrno(what + ": attaching the idmapped tree (move_mount)");
}

}  // namespace caprun
