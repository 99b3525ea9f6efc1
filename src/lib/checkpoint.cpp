// checkpoint and restore orchestration: facts probed, checkpoint_plan.hpp's planner asked,
// then one CRIU request through criu_swrk.hpp, with create's rollback on restore so a failure
// leaves no state directory, cgroup, mount or process.
#include "caprun/checkpoint.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>

#include "caprun/cgroup_host.hpp"
#include "caprun/cgroup_placement.hpp"
#include "caprun/container_process.hpp"
#include "caprun/create_rollback.hpp"
#include "caprun/criu_swrk.hpp"
#include "caprun/error.hpp"
#include "caprun/json.hpp"
#include "caprun/lifecycle.hpp"
#include "caprun/log.hpp"
#include "caprun/namespaces.hpp"
#include "caprun/state.hpp"
#include "caprun/sys/atomic_write.hpp"
#include "caprun/sys/read_file.hpp"
#include "caprun/sys/unique_fd.hpp"

namespace caprun {

namespace {

std::string currentDir() {
    std::error_code ec;
    auto p = std::filesystem::current_path(ec);
    if (ec) throw Error("reading the current directory: " + ec.message());
    return p.string();
}

UniqueFd openDir(const std::string& path, const std::string& what) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd.fd < 0) throwErrno(what + " " + path);
    return fd;
}

void makeDirs(const std::string& path, const std::string& what) {
    std::error_code ec;
    std::filesystem::create_directories(path, ec);
    if (ec) throw Error(what + " " + path + ": " + ec.message());
}

// CRIU's cr_errmsg is its first error, often a harmless one (it cannot raise its own
// RLIMIT_NOFILE without CAP_SYS_RESOURCE): the log's last error is the one that failed it.
std::string lastLogError(const std::string& log) {
    std::string text;
    if (sys::readFileInto(log, text) < 0) return "";
    std::string last;
    std::size_t at = 0;
    while ((at = text.find("Error (", at)) != std::string::npos) {
        auto end = text.find('\n', at);
        last = text.substr(at, end == std::string::npos ? std::string::npos : end - at);
        at = end == std::string::npos ? text.size() : end;
    }
    return last;
}

std::string criuFailure(const std::string& what, const CriuResponse& r, const CriuRequest& req) {
    const std::string log = req.workDir + "/" + req.logFile;
    std::string out = what + ": CRIU failed";
    std::string last = lastLogError(log);
    std::string msg = r.errmsg;
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    if (!last.empty())
        out += ": " + last;
    else if (!msg.empty())
        out += ": " + msg;
    if (r.crErrno) out += std::string(" (") + std::strerror(r.crErrno) + ")";
    return out + "; see " + log;
}

// Inodes of the joined namespace files, which dump marks external.
std::map<std::string, ino_t> joinedNamespaceInodes(const Spec& spec) {
    std::map<std::string, ino_t> out;
    for (const auto& n : spec.linux->namespaces) {
        if (n.path.empty()) continue;
        struct stat st {};
        if (::stat(n.path.c_str(), &st) == 0) out[n.path] = st.st_ino;
    }
    return out;
}

// The init's fds 0..2: link text, mount id and inode (a closed one is skipped).
std::vector<StdioFact> initStdio(pid_t pid) {
    std::vector<StdioFact> out;
    const std::string proc = "/proc/" + std::to_string(pid);
    for (int fd = 0; fd < 3; ++fd) {
        std::string link = proc + "/fd/" + std::to_string(fd);
        char buf[4096];
        ssize_t n = ::readlink(link.c_str(), buf, sizeof buf - 1);
        if (n < 0) continue;
        StdioFact f;
        f.link.assign(buf, static_cast<std::size_t>(n));
        struct stat st {};
        if (::stat(link.c_str(), &st) == 0) f.inode = st.st_ino;
        std::string info;
        if (sys::readFileInto(proc + "/fdinfo/" + std::to_string(fd), info) >= 0)
            if (auto at = info.find("mnt_id:"); at != std::string::npos)
                f.mntId = std::atoi(info.c_str() + at + 7);
        out.push_back(f);
    }
    return out;
}

std::vector<std::string> readDescriptors(const std::string& imagesDir) {
    std::string path = imagesDir + "/descriptors.json";
    std::string text;
    if (sys::readFileInto(path, text) < 0)
        throwErrno("restore: reading " + path + " (written by checkpoint next to the images)");
    json::Document parsed = json::parse(text, path);
    const rapidjson::Value& doc = *parsed.doc;
    if (!doc.IsArray())
        throw Error(path + ": expected an array of strings, got " + json::typeName(doc));
    std::vector<std::string> out;
    for (const auto& v : doc.GetArray()) {
        if (!v.IsString()) throw Error(path + ": expected an array of strings");
        out.emplace_back(v.GetString(), v.GetStringLength());
    }
    return out;
}

