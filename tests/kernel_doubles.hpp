// Recording doubles of the rootfs, namespace and cgroup kernel interfaces: each call is
// recorded as text (name and arguments, fds shown as the path they were opened on), and a
// call can be made to fail with an errno. The rootfs and cgroup doubles keep a small fake
// filesystem so the executors see what the kernel would show them (a fresh mount covers
// what was below its mount point; a missing file is ENOENT).
#pragma once

#include <fcntl.h>
#include <linux/bpf.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cerrno>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "caprun/cgroup_kernel.hpp"
#include "caprun/error.hpp"
#include "caprun/namespace_kernel.hpp"
#include "caprun/rootfs_kernel.hpp"

namespace caprun::testing {

// The calls made and the failures asked for.
class Recorder {
  public:
    std::vector<std::string> calls;

    // The next `times` calls whose text starts with `prefix` fail with `err` (-1: all).
    void failOn(const std::string& prefix, int err, int times = 1) {
        failures_.push_back({prefix, err, times});
    }

    // The calls whose name (the first word) is one of `names`, in order.
    std::vector<std::string> only(const std::set<std::string>& names) const {
        std::vector<std::string> out;
        for (const auto& c : calls)
            if (names.count(c.substr(0, c.find_first_of(" (")))) out.push_back(c);
        return out;
    }

  protected:
    // Records `call`; returns the errno it was told to fail with, or 0.
    int record(const std::string& call) {
        calls.push_back(call);
        for (auto& f : failures_) {
            if (f.times == 0 || call.rfind(f.prefix, 0) != 0) continue;
            if (f.times > 0) --f.times;
            return f.err;
        }
        return 0;
    }
    // Records `call` and throws as the real kernel class would when it is to fail.
    void recordOrThrow(const std::string& call, const std::string& what) {
        if (int err = record(call)) throwSys(what, err);
    }

  private:
    struct Failure {
        std::string prefix;
        int err;
        int times;
    };
    std::vector<Failure> failures_;
};

inline std::string quoted(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out + "\"";
}

// MS_* flags as their names, lowest bit first: "MS_RDONLY|MS_BIND"; "0" for none.
inline std::string mountFlagNames(unsigned long flags) {
    static const std::pair<unsigned long, const char*> names[] = {
        {MS_RDONLY, "MS_RDONLY"},
        {MS_NOSUID, "MS_NOSUID"},
        {MS_NODEV, "MS_NODEV"},
        {MS_NOEXEC, "MS_NOEXEC"},
        {MS_SYNCHRONOUS, "MS_SYNC"},
        {MS_REMOUNT, "MS_REMOUNT"},
        {MS_MANDLOCK, "MS_MANDLOCK"},
        {MS_DIRSYNC, "MS_DIRSYNC"},
        {256, "MS_NOSYMFOLLOW"},
        {MS_NOATIME, "MS_NOATIME"},
        {MS_NODIRATIME, "MS_NODIRATIME"},
        {MS_BIND, "MS_BIND"},
        {MS_MOVE, "MS_MOVE"},
        {MS_REC, "MS_REC"},
        {MS_SILENT, "MS_SILENT"},
        {MS_POSIXACL, "MS_POSIXACL"},
        {MS_UNBINDABLE, "MS_UNBINDABLE"},
        {MS_PRIVATE, "MS_PRIVATE"},
        {MS_SLAVE, "MS_SLAVE"},
        {MS_SHARED, "MS_SHARED"},
        {MS_RELATIME, "MS_RELATIME"},
        {MS_I_VERSION, "MS_I_VERSION"},
        {MS_STRICTATIME, "MS_STRICTATIME"},
        {MS_LAZYTIME, "MS_LAZYTIME"},
    };
    std::string out;
    for (const auto& [bit, name] : names) {
        if (!(flags & bit)) continue;
        out += (out.empty() ? "" : "|") + std::string(name);
        flags &= ~bit;
    }
    if (flags) out += (out.empty() ? "" : "|") + std::to_string(flags);
    return out.empty() ? "0" : out;
}

// ---- rootfs ----

// Paths inside the container are shown as "rootfs:/dev/pts", host paths as they are.
class RecordingRootfsKernel : public RootfsKernel, public Recorder {
  public:
    // What exists inside the rootfs before the executor runs (path -> st_mode).
    std::map<std::string, mode_t> files = {{"/", S_IFDIR | 0755}};
    // What a fresh mount of a filesystem type shows below its mount point, relative to it:
    // "proc" -> {"/kcore": S_IFREG | 0400, ...}.
    std::map<std::string, std::map<std::string, mode_t>> contents;
    // Host paths a bind source can be: path -> st_mode (a directory when not listed).
    std::map<std::string, mode_t> hostFiles;
    // The device numbers of nodes inside the rootfs (made by mknodAt or listed here).
    std::map<std::string, dev_t> deviceNumbers;
    // The locked flags (lockedMountFlags) of the mount at a container path.
    std::map<std::string, unsigned long> lockedFlags;
    // /proc files (mountinfo, cgroup, cgroups).
    std::map<std::string, std::string> procFiles;
    bool ramfsRoot = false;

