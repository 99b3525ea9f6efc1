#include "caprun/lost_container.hpp"

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <sstream>
#include <thread>

#include "caprun/cgroup_freezers.hpp"
#include "caprun/cgroups.hpp"
#include "caprun/error.hpp"

namespace caprun {

ContainerHandle handleOf(const ContainerState& s) {
    return {s.pid, s.pidStartTime, s.cgroupPaths, s.systemdUnit, s.systemdUserBus};
}

std::string serializeHandle(const ContainerHandle& h) {
    std::string out = "pid " + std::to_string(h.pid) + "\n";
    out += "start " + std::to_string(h.pidStartTime) + "\n";
    for (const auto& [key, dir] : h.cgroupPaths) out += "cgroup " + key + " " + dir + "\n";
    if (!h.systemdUnit.empty())
        out += "unit " + std::string(h.systemdUserBus ? "user " : "system ") + h.systemdUnit + "\n";
    return out;
}

namespace {

bool number(const std::string& s) {
    return !s.empty() && s.size() <= 20 && s.find_first_not_of("0123456789") == std::string::npos;
}

}  // namespace

std::optional<ContainerHandle> parseHandle(std::string_view text) {
    ContainerHandle h;
    bool any = false;
    std::istringstream in{std::string(text)};
    std::string line;
    while (std::getline(in, line)) {
        auto sp = line.find(' ');
        if (sp == std::string::npos) continue;
        std::string key = line.substr(0, sp), rest = line.substr(sp + 1);
        if (key == "pid" && number(rest) && rest.size() <= 9) {
            h.pid = static_cast<pid_t>(std::stol(rest));
            any = h.pid > 0;
        } else if (key == "start" && number(rest)) {
            h.pidStartTime = std::stoull(rest);
        } else if (key == "cgroup") {
            auto sp2 = rest.find(' ');
            if (sp2 == std::string::npos || sp2 + 1 >= rest.size() || rest[sp2 + 1] != '/')
                continue;
            h.cgroupPaths[rest.substr(0, sp2)] = rest.substr(sp2 + 1);
            any = true;
        } else if (key == "unit") {
            auto sp2 = rest.find(' ');
            if (sp2 == std::string::npos) continue;
            h.systemdUserBus = rest.substr(0, sp2) == "user";
            h.systemdUnit = rest.substr(sp2 + 1);
        }
    }
    if (!any) return std::nullopt;
    return h;
}

LostContainerSearch planLostContainerSearch(const std::string& id,
                                            const std::optional<ContainerHandle>& handle,
                                            const CgroupHost& host, const std::string& execFifo) {
    LostContainerSearch s;
    s.id = id;
    s.execFifo = execFifo;
    auto add = [&](const std::map<std::string, std::string>& paths) {
        if (paths.empty()) return;
        if (std::find(s.cgroups.begin(), s.cgroups.end(), paths) == s.cgroups.end())
            s.cgroups.push_back(paths);
    };
    if (handle) {
        add(handle->cgroupPaths);
        if (handle->pid > 0) s.pids.emplace_back(handle->pid, handle->pidStartTime);
        s.systemdUnit = handle->systemdUnit;
        s.systemdUserBus = handle->systemdUserBus;
    }
    if (!host.mounts.empty()) {
        // Both are paths caprun itself names after the id; nothing else lives there.
        add(Cgroup::place(host, "", id).paths());
        add(Cgroup::place(host, "/system.slice/caprun-" + id + ".scope", id).paths());
    }
    return s;
}

bool LinuxProcessTable::alive(pid_t pid, std::uint64_t startTime) {
    return processAlive(pid, startTime);
}

std::vector<pid_t> LinuxProcessTable::holdersOf(const std::string& path) {
    std::vector<pid_t> out;
    DIR* proc = ::opendir("/proc");
    if (proc == nullptr) return out;
    while (dirent* e = ::readdir(proc)) {
        std::string name = e->d_name;
        if (!number(name)) continue;
        std::string fdDir = "/proc/" + name + "/fd";
        DIR* fds = ::opendir(fdDir.c_str());
        if (fds == nullptr) continue;
        while (dirent* f = ::readdir(fds)) {
            if (f->d_name[0] == '.') continue;
            char buf[4096];
            std::string link = fdDir + "/" + f->d_name;
            ssize_t n = ::readlink(link.c_str(), buf, sizeof buf);
            if (n > 0 && std::string(buf, static_cast<std::size_t>(n)) == path) {
                out.push_back(static_cast<pid_t>(std::stol(name)));
                break;
            }
        }
        ::closedir(fds);
    }
    ::closedir(proc);
    return out;
}

void LinuxProcessTable::pause() {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

namespace {

// The cgroups a process is in, for the message that says where it still runs.
std::string whereIs(pid_t pid, CgroupKernel& k) {
    std::string text;
    if (k.readFile("/proc/" + std::to_string(pid) + "/cgroup", text) != 0) return "";
    std::string out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out += (out.empty() ? "" : ", ") + line;
    return out;
}

// The cgroups of `pid` (from /proc/<pid>/cgroup) whose directory caprun named after the
// container (its id, or the default systemd scope): where a found init was placed by a
// linux.cgroupsPath that nothing recorded. Other cgroups it is in are not the container's.
std::map<std::string, std::string> ownCgroupsOf(pid_t pid, const std::string& id,
                                                const CgroupHost& host, CgroupKernel& k) {
    std::map<std::string, std::string> out;
    std::string text;
    if (k.readFile("/proc/" + std::to_string(pid) + "/cgroup", text) != 0) return out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        auto first = line.find(':');
        auto second = first == std::string::npos ? first : line.find(':', first + 1);
        if (second == std::string::npos) continue;
        std::string controllers = line.substr(first + 1, second - first - 1);
        std::string path = line.substr(second + 1);
        std::string base = path.substr(path.rfind('/') + 1);
        if (base != id && base != "caprun-" + id + ".scope") continue;
        for (const auto& m : host.mounts) {
            std::string key;
            for (const auto& c : m.controllers) key += (key.empty() ? "" : ",") + c;
            if (m.unified ? !controllers.empty() : key != controllers) continue;
            std::string rel = path;
            if (m.root != "/") {
                if (rel.rfind(m.root, 0) != 0) continue;
                rel = rel.substr(m.root.size());
            }
            out[m.unified ? "unified" : key] = m.mountPoint + rel;
        }
    }
    return out;
}

}  // namespace

LostContainerOutcome killLostContainer(const LostContainerSearch& s, const CgroupHost& host,
                                       CgroupKernel& k, ProcessTable& procs) {
    LostContainerOutcome out;
    // Only the directories that exist: a hierarchy left out is no error.
    std::vector<Cgroup> cgroups;
    for (const auto& paths : s.cgroups) {
        std::map<std::string, std::string> existing;
        for (const auto& [key, dir] : paths)
            if (k.exists(dir)) existing[key] = dir;
        if (!existing.empty()) cgroups.emplace_back(existing, std::vector<std::string>{}, k);
    }
    auto inCgroups = [&] {
        std::set<pid_t> pids;
        for (const auto& cg : cgroups) {
            try {
                for (pid_t p : cg.pids()) pids.insert(p);
            } catch (const Error& e) {
                out.warnings.push_back(e.what());
            }
        }
        return pids;
    };
    std::set<pid_t> found = inCgroups();
    for (const auto& [pid, start] : s.pids)
        if (procs.alive(pid, start)) found.insert(pid);
    if (!s.execFifo.empty())
        for (pid_t p : procs.holdersOf(s.execFifo)) found.insert(p);
    for (pid_t p : found) {
        out.killed.push_back("pid " + std::to_string(p));
        auto own = ownCgroupsOf(p, s.id, host, k);
        bool known = own.empty();
        for (const auto& cg : cgroups) known |= cg.paths() == own;
        if (!known) cgroups.emplace_back(own, std::vector<std::string>{}, k);
    }

    for (const auto& cg : cgroups) {
        try {
            cg.killAll(SIGKILL);
        } catch (const Error& e) {
            out.warnings.push_back(e.what());
        }
    }
    for (pid_t p : found)
        if (int err = k.kill(p, SIGKILL); err != 0 && err != ESRCH)
            out.warnings.push_back("sending SIGKILL to pid " + std::to_string(p) + ": " +
                                   errnoText(err));
    // A frozen process keeps a pending SIGKILL until it is thawed, wherever it is frozen.
    for (pid_t p : found) {
        try {
            thawFreezersOf(p, host, k);
        } catch (const Error& e) {
            out.warnings.push_back(e.what());
        }
    }

    std::set<pid_t> left;
    for (int i = 0; i < 1000; ++i) {
        left.clear();
        for (pid_t p : found)
            if (procs.alive(p, 0)) left.insert(p);
        for (pid_t p : inCgroups())
            if (procs.alive(p, 0)) left.insert(p);
        if (left.empty()) break;
        // Forked meanwhile: killed too.
        for (pid_t p : left)
            if (!found.count(p)) {
                found.insert(p);
                k.kill(p, SIGKILL);
            }
        procs.pause();
    }
    for (pid_t p : left) {
        std::string where = whereIs(p, k);
        out.stillRunning.push_back("pid " + std::to_string(p) +
                                   (where.empty() ? "" : " (cgroups " + where + ")"));
    }
    if (!out.clean()) return out;
    for (const auto& cg : cgroups) {
        try {
            cg.destroy();
        } catch (const Error& e) {
            out.warnings.push_back(e.what());
        }
    }
    return out;
}

}  // namespace caprun
