#include "caprun/intel_rdt.hpp"

#include <cctype>
#include <cerrno>
#include <cstring>
#include <map>
#include <sstream>

#include "caprun/error.hpp"
#include "caprun/json.hpp"

namespace caprun {

IntelRdt parseIntelRdt(const json::Node& n) {
    IntelRdt r;
    r.closID = n.optString("closID");
    r.l3CacheSchema = n.optString("l3CacheSchema").value_or("");
    r.memBwSchema = n.optString("memBwSchema").value_or("");
    r.schemata = n.optString("schemata").value_or("");
    r.enableMonitoring = n.optBool("enableMonitoring").value_or(false);
    return r;
}

namespace {

std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        std::size_t b = line.find_first_not_of(" \t");
        std::size_t e = line.find_last_not_of(" \t\r");
        if (b != std::string::npos) out.push_back(line.substr(b, e - b + 1));
    }
    return out;
}

std::string join(const std::vector<std::string>& ls) {
    std::string out;
    for (const auto& l : ls) out += (out.empty() ? "" : "\n") + l;
    return out;
}

// "L3:0=07f0;1=1F" -> {"L3", {0: "7f0", 1: "1f"}}: the kernel prints masks in lower-case
// hex without leading zeros and pads the resource name with spaces, so lines are compared
// by their values, not their spelling.
struct SchemaLine {
    std::string resource;
    std::map<std::string, std::string> values;
};

SchemaLine parseLine(const std::string& line) {
    SchemaLine s;
    std::size_t colon = line.find(':');
    s.resource = line.substr(0, colon);
    if (colon == std::string::npos) return s;
    std::istringstream in(line.substr(colon + 1));
    std::string item;
    while (std::getline(in, item, ';')) {
        std::size_t eq = item.find('=');
        if (eq == std::string::npos) continue;
        std::string id = item.substr(0, eq), v = item.substr(eq + 1);
        for (char& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        std::size_t nz = v.find_first_not_of('0');
        s.values[id] = nz == std::string::npos ? "0" : v.substr(nz);
    }
    return s;
}

// Every id of `expected` has the same value in the file's line for that resource.
bool fileHas(const std::vector<std::string>& fileLines, const std::string& expected) {
    SchemaLine want = parseLine(expected);
    for (const auto& l : fileLines) {
        SchemaLine have = parseLine(l);
        if (have.resource != want.resource) continue;
        for (const auto& [id, v] : want.values) {
            auto it = have.values.find(id);
            if (it == have.values.end() || it->second != v) return false;
        }
        return true;
    }
    return false;
}

// Names the kernel keeps in the resctrl root (and in every group) for itself.
bool reservedGroupName(const std::string& n) {
    return n == "info" || n == "mon_groups" || n == "mon_data" || n == "tasks" || n == "cpus" ||
           n == "cpus_list" || n == "schemata" || n == "mode" || n == "size";
}

}  // namespace

IntelRdtPlan planIntelRdt(const Spec& spec, const std::string& id, bool resctrlMounted) {
    IntelRdtPlan p;
    if (!spec.linux || !spec.linux->intelRdt) return p;
    const IntelRdt& r = *spec.linux->intelRdt;
    p.wanted = true;
    if (!resctrlMounted) {
        p.refusal = "Intel RDT is not available on this host (no resctrl at /sys/fs/resctrl)";
        return p;
    }
    if (r.closID) {
        const std::string& c = *r.closID;
        if (c.empty() || c == "." || c == ".." || c.find('/') != std::string::npos ||
            reservedGroupName(c)) {
            p.refusal = "closID: \"" + c + "\" cannot name a resctrl group";
            return p;
        }
        p.group = c;
    } else {
        p.group = id;
        p.containerGroup = true;
    }
    if (!r.memBwSchema.empty() &&
        (r.memBwSchema.rfind("MB:", 0) != 0 || r.memBwSchema.find('\n') != std::string::npos)) {
        p.refusal = "memBwSchema: \"" + r.memBwSchema +
                    "\" must be one line starting with MB: (the runtime-spec's rule)";
        return p;
    }
    // l3CacheSchema's own MB: lines give way to memBwSchema's.
    std::vector<std::string> combined;
    for (const auto& l : lines(r.l3CacheSchema))
        if (r.memBwSchema.empty() || l.rfind("MB:", 0) != 0) combined.push_back(l);
    if (!r.memBwSchema.empty()) combined.push_back(r.memBwSchema);
    if (!combined.empty()) p.schemataWrites.push_back(join(combined));
    if (!lines(r.schemata).empty()) p.schemataWrites.push_back(join(lines(r.schemata)));
    if (r.closID) {
        p.preConfigured = p.schemataWrites.empty();
        p.expectedLines = combined;
    }
    p.monitoring = r.enableMonitoring;
    return p;
}