    static mode_t dir(mode_t perm = 0755) { return S_IFDIR | perm; }
    static mode_t file(mode_t perm = 0644) { return S_IFREG | perm; }

    int openInRoot(int /*rootFd*/, const std::string& path, CreateMissing create,
                   bool mayBeMissing) override {
        std::string p = clean(path);
        const char* how = create == CreateMissing::Directory ? " mkdir"
                          : create == CreateMissing::File    ? " create-file"
                                                             : "";
        if (int err = record("resolve rootfs:" + p + how)) throwSys("resolving " + p, err);
        if (!files.count(p)) {
            if (create == CreateMissing::No) {
                if (mayBeMissing) return -ENOENT;
                throwSys("resolving \"" + p + "\" inside the rootfs", ENOENT);
            }
            for (std::string up = parentOf(p); !files.count(up); up = parentOf(up))
                files[up] = dir();
            files[p] = create == CreateMissing::Directory ? dir() : file();
        }
        return newFd("rootfs:" + p, p);
    }
    int open(const std::string& path, int flags, const std::string& what) override {
        std::string name = nameOf(path);
        recordOrThrow("open " + name + ((flags & O_DIRECTORY) ? " O_DIRECTORY" : ""), what);
        return newFd(name, containerPathOf(path));
    }
    int openAt(int dirFd, const std::string& name, int flags, mode_t mode) override {
        std::string p = name == "." ? fds_.at(dirFd).path : join(fds_.at(dirFd).path, name);
        std::string shown = "rootfs:" + p;
        if (int err = record("openat " + shown + ((flags & O_CREAT) ? " O_CREAT" : "")))
            return -err;
        if (!files.count(p)) {
            if (!(flags & O_CREAT)) return -ENOENT;
            files[p] = S_IFREG | mode;
        } else if ((flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL)) {
            return -EEXIST;
        }
        return newFd(shown, p);
    }
    void close(int fd) override { fds_.erase(fd); }
    // The fds opened through this double and not closed.
    std::size_t openFds() const { return fds_.size(); }
    mode_t fileMode(int fd, const std::string& what) override {
        const Open& o = fds_.at(fd);
        recordOrThrow("fstat " + o.name, what);
        if (o.name.rfind("rootfs:", 0) == 0) return files.at(o.path);
        auto it = hostFiles.find(o.name);
        return it == hostFiles.end() ? dir() : it->second;
    }
    dev_t deviceNumber(int fd, const std::string& what) override {
        const Open& o = fds_.at(fd);
        recordOrThrow("fstat " + o.name, what);
        auto it = deviceNumbers.find(o.path);
        return it == deviceNumbers.end() ? 0 : it->second;
    }
    unsigned long lockedMountFlags(int fd) override {
        auto it = lockedFlags.find(fds_.at(fd).path);
        return it == lockedFlags.end() ? 0 : it->second;
    }
    bool rootIsRamfs() override { return ramfsRoot; }
    std::string readProcFile(const std::string& path) override {
        auto it = procFiles.find(path);
        return it == procFiles.end() ? "" : it->second;
    }
    int mount(const std::string& source, const std::string& target, const std::string& type,
              unsigned long flags, const std::string& data) override {
        std::string t = nameOf(target);
        if (int err =
                record("mount(" + quoted(nameOf(source)) + ", " + quoted(t) + ", " + quoted(type) +
                       ", " + mountFlagNames(flags) + ", " + quoted(data) + ")"))
            return err;
        // A new mount (not a remount, not a propagation change) covers its mount point.
        const unsigned long propagation = MS_SHARED | MS_SLAVE | MS_PRIVATE | MS_UNBINDABLE;
        if (!(flags & (MS_REMOUNT | propagation)) && t.rfind("rootfs:", 0) == 0)
            cover(t.substr(7), type);
        return 0;
    }
    void setRecursiveMountAttrs(int fd, const RecursiveMountAttrs& attrs,
                                const std::string& what) override {
        recordOrThrow("mount_setattr " + fds_.at(fd).name + " set=" + std::to_string(attrs.set) +
                          " clear=" + std::to_string(attrs.clear),
                      what);
    }
    void moveMount(int treeFd, int targetFd, const std::string& what) override {
        auto tree = fds_.find(treeFd);
        std::string shown =
            tree == fds_.end() ? "tree " + std::to_string(treeFd) : tree->second.name;
        recordOrThrow("move_mount " + shown + " to " + fds_.at(targetFd).name, what);
    }
    int mappingUserNamespace(const std::vector<IdMapping>& uids, const std::vector<IdMapping>& gids,
                             const std::string& what) override {
        std::string name = "userns(uid " + mapText(uids) + ", gid " + mapText(gids) + ")";
        recordOrThrow("unshare " + name, what);
        return newFd(name, "");
    }
    int openTreeClone(const std::string& path, bool recursive) override {
        if (int err = record("open_tree " + path + " OPEN_TREE_CLONE" +
                             (recursive ? "|AT_RECURSIVE" : "")))
            return -err;
        return newFd("tree:" + path, "");
    }
    // An fd not opened through this double (a pty) is shown as "fd N".
    int openTreeCloneOfFd(int fd) override {
        auto it = fds_.find(fd);
        std::string name = it == fds_.end() ? "fd " + std::to_string(fd) : it->second.name;
        if (int err = record("open_tree " + name + " OPEN_TREE_CLONE|AT_EMPTY_PATH")) return -err;
        return newFd("tree:" + name, "");
    }
    int setIdmap(int treeFd, int usernsFd, bool recursive) override {
        return record("mount_setattr " + fds_.at(treeFd).name + " MOUNT_ATTR_IDMAP " +
                      fds_.at(usernsFd).name + (recursive ? " AT_RECURSIVE" : ""));
    }
    void copyTree(int fromFd, int toFd, const std::string& what) override {
        recordOrThrow("copy " + fds_.at(fromFd).name + " to " + fds_.at(toFd).name, what);
    }
    int umount(const std::string& target, int flags) override {
        return record("umount2(" + quoted(target) + ", " +
                      (flags == MNT_DETACH ? "MNT_DETACH" : std::to_string(flags)) + ")");
    }
    int pivotRoot(const std::string& newRoot, const std::string& putOld) override {
        return record("pivot_root(" + quoted(newRoot) + ", " + quoted(putOld) + ")");
    }
    void chroot(const std::string& path, const std::string& what) override {
        recordOrThrow("chroot(" + quoted(path) + ")", what);
    }
    void chdir(const std::string& path, const std::string& what) override {
        recordOrThrow("chdir(" + quoted(path) + ")", what);
    }
    void fchdir(int fd, const std::string& what) override {
        recordOrThrow("fchdir(" + fds_.at(fd).name + ")", what);
    }
    int unlinkAt(int dirFd, const std::string& name) override {
        std::string p = join(fds_.at(dirFd).path, name);
        if (int err = record("unlink rootfs:" + p)) return err;
        return files.erase(p) ? 0 : ENOENT;
    }
    int mknodAt(int dirFd, const std::string& name, mode_t mode, dev_t dev) override {
        std::string p = join(fds_.at(dirFd).path, name);
        const char* type = S_ISCHR(mode) ? "S_IFCHR" : S_ISBLK(mode) ? "S_IFBLK" : "S_IFIFO";
        char perm[8];
        std::snprintf(perm, sizeof perm, "%04o", static_cast<unsigned>(mode & 07777));
        if (int err = record("mknod rootfs:" + p + " " + type + "|" + perm + " " +
                             std::to_string(major(dev)) + ":" + std::to_string(minor(dev))))
            return err;
        files[p] = mode;
        deviceNumbers[p] = dev;
        return 0;
    }
    int symlinkAt(const std::string& target, int dirFd, const std::string& name) override {
        std::string p = join(fds_.at(dirFd).path, name);
        if (int err = record("symlink rootfs:" + p + " -> " + target)) return err;
        files[p] = S_IFLNK | 0777;
        return 0;
    }
    void chmodAt(int dirFd, const std::string& name, mode_t mode,
                 const std::string& what) override {
        char perm[8];
        std::snprintf(perm, sizeof perm, "%04o", static_cast<unsigned>(mode));
        recordOrThrow("chmod rootfs:" + join(fds_.at(dirFd).path, name) + " " + perm, what);
    }
    void chownAt(int dirFd, const std::string& name, uid_t uid, gid_t gid,
                 const std::string& what) override {
        recordOrThrow("chown rootfs:" + join(fds_.at(dirFd).path, name) + " " +
                          std::to_string(uid) + ":" + std::to_string(gid),
                      what);
    }

