#include "caprun/cgroup_controllers.hpp"

#include <algorithm>
#include <cerrno>
#include <sstream>

#include "caprun/error.hpp"

namespace caprun {

std::vector<ControllerNeed> requiredV2Controllers(const Resources& r) {
    std::vector<ControllerNeed> out;
    auto need = [&](const std::string& c, const std::string& what) { out.push_back({c, what}); };
    const std::string base = "linux.resources.";
    if (r.memory) {
        const auto& m = *r.memory;
        if (m.limit) need("memory", base + "memory.limit");
        if (m.reservation) need("memory", base + "memory.reservation");
        if (m.swap) need("memory", base + "memory.swap");
    }
    if (r.cpu) {
        const auto& c = *r.cpu;
        if (c.shares && *c.shares != 0) need("cpu", base + "cpu.shares");
        if (c.quota) need("cpu", base + "cpu.quota");
        if (c.period) need("cpu", base + "cpu.period");
        if (c.burst) need("cpu", base + "cpu.burst");
        if (c.idle) need("cpu", base + "cpu.idle");
        if (!c.cpus.empty()) need("cpuset", base + "cpu.cpus");
        if (!c.mems.empty()) need("cpuset", base + "cpu.mems");
    }
    if (r.pids && r.pids->limit && *r.pids->limit != 0) need("pids", base + "pids.limit");
    if (r.blockIO) {
        const auto& b = *r.blockIO;
        // 0 is "not set" (runc; dockerd always sends weight 0).
        if (b.weight && *b.weight != 0) need("io", base + "blockIO.weight");
        if (!b.weightDevice.empty()) need("io", base + "blockIO.weightDevice");
        if (!b.throttleReadBpsDevice.empty() || !b.throttleWriteBpsDevice.empty() ||
            !b.throttleReadIOPSDevice.empty() || !b.throttleWriteIOPSDevice.empty())
            need("io", base + "blockIO.throttle*");
    }
    if (!r.hugepageLimits.empty()) need("hugetlb", base + "hugepageLimits");
    for (const auto& [device, limit] : r.rdma)
        if (limit.hcaHandles || limit.hcaObjects) need("rdma", base + "rdma." + device);
    for (const auto& [key, value] : r.unified) {
        auto dot = key.find('.');
        std::string c = key.substr(0, dot);
        // cgroup.* are core files every cgroup has.
        if (dot != std::string::npos && c != "cgroup") need(c, base + "unified[\"" + key + "\"]");
    }
    return out;
}

void checkV2Controllers(const Resources& r, const std::vector<std::string>& available,
                        const std::string& source) {
    for (const auto& n : requiredV2Controllers(r)) {
        if (std::find(available.begin(), available.end(), n.controller) != available.end())
            continue;
        std::string have;
        for (const auto& a : available) have += (have.empty() ? "" : " ") + a;
        throw Error(n.what + " needs the " + n.controller +
                    " cgroup controller, which this cgroup v2 hierarchy does not offer here (" +
                    source + ": " + (have.empty() ? "no controllers" : have) + ")");
    }
}

AvailableControllers availableControllers(const std::string& dir) {
    return availableControllers(dir, linuxCgroupKernel());
}

AvailableControllers availableControllers(const std::string& dir, CgroupKernel& k) {
    std::string cur = dir;
    for (;;) {
        std::string file = (cur.empty() ? std::string() : cur) + "/cgroup.controllers";
        std::string text;
        int err = k.readFile(file, text);
        if (err == 0) {
            AvailableControllers out{file, {}};
            std::istringstream words(text);
            std::string w;
            while (words >> w) out.controllers.push_back(w);
            return out;
        }
        if (err != ENOENT) throwSys("reading " + file, err);
        auto slash = cur.find_last_of('/');
        if (slash == std::string::npos || cur.empty())
            throw Error("no cgroup.controllers in " + dir + " or any parent directory");
        cur = cur.substr(0, slash);
    }
}

}  // namespace caprun