namespace {

std::string kernelReason(CgroupKernel& k, const std::string& root, int err) {
    std::string status;
    if (k.readFile(root + "/info/last_cmd_status", status) == 0) {
        auto ls = lines(status);
        if (!ls.empty() && ls[0] != "ok")
            return std::string(std::strerror(err)) + " (" + ls[0] + ")";
    }
    return std::strerror(err);
}

}  // namespace

IntelRdtGroup joinIntelRdt(const IntelRdtPlan& plan, const std::string& id, pid_t pid,
                           CgroupKernel& k, const std::string& root) {
    IntelRdtGroup g;
    if (!plan.wanted) return g;
    if (!plan.refusal.empty()) throw Error("linux.intelRdt: " + plan.refusal);
    g.dir = root + "/" + plan.group;
    try {
        if (!k.exists(g.dir)) {
            if (plan.preConfigured)
                throw Error("linux.intelRdt.closID: the resctrl group " + g.dir +
                            " does not exist (a closID without schemata names a group "
                            "configured beforehand)");
            int err = k.mkdir(g.dir);
            if (err != 0 && err != EEXIST)
                throw Error("linux.intelRdt: creating the resctrl group " + g.dir + ": " +
                            kernelReason(k, root, err));
            g.created = err == 0;
        }
        // The container's own group (found there: a create that died before delete) is
        // set up and removed like a new one.
        if (plan.containerGroup) g.created = true;
        if (g.created) {
            for (const auto& w : plan.schemataWrites)
                if (int err = k.writeFile(g.dir + "/schemata", w))
                    throw Error("linux.intelRdt: writing \"" + w + "\" to " + g.dir +
                                "/schemata: " + kernelReason(k, root, err));
        } else if (!plan.expectedLines.empty()) {
            // Someone else's group: compared, never rewritten.
            std::string text;
            if (int err = k.readFile(g.dir + "/schemata", text))
                throw Error("linux.intelRdt: reading " + g.dir +
                            "/schemata: " + std::strerror(err));
            auto have = lines(text);
            for (const auto& want : plan.expectedLines)
                if (!fileHas(have, want))
                    throw Error("linux.intelRdt: the existing resctrl group " + g.dir +
                                " has schemata \"" + join(have) + "\", not \"" + want +
                                "\" as the config asks");
        }
        if (int err = k.writeFile(g.dir + "/tasks", std::to_string(pid)))
            throw Error("linux.intelRdt: moving the container's process into " + g.dir +
                        "/tasks: " + kernelReason(k, root, err));
        if (plan.monitoring) {
            std::string mon = g.dir + "/mon_groups/" + id;
            if (int err = k.mkdir(mon))
                throw Error("linux.intelRdt.enableMonitoring: creating the monitoring group " +
                            mon + ": " + kernelReason(k, root, err));
            g.monitorDir = mon;
            if (int err = k.writeFile(mon + "/tasks", std::to_string(pid)))
                throw Error(
                    "linux.intelRdt.enableMonitoring: moving the container's process "
                    "into " +
                    mon + "/tasks: " + kernelReason(k, root, err));
        }
    } catch (...) {
        leaveIntelRdt(g, k);
        throw;
    }
    return g;
}

std::vector<std::string> leaveIntelRdt(const IntelRdtGroup& g, CgroupKernel& k) {
    std::vector<std::string> problems;
    // A group's tasks go back to its parent when it is removed, so this works with the
    // container's processes still in it (a failed create).
    if (!g.monitorDir.empty())
        if (int err = k.rmdir(g.monitorDir); err != 0 && err != ENOENT)
            problems.push_back("removing the resctrl monitoring group " + g.monitorDir + ": " +
                               std::strerror(err));
    if (g.created)
        if (int err = k.rmdir(g.dir); err != 0 && err != ENOENT)
            problems.push_back("removing the resctrl group " + g.dir + ": " + std::strerror(err));
    return problems;
}

}  // namespace caprun