  private:
    struct Open {
        std::string name;  // as shown in the calls
        std::string path;  // inside the rootfs ("" for a host path)
    };
    std::map<int, Open> fds_;
    int nextFd_ = 100;

    int newFd(const std::string& name, const std::string& path) {
        fds_[nextFd_] = {name, path};
        return nextFd_++;
    }
    static std::string mapText(const std::vector<IdMapping>& m) {
        std::string out;
        for (const auto& e : m)
            out += (out.empty() ? "" : ",") + std::to_string(e.containerID) + ":" +
                   std::to_string(e.hostID) + ":" + std::to_string(e.size);
        return out;
    }
    static std::string clean(const std::string& p) {
        std::string out;
        std::size_t i = 0;
        while (i < p.size()) {
            while (i < p.size() && p[i] == '/') ++i;
            std::size_t j = p.find('/', i);
            if (j == std::string::npos) j = p.size();
            std::string c = p.substr(i, j - i);
            if (!c.empty() && c != ".") out += "/" + c;
            i = j;
        }
        return out.empty() ? "/" : out;
    }
    static std::string parentOf(const std::string& p) {
        auto s = p.find_last_of('/');
        return s == 0 ? "/" : p.substr(0, s);
    }
    static std::string join(const std::string& dirPath, const std::string& name) {
        return dirPath == "/" ? "/" + name : dirPath + "/" + name;
    }
    // "/proc/self/fd/N" as the path fd N was opened on.
    std::string nameOf(const std::string& path) const {
        const std::string prefix = "/proc/self/fd/";
        if (path.rfind(prefix, 0) == 0) return fds_.at(std::stoi(path.substr(prefix.size()))).name;
        return path;
    }
    std::string containerPathOf(const std::string& path) const {
        const std::string prefix = "/proc/self/fd/";
        if (path.rfind(prefix, 0) == 0) return fds_.at(std::stoi(path.substr(prefix.size()))).path;
        return path == "/" ? "/" : "";
    }
    void cover(const std::string& at, const std::string& type) {
        std::string below = at == "/" ? "/" : at + "/";
        for (auto it = files.begin(); it != files.end();)
            it = it->first.rfind(below, 0) == 0 && it->first != at ? files.erase(it) : ++it;
        if (auto c = contents.find(type); c != contents.end())
            for (const auto& [rel, mode] : c->second) files[at == "/" ? rel : at + rel] = mode;
    }
};

// ---- namespaces ----

class RecordingNamespaceKernel : public NamespaceKernel, public Recorder {
  public:
    // The type (CLONE_NEW*) NS_GET_NSTYPE reports for a path; not listed: not a namespace.
    std::map<std::string, int> types;