// The checkpointed rootfs bound on <state>/<id>/criu-root for CRIU's --root, as runc does:
// CRIU pivots into a mount point. Unmounted and removed on every way out.
struct CriuRoot {
    std::string dir;
    bool mounted = false;
    CriuRoot(const std::string& rootfs, const std::string& where) : dir(where) {
        if (::mkdir(dir.c_str(), 0700) < 0) throwErrno("restore: creating " + dir);
        if (::mount(rootfs.c_str(), dir.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0) {
            int e = errno;
            ::rmdir(dir.c_str());
            errno = e;
            throwErrno("restore: binding the rootfs " + rootfs + " on " + dir);
        }
        mounted = true;
    }
    // Once CRIU is done the restored tree has its own mount namespace: the bind goes.
    void remove() {
        if (mounted && ::umount2(dir.c_str(), MNT_DETACH) < 0)
            log::warn("restore: unmounting " + dir + ": " + std::strerror(errno));
        mounted = false;
        ::rmdir(dir.c_str());
    }
    ~CriuRoot() { remove(); }
};

bool pureCgroupV2() {
    struct statfs sf {};
    return ::statfs("/sys/fs/cgroup", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC;
}

std::map<std::string, std::string> restoredNamespacePaths(const Spec& spec, pid_t pid) {
    std::map<std::string, std::string> out;
    NamespacePlan ns = planNamespaces(spec);
    for (auto k : ns.create)
        out[namespaceName(k)] = "/proc/" + std::to_string(pid) + "/ns/" + namespaceProcName(k);
    for (const auto& j : ns.join) out[namespaceName(j.kind)] = j.path;
    return out;
}

std::string resolvedRootfs(const Spec& spec, const std::string& bundle) {
    if (spec.root.path.empty()) throw Error("restore: config.json: root.path: required");
    std::string p = spec.root.path.front() == '/' ? spec.root.path : bundle + "/" + spec.root.path;
    struct stat st {};
    if (::stat(p.c_str(), &st) < 0 || !S_ISDIR(st.st_mode))
        throw Error("restore: config.json: root.path: the rootfs " + p + " is not a directory");
    return p;
}

}  // namespace

std::string checkpointMissingReason() {
    return "";
}

void checkpointContainer(const RuntimeContext& g, const std::string& criuPath,
                         const CheckpointOptions& o) {
    StateStore store(g.root);
    ContainerLock lock = store.lockContainer(o.id);
    ContainerState st = store.load(o.id);
    ContainerStatus live = liveStatus(st);
    Spec spec = loadBundleSpec(st.bundle);
    CriuFacts facts;
    facts.rootless = g.rootlessMode || ::geteuid() != 0;
    if (spec.linux) facts.namespaceInodes = joinedNamespaceInodes(spec);
    facts.stdio = initStdio(st.pid);
    if (o.preDump && !facts.rootless) {
        CriuSwrk check(criuPath, {});
        facts.memTrack = check.featureCheckMemTrack().memTrack;
    }
    std::string cwd = currentDir();
    CriuRequest req = planCheckpoint(o, st, live, spec, facts, cwd);
    for (auto& m : cgroupExternalMounts(spec, st.cgroupPaths, pureCgroupV2(), false))
        req.extMounts.push_back(std::move(m));

    makeDirs(req.imagesDir, "checkpoint: creating the image directory");
    makeDirs(req.workDir, "checkpoint: creating the work directory");
    UniqueFd images = openDir(req.imagesDir, "checkpoint: opening the image directory");
    UniqueFd work = openDir(req.workDir, "checkpoint: opening the work directory");
    // runc's descriptors.json: restore binds the init's stdio to its own by these names.
    if (req.type == CriuRequestType::Dump)
        sys::writeFileAtomically(req.imagesDir + "/descriptors.json",
                                 descriptorsJson(req.descriptors), 0600,
                                 "checkpoint: writing descriptors.json");

    CriuSwrk criu(criuPath, {images.fd, work.fd});
    CriuResponse resp = criu.send(req, CriuFds{images.fd, work.fd, {}});
    criu.wait();
    if (!resp.success) throw Error(criuFailure("checkpoint of container " + o.id, resp, req));
    if (req.leaveRunning) return;
    // CRIU killed the container's processes once they were dumped; the container is gone and
    // its id free for restore, as after runc checkpoint.
    lock.release();
    deleteContainer(g, o.id, true);
}

int restoreContainer(const RuntimeContext& g, const std::string& criuPath,
                     const RestoreOptions& o) {
    StateStore::validateId(o.id);
    StateStore store(g.root);
    if (store.exists(o.id)) throw Error("restore: container " + o.id + " already exists");
    std::string bundle = absolutePath(o.bundle);
    Spec spec = loadBundleSpec(bundle);
    std::string rootfs = resolvedRootfs(spec, bundle);
    std::string cwd = currentDir();
    std::string imagesDir = checkpointImageDir(o.imagePath, cwd);
    struct stat sb {};
    if (::stat(imagesDir.c_str(), &sb) < 0 || !S_ISDIR(sb.st_mode))
        throw Error("restore: the image directory " + imagesDir + " does not exist");
    if (::stat((imagesDir + "/inventory.img").c_str(), &sb) < 0)
        throw Error("restore: " + imagesDir +
                    " holds no checkpoint (no inventory.img): not an image directory of "
                    "caprun or runc checkpoint");
    std::vector<std::string> descriptors = readDescriptors(imagesDir);
    CriuFacts facts;
    facts.rootless = g.rootlessMode || ::geteuid() != 0;
    CriuRequest req = planRestore(o, spec, rootfs, descriptors, facts, cwd);

    CgroupManager manager = selectCgroupManager(g);
    if (manager == CgroupManager::Systemd)
        throw Error(
            "restore: the systemd cgroup driver cannot restore yet: use --cgroup-manager "
            "cgroupfs");
    std::string policy = g.capPolicy.value_or("strict");
    CgroupPlacement cgroups = planCgroupPlacement(manager, g.rootlessMode, spec, o.id, policy);

    ContainerLock lock = store.createDir(o.id);
    CreateRollback rollback;
    rollback.store = &store;
    rollback.id = o.id;
    if (cgroups.manager == CgroupManager::Cgroupfs) {
        rollback.cgroup = cgroups.placed;
        rollback.cgroup.create();
        rollback.cgroupCreated = true;
        const Resources none;
        rollback.cgroup.apply(spec.linux->resources ? *spec.linux->resources : none,
                              spec.linux->devices, cgroups.deviceRules);
    }

    makeDirs(req.workDir, "restore: creating the work directory");
    UniqueFd images = openDir(req.imagesDir, "restore: opening the image directory");
    UniqueFd work = openDir(req.workDir, "restore: opening the work directory");
    std::vector<UniqueFd> nsFds;
    CriuFds fds{images.fd, work.fd, {}};
    std::vector<int> pass{images.fd, work.fd};
    for (const auto& [key, path] : req.inheritNamespaces) {
        UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        if (fd.fd < 0) throwErrno("restore: opening the namespace " + path);
        fds.inherit.emplace_back(key, fd.fd);
        pass.push_back(fd.fd);
        nsFds.push_back(std::move(fd));
    }
    for (const auto& [key, fd] : req.inheritStdio) fds.inherit.emplace_back(key, fd);

    CriuRoot criuRoot(rootfs, store.containerDir(o.id) + "/criu-root");
    req.root = criuRoot.dir;
    CriuSwrk criu(criuPath, pass);
    for (auto& m : cgroupExternalMounts(spec, rollback.cgroup.paths(), pureCgroupV2(), true))
        req.extMounts.push_back(std::move(m));
    // CRIU restores the tree into the cgroup it runs in (cg_root): the container's.
    if (rollback.cgroupCreated) {
        rollback.cgroup.enter(criu.pid());
        req.cgroupRoots =
            criuCgroupRoots(sys::readFile("/proc/" + std::to_string(criu.pid()) + "/cgroup"));
    }
    CriuResponse resp = criu.send(req, fds);
    criu.wait();
    criuRoot.remove();
    if (!resp.success || resp.restoredPid <= 0)
        throw Error(
            criuFailure("restore of container " + o.id + " from " + req.imagesDir, resp, req));
    pid_t pid = resp.restoredPid;
    rollback.pid = pid;

    ContainerState st;
    st.ociVersion = spec.ociVersion;
    st.id = o.id;
    st.pid = pid;
    st.pidStartTime = processStartTime(pid).value_or(0);
    st.bundle = bundle;
    st.rootfs = rootfs;
    st.created = log::nowRfc3339();
    st.owner = ownerName(::getuid());
    st.annotations = spec.annotations;
    st.status = ContainerStatus::Running;
    st.cgroupPaths = rollback.cgroup.paths();
    st.cgroupCreatedParents = rollback.cgroup.createdParents();
    st.namespacePaths = restoredNamespacePaths(spec, pid);
    st.ownPidNamespace = planNamespaces(spec).creates(NamespaceKind::Pid);
    st.capPolicy = policy;
    st.terminal = spec.process->terminal;
    st.poststop = spec.hooks.poststop;
    store.save(st);
    if (!o.pidFile.empty())
        sys::writeFileAtomically(absolutePath(o.pidFile), std::to_string(pid), 0644,
                                 "restore: writing the pid file");
    rollback.armed = false;
    if (o.detach) return 0;

    // Foreground: the restored init is caprun's child (rst_sibling); as a subreaper caprun
    // also reaps what the container leaves orphaned, unless --no-subreaper.
    if (!o.noSubreaper) ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    lock.release();
    installForwarders(pid, false);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) throwErrno("waiting for the restored container process");
    }
    stopForwarding();
    deleteContainer(g, o.id, true);
    return waitStatusToExitCode(status);
}

}  // namespace caprun
