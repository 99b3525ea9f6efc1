#include "caprun/cgroup_freezers.hpp"

#include <algorithm>
#include <sstream>

#include "caprun/error.hpp"

namespace caprun {

namespace {

std::string trimmed(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
}

// The directories from `dir` up to (and including) `top`, deepest first.
void withAncestors(std::string dir, const std::string& top, bool v2, std::vector<FreezerDir>& out) {
    for (;;) {
        out.push_back({dir, v2});
        if (dir.size() <= top.size()) return;
        auto slash = dir.rfind('/');
        if (slash == std::string::npos || slash < top.size()) return;
        dir.resize(slash);
    }
}

}  // namespace

std::vector<FreezerDir> freezerDirsOf(const std::string& procPidCgroup, const CgroupHost& host) {
    std::vector<FreezerDir> out;
    std::istringstream in(procPidCgroup);
    std::string line;
    while (std::getline(in, line)) {
        // "<id>:<controllers>:<path>"; the path may itself contain ':'.
        auto first = line.find(':');
        if (first == std::string::npos) continue;
        auto second = line.find(':', first + 1);
        if (second == std::string::npos) continue;
        std::string controllers = line.substr(first + 1, second - first - 1);
        std::string path = line.substr(second + 1);
        const CgroupMount* m = nullptr;
        bool v2 = controllers.empty();
        if (v2) {
            m = host.unifiedMount();
        } else {
            std::istringstream names(controllers);
            std::string c;
            while (std::getline(names, c, ','))
                if (c == "freezer") m = host.v1Mount("freezer");
        }
        if (m == nullptr || path.empty() || path[0] != '/') continue;
        // The mount shows the hierarchy from its root; a path outside it cannot be reached.
        std::string rel = path;
        if (m->root != "/") {
            if (rel.rfind(m->root, 0) != 0) continue;
            rel = rel.substr(m->root.size());
        }
        if (rel == "/") rel.clear();
        withAncestors(m->mountPoint + rel, m->mountPoint, v2, out);
    }
    return out;
}

std::vector<std::string> thawFreezersOf(pid_t pid, const CgroupHost& host, CgroupKernel& k) {
    std::string text;
    if (k.readFile("/proc/" + std::to_string(pid) + "/cgroup", text) != 0) return {};
    std::vector<std::string> written;
    for (const auto& f : freezerDirsOf(text, host)) {
        std::string state;
        std::string file = f.dir + (f.v2 ? "/cgroup.freeze" : "/freezer.self_freezing");
        if (k.readFile(file, state) != 0 || trimmed(state) != "1") continue;
        std::string target = f.v2 ? file : f.dir + "/freezer.state";
        std::string value = f.v2 ? "0" : "THAWED";
        if (int err = k.writeFile(target, value); err != 0)
            throwSys(
                "thawing pid " + std::to_string(pid) + ": writing \"" + value + "\" to " + target,
                err);
        written.push_back(target);
    }
    return written;
}

}  // namespace caprun