    static std::string flagName(int flag) {
        static const std::pair<int, const char*> names[] = {
            {CLONE_NEWPID, "CLONE_NEWPID"},       {CLONE_NEWNS, "CLONE_NEWNS"},
            {CLONE_NEWNET, "CLONE_NEWNET"},       {CLONE_NEWIPC, "CLONE_NEWIPC"},
            {CLONE_NEWUTS, "CLONE_NEWUTS"},       {CLONE_NEWUSER, "CLONE_NEWUSER"},
            {CLONE_NEWCGROUP, "CLONE_NEWCGROUP"}, {CLONE_NEWTIME, "CLONE_NEWTIME"},
        };
        for (const auto& [f, n] : names)
            if (f == flag) return n;
        return std::to_string(flag);
    }

    int openNamespace(const std::string& path, const std::string& what) override {
        recordOrThrow("open " + path, what);
        fds_[nextFd_] = path;
        return nextFd_++;
    }
    int namespaceType(int fd) override {
        const std::string& path = fds_.at(fd);
        if (int err = record("ioctl NS_GET_NSTYPE " + path)) return -err;
        auto it = types.find(path);
        return it == types.end() ? -ENOTTY : it->second;
    }
    void close(int fd) override {
        record("close " + fds_.at(fd));
        fds_.erase(fd);
    }
    void setns(int fd, int nstype, const std::string& what) override {
        recordOrThrow("setns " + fds_.at(fd) + " " + flagName(nstype), what);
    }
    void unshare(int flags, const std::string& what) override {
        recordOrThrow("unshare " + flagName(flags), what);
    }
    void writeProcFile(const std::string& path, const std::string& text,
                       const std::string& what) override {
        recordOrThrow("write " + path + " " + quoted(text), what + ": writing to " + path);
    }
    void bringUpInterface(const std::string& name) override {
        recordOrThrow("ifup " + name, "bringing up " + name);
    }
    void runIdMapHelper(const std::string& program, int pid, const std::vector<std::string>& args,
                        const std::string& what) override {
        std::string line = program + " " + std::to_string(pid);
        for (const auto& a : args) line += " " + a;
        recordOrThrow(line, what);
    }

