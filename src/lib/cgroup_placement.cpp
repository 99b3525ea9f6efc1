#include "caprun/cgroup_placement.hpp"

#include <unistd.h>

#include "caprun/cgroup_controllers.hpp"
#include "caprun/cgroup_rootless.hpp"
#include "caprun/check_report.hpp"
#include "caprun/error.hpp"
#include "caprun/systemd_bus.hpp"

namespace caprun {

CgroupPlacement planCgroupPlacement(CgroupManager manager, bool rootless, const Spec& spec,
                                    const std::string& id, const std::string& policy) {
    CgroupPlacement p;
    p.manager = manager;
    if (manager == CgroupManager::Disabled || !spec.linux) return p;
    const Resources noResources;
    const Resources& resources = spec.linux->resources ? *spec.linux->resources : noResources;
    p.host = detectCgroupHost();
    // Resources the host cannot take (e.g. a huge page size it lacks) fail here, before
    // anything exists; Cgroup::apply plans the same again for the container's directories.
    const bool hasLimits = !planResourceWrites(resources, p.host).writes.empty();
    std::string unifiedDir;
    p.deviceRules = !rootless;
    if (manager == CgroupManager::Systemd) {
        p.systemd = planSystemdCgroup(spec.linux->cgroupsPath, id, &resources, spec.linux->devices,
                                      detectSystemdHostFacts(rootless));
        if (const auto* u = p.host.unifiedMount())
            unifiedDir = u->mountPoint + p.systemd->cgroupPath;
    } else {
        p.placed = Cgroup::place(p.host, spec.linux->cgroupsPath, id);
        if (p.placed.paths().count("unified")) unifiedDir = p.placed.paths().at("unified");
        // Only a rootless container can lack a writable cgroup: root's is not probed.
        const bool writable = !rootless || cgroupPathsWritable(p.placed.paths());
        const auto rl = decideRootlessCgroup(rootless, writable, hasLimits, policy);
        if (!rl.error.empty()) throw Error(rl.error);
        p.warning = rl.warning;
        if (rl.skip) {
            p.manager = CgroupManager::Disabled;
            p.rootlessSkipped = true;
            p.placed = Cgroup();
            return p;
        }
        // A realtime policy without a budget would fail at sched_setattr: refused here
        // (a rootless container without a cgroup of its own stays in the caller's).
        bool ownCpu = false;
        for (const auto& [key, dir] : p.placed.paths())
            ownCpu |= ("," + key + ",").find(",cpu,") != std::string::npos;
        const CgroupMount* cpu = p.host.v1Mount("cpu");
        const bool rtGroups =
            cpu && ::access((cpu->mountPoint + "/cpu.rt_runtime_us").c_str(), F_OK) == 0;
        if (std::string why = realtimeBudgetRefusal(spec, ownCpu, rtGroups); !why.empty())
            throw Error(why);
    }
    if (p.host.layout == CgroupLayout::V2 && !unifiedDir.empty()) {
        auto avail = availableControllers(unifiedDir);
        checkV2Controllers(resources, avail.controllers, avail.file);
    }
    return p;
}

void addCgroupSection(CheckReport& r, const CgroupPlacement& p) {
    rapidjson::Value obj(rapidjson::kObjectType);
    auto& al = r.alloc();
    std::string text = "Cgroups:     ";
    std::string manager;
    if (p.rootlessSkipped) {
        manager = "none";
        text +=
            "none: rootless, and this user has no writable (delegated) cgroup where the "
            "container's would go; the container runs in the caller's cgroup\n";
    } else if (p.manager == CgroupManager::Disabled) {
        manager = "disabled";
        text += "disabled (--cgroup-manager disabled)\n";
    } else if (p.manager == CgroupManager::Systemd) {
        manager = "systemd";
        text += "systemd unit " + (p.systemd ? p.systemd->unit : std::string()) + "\n";
    } else {
        manager = "cgroupfs";
        text += "cgroupfs\n";
        rapidjson::Value dirs(rapidjson::kObjectType);
        for (const auto& [controller, dir] : p.placed.paths()) {
            text += "  " + (controller.empty() ? std::string("unified") : controller) + ": " + dir +
                    "\n";
            dirs.AddMember(jsonString(r, controller), jsonString(r, dir), al);
        }
        obj.AddMember("paths", dirs, al);
    }
    if (!p.warning.empty()) text += "  warning: " + p.warning + "\n";
    // The systemd section carries the same note with its plan.
    const bool devicesNote = !p.deviceRules && p.manager == CgroupManager::Cgroupfs;
    if (devicesNote) text += "  note: devices: " + rootlessDevicesNote() + "\n";
    obj.AddMember("deviceRules", p.deviceRules, al);
    obj.AddMember("manager", jsonString(r, manager), al);
    obj.AddMember("rootlessSkipped", p.rootlessSkipped, al);
    obj.AddMember("warning", jsonString(r, p.warning), al);
    r.text += text;
    // Brief: the manager line, the number of directories, the warning and note.
    std::string brief = text.substr(0, text.find('\n') + 1);
    if (p.manager == CgroupManager::Cgroupfs && !p.rootlessSkipped && !brief.empty())
        brief.insert(brief.size() - 1,
                     ", " + std::to_string(p.placed.paths().size()) + " directories");
    if (!p.warning.empty()) brief += "  warning: " + p.warning + "\n";
    if (devicesNote) brief += "  note: devices: " + rootlessDevicesNote() + "\n";
    r.brief += brief;
    r.set("cgroups", std::move(obj));
}

}  // namespace caprun
