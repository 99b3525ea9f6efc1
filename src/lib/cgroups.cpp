#include "caprun/cgroups.hpp"

#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <optional>
#include <sstream>
#include <thread>

#include "caprun/cgroup_fs.hpp"
#include "caprun/error.hpp"
#include "caprun/log.hpp"

namespace caprun {

using namespace cgfs;

namespace {

std::vector<std::string> controllersOfKey(const std::string& key) {
    return split(key, ',');
}

// The messages of cgfs::readFile and cgfs::writeFile, through the kernel interface.
std::string readFile(CgroupKernel& k, const std::string& path) {
    std::string text;
    if (int err = k.readFile(path, text)) throwSys("reading " + path, err);
    return text;
}

void writeFile(CgroupKernel& k, const std::string& path, const std::string& value,
               const std::string& what) {
    if (int err = k.writeFile(path, value))
        throwSys(
            (what.empty() ? std::string() : what + ": ") + "writing \"" + value + "\" to " + path,
            err);
}

// Reads the pids of `dir` and all cgroups below it.
void collectPids(CgroupKernel& k, const std::string& dir, std::vector<pid_t>& out) {
    std::string text;
    try {
        text = readFile(k, dir + "/cgroup.procs");
    } catch (const Error&) {
        if (!k.exists(dir)) return;
        throw;
    }
    std::istringstream in(text);
    long pid;
    while (in >> pid) out.push_back(static_cast<pid_t>(pid));
    std::vector<std::string> children;
    if (k.listDirectories(dir, children) != 0) return;
    for (const auto& name : children) collectPids(k, dir + "/" + name, out);
}

// The child cgroups of dir; nullopt when dir does not exist.
std::optional<std::vector<std::string>> childCgroups(CgroupKernel& k, const std::string& dir) {
    std::vector<std::string> children;
    if (int err = k.listDirectories(dir, children)) {
        if (err == ENOENT) return std::nullopt;
        throwSys("opening cgroup " + dir + " to remove it", err);
    }
    return children;
}

// Why a parent directory must stay ("" when nothing uses it), or nullopt when it is gone.
std::optional<std::string> parentInUse(CgroupKernel& k, const std::string& dir) {
    auto children = childCgroups(k, dir);
    if (!children) return std::nullopt;
    if (!children->empty())
        return "in use by " + std::to_string(children->size()) + " cgroup" +
               (children->size() == 1 ? "" : "s") + " below it";
    if (k.exists(dir + "/cgroup.procs") && !trim(readFile(k, dir + "/cgroup.procs")).empty())
        return "processes are in it";
    return "";
}

void removeCgroupDir(CgroupKernel& k, const std::string& dir) {
    auto children = childCgroups(k, dir);
    if (!children) return;
    for (const auto& c : *children) removeCgroupDir(k, dir + "/" + c);
    // Tasks that were just killed may still be listed for a moment; retry EBUSY.
    for (int attempt = 0;; ++attempt) {
        int err = k.rmdir(dir);
        if (err == 0 || err == ENOENT) return;
        if (err != EBUSY || attempt >= 500) throwSys("removing cgroup " + dir, err);
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

}  // namespace

Cgroup Cgroup::place(const CgroupHost& host, const std::string& cgroupsPath, const std::string& id,
                     CgroupKernel& kernel) {
    std::string path = cgroupsPath.empty() ? "caprun/" + id : cgroupsPath;
    if (path.find("..") != std::string::npos)
        throw Error("linux.cgroupsPath \"" + path + "\" must not contain \"..\"");
    if (path.find(':') != std::string::npos && path[0] != '/')
        throw Error("linux.cgroupsPath \"" + path +
                    "\" is in systemd's slice:prefix:name form, which needs the systemd cgroup "
                    "manager (--systemd-cgroup); the cgroupfs manager takes absolute or "
                    "relative directories");
    std::map<std::string, std::string> paths;
    for (const auto& m : host.mounts) {
        std::string selfKey = m.unified ? "" : (m.controllers.empty() ? "" : m.controllers[0]);
        std::string inHierarchy;
        if (path[0] == '/') {
            inHierarchy = path;
        } else {
            auto it = host.selfPaths.find(selfKey);
            inHierarchy = joinPath(it == host.selfPaths.end() ? "/" : it->second, path);
        }
        // The mount shows the hierarchy from m.root; paths are below that.
        std::string rel = inHierarchy;
        if (m.root != "/" && rel.rfind(m.root, 0) == 0) rel = rel.substr(m.root.size());
        std::string key;
        if (m.unified) {
            key = kUnified;
        } else {
            for (const auto& c : m.controllers) key += (key.empty() ? "" : ",") + c;
        }
        paths[key] = joinPath(m.mountPoint, rel);
    }
    Cgroup cg(std::move(paths), {}, kernel);
    if (cgroupsPath.empty())
        for (const auto& [key, dir] : cg.paths_)
            cg.sharedParents_.push_back(dir.substr(0, dir.find_last_of('/')));
    return cg;
}

namespace {

std::string parentOf(const std::string& dir) {
    auto slash = dir.find_last_of('/');
    return slash == 0 || slash == std::string::npos ? "/" : dir.substr(0, slash);
}

// The root of the cgroup hierarchy holding `dir` (which may not exist yet): the topmost
// ancestor on the same filesystem as the deepest existing one.
std::string hierarchyRoot(CgroupKernel& k, const std::string& dir) {
    std::string cur = dir;
    std::optional<dev_t> dev;
    while (!(dev = k.deviceOf(cur))) {
        if (cur == "/") return cur;
        cur = parentOf(cur);
    }
    for (;;) {
        std::string up = parentOf(cur);
        if (up == cur) return cur;
        auto upDev = k.deviceOf(up);
        if (!upDev || *upDev != *dev) return cur;
        cur = up;
    }
}

// Serialises, across every caprun on the host, making and removing the parent directories
// containers share (the default caprun/) and handing out realtime budget: without it a
// delete could rmdir a parent between a concurrent create's mkdir of the parent and of its
// own directory. A flock on the root of the first hierarchy, which every caprun on this
// host sees the same.
class TreeLock {
  public:
    TreeLock(CgroupKernel& k, const std::map<std::string, std::string>& paths) : k_(k) {
        if (paths.empty()) return;
        fd_ = k.lockDirectory(hierarchyRoot(k, paths.begin()->second));
    }
    ~TreeLock() {
        if (fd_ >= 0) k_.unlock(fd_);
    }
    TreeLock(const TreeLock&) = delete;
    TreeLock& operator=(const TreeLock&) = delete;

  private:
    CgroupKernel& k_;
    int fd_ = -1;
};

std::int64_t readInt(CgroupKernel& k, const std::string& path) {
    std::string text = trim(readFile(k, path));
    try {
        return std::stoll(text);
    } catch (const std::exception&) {
        throw Error(path + ": expected a number, read \"" + text + "\"");
    }
}

// Gives the ancestors of the v1 cpu directory `dir` the realtime budget it needs for
// runtimeUs per periodUs (planRtBudget decides; the caller holds the TreeLock).
void giveRtBudget(CgroupKernel& k, const std::string& dir, std::uint64_t periodUs,
                  std::int64_t runtimeUs, const std::string& what) {
    const std::string rt = "/cpu.rt_runtime_us", period = "/cpu.rt_period_us";
    std::string root = hierarchyRoot(k, dir);
    if (!k.exists(root + rt))
        throw Error(what +
                    " is set but this kernel has no realtime group scheduling "
                    "(CONFIG_RT_GROUP_SCHED): " +
                    root + rt + " does not exist");
    if (dir == root) return;
    std::vector<std::string> ancestors;
    for (std::string cur = parentOf(dir);; cur = parentOf(cur)) {
        ancestors.push_back(cur);
        if (cur == root || cur == "/") break;
    }
    std::reverse(ancestors.begin(), ancestors.end());
    std::vector<RtGroup> chain;
    for (std::size_t i = 0; i < ancestors.size(); ++i) {
        const std::string& a = ancestors[i];
        std::string next = i + 1 < ancestors.size() ? ancestors[i + 1] : dir;
        RtGroup g{a, static_cast<std::uint64_t>(readInt(k, a + period)), readInt(k, a + rt), {}};
        for (const auto& c : childCgroups(k, a).value_or(std::vector<std::string>{})) {
            std::string cd = a + "/" + c;
            if (cd == next || !k.exists(cd + rt)) continue;
            g.otherChildren.emplace_back(static_cast<std::uint64_t>(readInt(k, cd + period)),
                                         readInt(k, cd + rt));
        }
        chain.push_back(std::move(g));
    }
    for (const auto& w : planRtBudget(chain, periodUs, runtimeUs, what))
        writeFile(k, w.dir + rt, std::to_string(w.runtimeUs),
                  what + ": giving the parent cgroup the realtime budget the container needs");
}

// Creates `dir` and its missing parents; returns the ones it created, top first.
std::vector<std::string> mkdirs(CgroupKernel& k, const std::string& dir) {
    std::vector<std::string> missing;
    std::string cur = dir;
    while (!cur.empty() && cur != "/" && !k.exists(cur)) {
        missing.push_back(cur);
        cur = cur.substr(0, cur.find_last_of('/'));
    }
    std::reverse(missing.begin(), missing.end());
    std::vector<std::string> created;
    for (const auto& d : missing) {
        int err = k.mkdir(d);
        if (err == 0) {
            created.push_back(d);
        } else if (err != EEXIST) {  // EEXIST: another container made it meanwhile, not ours
            for (auto it = created.rbegin(); it != created.rend(); ++it) k.rmdir(*it);
            throwSys("creating cgroup " + d, err);
        }
    }
    return created;
}

}  // namespace

void Cgroup::create() {
    CgroupKernel& k = *kernel_;
    TreeLock lock(k, paths_);
    std::vector<std::string> created;
    try {
        for (const auto& [key, dir] : paths_) {
            auto made = mkdirs(k, dir);
            created.insert(created.end(), made.begin(), made.end());
            auto ctl = controllersOfKey(key);
            if (std::find(ctl.begin(), ctl.end(), "cpuset") != ctl.end()) {
                // A new v1 cpuset starts with empty cpus and mems and cannot take tasks:
                // copy them down from the parent, as runc does.
                for (const auto& d : made) {
                    std::string parent = d.substr(0, d.find_last_of('/'));
                    for (const char* f : {"cpuset.cpus", "cpuset.mems"})
                        if (trim(readFile(k, d + "/" + f)).empty())
                            writeFile(k, d + "/" + f, trim(readFile(k, parent + "/" + f)), "");
                }
            }
            // On a pure v2 host, delegate the parents' controllers down to the new
            // directories so the container's directory gets memory, cpu, ... files. On a
            // hybrid host the resources live in the v1 hierarchies (as runc does): enabling
            // a controller in the unified root would pin it there, and an administrator could
            // no longer move it to v1 (crun needs hugetlb moved on these machines). Best
            // effort: a parent with processes in it cannot delegate (EBUSY); the later write
            // of a resource file then says which file is missing.
            if (key == kUnified && paths_.size() == 1) {
                for (const auto& d : made) {
                    std::string parent = d.substr(0, d.find_last_of('/'));
                    std::string avail;
                    try {
                        avail = trim(readFile(k, parent + "/cgroup.controllers"));
                    } catch (const Error&) {
                        continue;
                    }
                    for (const auto& c : split(avail, ' ')) {
                        if (c.empty()) continue;
                        if (int err = k.writeFile(parent + "/cgroup.subtree_control", "+" + c))
                            log::debug("cannot enable " + c + " in " + parent +
                                       "/cgroup.subtree_control: " + errnoText(err));
                    }
                }
            }
        }
    } catch (...) {
        for (auto it = created.rbegin(); it != created.rend(); ++it) k.rmdir(*it);
        throw;
    }
    createdParents_.clear();
    for (const auto& d : created) {
        bool leaf = false;
        for (const auto& [key, dir] : paths_) leaf = leaf || d == dir;
        if (!leaf) createdParents_.push_back(d);
    }
    // The default caprun/ is every caprun container's and stays for the next one (making and
    // removing it on every run costs a mkdir and rmdir per hierarchy and, for cpuset, kernel
    // text patching); removeIdleSharedParents() is its explicit cleanup.
    std::erase_if(createdParents_, [&](const std::string& d) {
        return std::find(sharedParents_.begin(), sharedParents_.end(), d) != sharedParents_.end();
    });
}

std::string Cgroup::unifiedDir() const {
    auto it = paths_.find(kUnified);
    return it == paths_.end() ? std::string() : it->second;
}

void Cgroup::enter(pid_t pid, bool inUnifiedAlready) const {
    for (const auto& [key, dir] : paths_)
        if (!(inUnifiedAlready && key == kUnified))
            writeFile(*kernel_, dir + "/cgroup.procs", std::to_string(pid),
                      "moving pid " + std::to_string(pid) + " into its cgroup");
}

void Cgroup::apply(const Resources& r, const std::vector<Device>& linuxDevices,
                   bool applyDevices) const {
    CgroupKernel& k = *kernel_;
    // Rebuild the host view from our own directories: which controllers are v1 hierarchies
    // and which the unified directory offers.
    CgroupHost host;
    bool v1 = false;
    for (const auto& [key, dir] : paths_) {
        CgroupMount m;
        m.mountPoint = dir;
        m.root = "/";
        if (key == kUnified) {
            m.unified = true;
            try {
                for (const auto& c : split(trim(readFile(k, dir + "/cgroup.controllers")), ' '))
                    if (!c.empty()) m.controllers.push_back(c);
            } catch (const Error&) {
            }
        } else {
            v1 = true;
            m.controllers = controllersOfKey(key);
        }
        host.mounts.push_back(std::move(m));
    }
    if (host.mounts.empty()) return;
    host.hugepageSizes = k.hugepageSizes();
    bool v2 = host.unifiedMount() != nullptr;
    host.layout = v1 && v2 ? CgroupLayout::Hybrid : (v2 ? CgroupLayout::V2 : CgroupLayout::V1);

    auto dirOf = [&](const std::string& controller) -> std::string {
        if (controller == kUnified) return paths_.at(kUnified);
        for (const auto& [key, dir] : paths_) {
            auto c = controllersOfKey(key);
            if (std::find(c.begin(), c.end(), controller) != c.end()) return dir;
        }
        throw Error("no cgroup directory for controller " + controller);
    };

    if (r.memory && r.memory->checkBeforeUpdate.value_or(false) && r.memory->limit &&
        *r.memory->limit > 0) {
        // Refuse to set a limit below what the container already uses.
        std::string dir = dirOf(host.hasV1("memory") ? "memory" : kUnified);
        std::string usageFile = host.hasV1("memory") ? "memory.usage_in_bytes" : "memory.current";
        auto usage = std::stoll(trim(readFile(k, dir + "/" + usageFile)));
        if (usage > *r.memory->limit)
            throw Error("linux.resources.memory.limit (" + std::to_string(*r.memory->limit) +
                        ") is below the container's current memory usage (" +
                        std::to_string(usage) + ") and checkBeforeUpdate is set");
    }

    CgroupPlan plan = planResourceWrites(r, host);
    for (const auto& n : plan.notApplied) log::warn("not applied on this host: " + n);
    std::optional<TreeLock> rtLock;
    for (const auto& w : plan.writes) {
        if (w.file != "cpu.rt_runtime_us" || w.controller == kUnified) continue;
        std::string dir = dirOf(w.controller);
        std::uint64_t period = r.cpu->realtimePeriod.value_or(0);
        if (period == 0) period = static_cast<std::uint64_t>(readInt(k, dir + "/cpu.rt_period_us"));
        rtLock.emplace(k, paths_);  // held until the container's own write is done
        giveRtBudget(k, dir, period, *r.cpu->realtimeRuntime, w.what);
    }
    for (std::size_t i = 0; i < plan.writes.size(); ++i) {
        const auto& w = plan.writes[i];
        std::string path = dirOf(w.controller) + "/" + w.file;
        if (w.optional && !k.exists(path)) {
            log::warn(w.what + ": not applied, " + path + " does not exist on this host");
            continue;
        }
        int err = k.writeFile(path, w.value);
        if (err == EINVAL && w.file == "memory.limit_in_bytes" && i + 1 < plan.writes.size() &&
            plan.writes[i + 1].file == "memory.memsw.limit_in_bytes") {
            // Raising both: memory+swap must go up first (the kernel keeps memsw >= memory).
            const auto& sw = plan.writes[i + 1];
            std::string swPath = dirOf(sw.controller) + "/" + sw.file;
            if (k.exists(swPath)) writeFile(k, swPath, sw.value, sw.what);
            err = k.writeFile(path, w.value);
        }
        if (err != 0) throwSys(w.what + ": writing \"" + w.value + "\" to " + path, err);
    }

    if (!applyDevices) return;
    auto rules = effectiveDeviceRules(r.devices, linuxDevices);
    if (host.hasV1("devices")) {
        std::string dir = dirOf("devices");
        for (const auto& [file, line] : v1DeviceLines(rules))
            writeFile(k, dir + "/" + file, line, "device cgroup rule");
    } else if (v2) {
        attachDeviceFilter(paths_.at(kUnified), deviceFilterProgram(rules), k);
    }
}

void Cgroup::checkControllers(const Resources& r) const {
    auto it = paths_.find(kUnified);
    if (it == paths_.end() || paths_.size() != 1) return;
    auto avail = availableControllers(it->second, *kernel_);
    checkV2Controllers(r, avail.controllers, avail.file);
}

namespace {

std::string freezerDir(const std::map<std::string, std::string>& paths) {
    for (const auto& [key, dir] : paths) {
        auto c = controllersOfKey(key);
        if (std::find(c.begin(), c.end(), "freezer") != c.end()) return dir;
    }
    return "";
}

}  // namespace

void Cgroup::freeze() const {
    CgroupKernel& k = *kernel_;
    std::string v1 = freezerDir(paths_);
    if (!v1.empty()) {
        // FREEZING can take a while when tasks are busy in the kernel; rewrite until FROZEN.
        for (int attempt = 0; attempt < 1000; ++attempt) {
            writeFile(k, v1 + "/freezer.state", "FROZEN", "pausing");
            if (trim(readFile(k, v1 + "/freezer.state")) == "FROZEN") return;
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        writeFile(k, v1 + "/freezer.state", "THAWED", "undoing a pause that did not complete");
        throw Error("pausing: " + v1 + "/freezer.state did not reach FROZEN");
    }
    auto it = paths_.find(kUnified);
    if (it == paths_.end() || !k.exists(it->second + "/cgroup.freeze"))
        throw Error(
            "pausing needs the freezer: this container's cgroup has neither a v1 "
            "freezer nor cgroup.freeze (cgroup v2)");
    writeFile(k, it->second + "/cgroup.freeze", "1", "pausing");
    for (int attempt = 0; attempt < 2000; ++attempt) {
        if (readFile(k, it->second + "/cgroup.events").find("frozen 1") != std::string::npos)
            return;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    writeFile(k, it->second + "/cgroup.freeze", "0", "undoing a pause that did not complete");
    throw Error("pausing: " + it->second + "/cgroup.events never reported frozen 1");
}

void Cgroup::thaw() const {
    CgroupKernel& k = *kernel_;
    std::string v1 = freezerDir(paths_);
    if (!v1.empty()) {
        writeFile(k, v1 + "/freezer.state", "THAWED", "resuming");
        return;
    }
    auto it = paths_.find(kUnified);
    if (it == paths_.end() || !k.exists(it->second + "/cgroup.freeze"))
        throw Error(
            "resuming needs the freezer: this container's cgroup has neither a v1 "
            "freezer nor cgroup.freeze (cgroup v2)");
    writeFile(k, it->second + "/cgroup.freeze", "0", "resuming");
}

bool Cgroup::frozen() const {
    CgroupKernel& k = *kernel_;
    std::string v1 = freezerDir(paths_);
    if (!v1.empty()) return trim(readFile(k, v1 + "/freezer.state")) != "THAWED";
    auto it = paths_.find(kUnified);
    if (it == paths_.end() || !k.exists(it->second + "/cgroup.freeze")) return false;
    return trim(readFile(k, it->second + "/cgroup.freeze")) == "1";
}

std::vector<pid_t> Cgroup::pids() const {
    // The unified hierarchy tracks every process; on v1 pick a hierarchy every container
    // uses.
    std::string dir;
    if (auto it = paths_.find(kUnified); it != paths_.end()) dir = it->second;
    for (const char* pref : {"pids", "freezer", "memory", "devices"}) {
        if (!dir.empty()) break;
        for (const auto& [key, d] : paths_) {
            auto c = controllersOfKey(key);
            if (std::find(c.begin(), c.end(), pref) != c.end()) dir = d;
        }
    }
    if (dir.empty() && !paths_.empty()) dir = paths_.begin()->second;
    std::vector<pid_t> out;
    if (!dir.empty()) collectPids(*kernel_, dir, out);
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

void Cgroup::killAll(int sig) const {
    CgroupKernel& k = *kernel_;
    // cgroup v2's cgroup.kill (Linux 5.14+) kills the whole subtree at once, processes forked
    // meanwhile and frozen ones included; the unified hierarchy holds every process, hybrid too.
    if (sig == SIGKILL) {
        auto it = paths_.find(kUnified);
        if (it != paths_.end() && k.exists(it->second + "/cgroup.kill")) {
            std::string file = it->second + "/cgroup.kill";
            int err = k.writeFile(file, "1");
            // ENOENT: the cgroup went meanwhile, with its last process (systemd removes an
            // emptied scope's cgroup itself), so nothing is left to kill. ENODEV: it is being
            // removed right now (kernfs refuses files of a node on its way out).
            bool gone = (err == ENOENT && !k.exists(it->second)) || err == ENODEV;
            if (err != 0 && !gone)
                throwSys("killing every process of the container: writing \"1\" to " + file, err);
            return;
        }
    }
    for (pid_t pid : pids())
        if (int err = k.kill(pid, sig); err != 0 && err != ESRCH)
            throwSys("sending signal " + std::to_string(sig) + " to pid " + std::to_string(pid),
                     err);
}

void Cgroup::destroy() const {
    CgroupKernel& k = *kernel_;
    for (const auto& [key, dir] : paths_) removeCgroupDir(k, dir);
    if (createdParents_.empty()) return;
    TreeLock lock(k, paths_);
    // Deepest first. A parent with a child cgroup or a process of its own is in use by
    // someone else and stays; otherwise it is removed like the container's own directory
    // (the kernel reports EBUSY until the child just removed has gone offline).
    for (auto it = createdParents_.rbegin(); it != createdParents_.rend(); ++it) {
        try {
            auto why = parentInUse(k, *it);
            if (why && why->empty()) removeCgroupDir(k, *it);
        } catch (const Error& e) {
            log::warn(std::string("leaving the cgroup create made: ") + e.what());
        }
    }
}

std::vector<SharedParentCleanup> Cgroup::removeIdleSharedParents() const {
    CgroupKernel& k = *kernel_;
    std::vector<SharedParentCleanup> out;
    if (sharedParents_.empty()) return out;
    TreeLock lock(k, paths_);
    for (const auto& dir : sharedParents_) {
        try {
            auto why = parentInUse(k, dir);
            if (!why) continue;
            if (!why->empty()) {
                out.push_back({dir, false, *why});
                continue;
            }
            removeCgroupDir(k, dir);
            out.push_back({dir, true, ""});
        } catch (const Error& e) {
            out.push_back({dir, false, e.what(), true});
        }
    }
    return out;
}

}  // namespace caprun