  private:
    std::map<int, std::string> fds_;
    int nextFd_ = 100;
};

// ---- cgroups ----

class RecordingCgroupKernel : public CgroupKernel, public Recorder {
  public:
    // The fake cgroupfs: directories, and files with their content.
    std::set<std::string> dirs;
    std::map<std::string, std::string> files;
    // The files the kernel puts in every new directory (name -> content).
    std::map<std::string, std::string> newDirFiles;
    std::vector<std::string> hugepages;
    std::vector<std::uint32_t> attachedFilters;  // ids BPF_PROG_QUERY reports

    int readFile(const std::string& path, std::string& out) override {
        if (int err = record("read " + path)) return err;
        auto it = files.find(path);
        if (it == files.end()) return ENOENT;
        out = it->second;
        return 0;
    }
    int writeFile(const std::string& path, const std::string& value) override {
        if (int err = record("write " + path + " " + quoted(value))) return err;
        auto it = files.find(path);
        if (it == files.end()) return ENOENT;  // cgroupfs files cannot be created
        it->second = value;
        return 0;
    }
    bool exists(const std::string& path) override {
        record("exists " + path);
        return dirs.count(path) || files.count(path);
    }
    int mkdir(const std::string& path) override {
        if (int err = record("mkdir " + path)) return err;
        if (!dirs.insert(path).second) return EEXIST;
        for (const auto& [name, content] : newDirFiles) files[path + "/" + name] = content;
        return 0;
    }
    int rmdir(const std::string& path) override {
        if (int err = record("rmdir " + path)) return err;
        return dirs.erase(path) ? 0 : ENOENT;
    }
    int listDirectories(const std::string& dir, std::vector<std::string>& names) override {
        names.clear();
        if (int err = record("list " + dir)) return err;
        if (!dirs.count(dir)) return ENOENT;
        for (const auto& d : dirs)
            if (d.size() > dir.size() + 1 && d.rfind(dir + "/", 0) == 0 &&
                d.find('/', dir.size() + 1) == std::string::npos)
                names.push_back(d.substr(dir.size() + 1));
        return 0;
    }
    std::optional<dev_t> deviceOf(const std::string& path) override {
        if (!dirs.count(path) && !files.count(path)) return std::nullopt;
        // The fake has one cgroup filesystem; "/" is another.
        return path == "/" ? 1 : 2;
    }
    int lockDirectory(const std::string& dir) override {
        recordOrThrow("flock " + dir, "locking the cgroup tree (flock on " + dir + ")");
        return 1;
    }
    void unlock(int) override { record("unlock"); }
    int kill(pid_t pid, int sig) override {
        return record("kill " + std::to_string(pid) + " " + std::to_string(sig));
    }
    std::vector<std::string> hugepageSizes() override { return hugepages; }
    int openCgroup(const std::string& dir, const std::string& what) override {
        recordOrThrow("open " + dir, what);
        return 50;
    }
    void close(int) override {}
    std::vector<std::uint32_t> attachedDeviceFilters(int) override {
        record("bpf BPF_PROG_QUERY");
        return attachedFilters;
    }
    int loadDeviceFilter(const std::vector<bpf_insn>& prog) override {
        recordOrThrow("bpf BPF_PROG_LOAD " + std::to_string(prog.size()) + " insns",
                      "loading the cgroup v2 device filter (BPF_PROG_LOAD)");
        loaded.push_back(prog);
        return 51;
    }
    void attachDeviceFilter(int, int, const std::string& dir) override {
        recordOrThrow("bpf BPF_PROG_ATTACH " + dir + " BPF_F_ALLOW_MULTI",
                      "attaching the device filter to " + dir + " (BPF_PROG_ATTACH)");
    }
    int detachDeviceFilter(int, std::uint32_t progId) override {
        return record("bpf BPF_PROG_DETACH id " + std::to_string(progId));
    }

    std::vector<std::vector<bpf_insn>> loaded;  // the programs given to BPF_PROG_LOAD
};

}  // namespace caprun::testing
