#include "caprun/systemd_cgroup.hpp"

#include <limits>
#include <set>
#include <sstream>

#include "caprun/cgroup_rootless.hpp"
#include "caprun/cgroups.hpp"
#include "caprun/error.hpp"
#include "caprun/rootless.hpp"
#include "caprun/sys/mountinfo.hpp"

namespace caprun {

namespace {

constexpr std::uint64_t kInfinity = std::numeric_limits<std::uint64_t>::max();
const std::string kSliceSuffix = ".slice";

bool endsWith(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() &&
           s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::string cur;
    for (char c : s) {
        if (c == sep) {
            out.push_back(cur);
            cur.clear();
        } else {
            cur += c;
        }
    }
    out.push_back(cur);
    return out;
}

// systemd's unit name alphabet (unit_name_is_valid): ASCII letters, digits, ":-_.\".
void validateUnitPart(const std::string& s, const std::string& what, const std::string& path) {
    for (char c : s) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == ':' || c == '-' || c == '_' || c == '.' || c == '\\';
        if (!ok)
            throw Error("linux.cgroupsPath \"" + path + "\": the " + what + " \"" + s +
                        "\" has a character systemd does not allow in unit names ('" +
                        std::string(1, c) + "')");
    }
}

std::string yesNo(bool b) {
    return b ? "yes" : "no";
}

std::string maskToList(const std::vector<std::uint8_t>& mask) {
    std::string out;
    int start = -1;
    int n = static_cast<int>(mask.size()) * 8;
    for (int i = 0; i <= n; ++i) {
        bool set = i < n && (mask[static_cast<std::size_t>(i / 8)] >> (i % 8)) & 1;
        if (set && start < 0) start = i;
        if (!set && start >= 0) {
            if (!out.empty()) out += ',';
            out += std::to_string(start);
            if (i - 1 > start) out += "-" + std::to_string(i - 1);
            start = -1;
        }
    }
    return out;
}

std::uint64_t blkioToIoWeight(std::uint64_t w) {
    if (w < 10) w = 10;
    return 1 + ((w - 10) * 9999) / 990;
}

// The group name of a device major in /proc/devices' "Character devices:" or "Block
// devices:" section; "" when absent.
std::string deviceGroup(const std::string& procDevices, bool block, std::int64_t major) {
    std::istringstream in(procDevices);
    std::string line;
    bool inSection = false;
    while (std::getline(in, line)) {
        if (line == "Character devices:") {
            inSection = !block;
            continue;
        }
        if (line == "Block devices:") {
            inSection = block;
            continue;
        }
        if (!inSection) continue;
        std::istringstream f(line);
        std::int64_t m = -1;
        std::string name;
        if (f >> m >> name && m == major) return name;
    }
    return "";
}

bool wildcard(const std::optional<std::int64_t>& v) {
    return !v || *v == -1;
}

// DevicePolicy/DeviceAllow for the effective rule list. systemd's list can only allow, so
// it is made a superset of the rules; caprun's own eBPF filter on the unit's cgroup
// enforces them exactly (a device is usable only when both allow it).
void planDevices(const std::vector<DeviceCgroupRule>& rules, const SystemdHostFacts& facts,
                 std::vector<SystemdProperty>& props, std::vector<std::string>& notes) {
    // Rules before the last match-everything rule no longer matter.
    std::size_t from = 0;
    bool allowAll = false;
    for (std::size_t i = 0; i < rules.size(); ++i) {
        const auto& r = rules[i];
        std::string type = r.type.empty() ? "a" : r.type;
        std::string acc = r.access.empty() ? "rwm" : r.access;
        if (type == "a" && wildcard(r.major) && wildcard(r.minor) && acc == "rwm") {
            from = i + 1;
            allowAll = r.allow;
        }
    }
    if (allowAll) {
        props.push_back({"DevicePolicy", std::string("auto"), "linux.resources.devices"});
        notes.push_back(
            "devices: every device is allowed (DevicePolicy=auto); deny rules after the "
            "allow-all rule are enforced by caprun's device filter");
        return;
    }
    DeviceAllowList allow;
    bool widened = false;
    auto add = [&](const std::string& path, const std::string& acc) {
        for (const auto& e : allow)
            if (e.first == path && e.second == acc) return;
        allow.emplace_back(path, acc);
    };
    for (std::size_t i = from; i < rules.size(); ++i) {
        const auto& r = rules[i];
        if (!r.allow) continue;
        std::string type = r.type.empty() ? "a" : r.type;
        std::string acc = r.access.empty() ? "rwm" : r.access;
        std::vector<bool> kinds;  // block?
        if (type == "a" || type == "c") kinds.push_back(false);
        if (type == "a" || type == "b") kinds.push_back(true);
        for (bool block : kinds) {
            std::string kind = block ? "block" : "char";
            if (wildcard(r.major)) {
                add(kind + "-*", acc);
            } else if (wildcard(r.minor)) {
                std::string group = deviceGroup(facts.procDevices, block, *r.major);
                if (group.empty()) {
                    add(kind + "-*", acc);
                    widened = true;
                } else {
                    add(kind + "-" + group, acc);
                }
            } else {
                add("/dev/" + kind + "/" + std::to_string(*r.major) + ":" +
                        std::to_string(*r.minor),
                    acc);
            }
        }
    }
    props.push_back({"DevicePolicy", std::string("strict"), "linux.resources.devices"});
    props.push_back({"DeviceAllow", allow, "linux.resources.devices"});
    if (widened)
        notes.push_back(
            "devices: a major with no name in /proc/devices is allowed to systemd as "
            "char-*/block-*; caprun's device filter still limits it to the rule");
}

// Moves what systemd has properties for from `r` into `props`; what stays in `r` goes to
// files.
void planResources(Resources& r, const std::vector<Device>& linuxDevices, bool devices,
                   const SystemdHostFacts& facts, std::vector<SystemdProperty>& props,
                   std::vector<std::string>& notes) {
    const std::string mem = "linux.resources.memory";
    if (r.memory) {
        auto& m = *r.memory;
        std::int64_t limit = m.limit.value_or(0);
        if (limit != 0)
            props.push_back({"MemoryMax", limit < 0 ? kInfinity : static_cast<std::uint64_t>(limit),
                             mem + ".limit"});
        if (m.reservation && *m.reservation != 0)
            props.push_back(
                {"MemoryLow",
                 *m.reservation < 0 ? kInfinity : static_cast<std::uint64_t>(*m.reservation),
                 mem + ".reservation"});
        // v1's memory+swap total becomes v2's swap-only limit (runc's conversion).
        std::int64_t swap = m.swap.value_or(0);
        std::int64_t v2swap = 0;
        if (limit == -1 && swap == 0) {
            v2swap = -1;
        } else if (swap == -1 || swap == 0) {
            v2swap = swap;
        } else if (limit == 0 || limit == -1) {
            throw Error(mem + ".swap: a swap limit needs a memory limit (" + mem + ".limit)");
        } else if (limit < 0) {
            throw Error(mem + ".limit: " + std::to_string(limit) + " is not a valid limit");
        } else if (swap < limit) {
            throw Error(mem + ".swap (" + std::to_string(swap) + ") must be at least " + mem +
                        ".limit (" + std::to_string(limit) +
                        "): it is the limit of memory plus swap");
        } else {
            v2swap = swap - limit;
        }
        if (v2swap != 0)
            props.push_back({"MemorySwapMax",
                             v2swap < 0 ? kInfinity : static_cast<std::uint64_t>(v2swap),
                             mem + ".swap"});
        m.limit.reset();
        m.reservation.reset();
        m.swap.reset();
    }
    const std::string cpu = "linux.resources.cpu";
    if (r.cpu) {
        auto& c = *r.cpu;
        if (c.shares && *c.shares != 0)
            props.push_back({"CPUWeight", cpuSharesToWeight(*c.shares), cpu + ".shares"});
        std::int64_t quota = c.quota.value_or(0);
        std::uint64_t period = c.period.value_or(0);
        if (period != 0) props.push_back({"CPUQuotaPeriodUSec", period, cpu + ".period"});
        if (quota != 0 || period != 0)
            props.push_back(
                {"CPUQuotaPerSecUSec", cpuQuotaPerSecUSec(quota, period), cpu + ".quota"});
        if (!c.cpus.empty())
            props.push_back({"AllowedCPUs", cpuListToMask(c.cpus, cpu + ".cpus"), cpu + ".cpus"});
        if (!c.mems.empty())
            props.push_back(
                {"AllowedMemoryNodes", cpuListToMask(c.mems, cpu + ".mems"), cpu + ".mems"});
        c.shares.reset();
        c.quota.reset();
        c.period.reset();
        c.cpus.clear();
        c.mems.clear();
    }
    if (r.pids && r.pids->limit && *r.pids->limit != 0) {
        std::int64_t l = *r.pids->limit;
        props.push_back({"TasksMax", l < 0 ? kInfinity : static_cast<std::uint64_t>(l),
                         "linux.resources.pids.limit"});
        r.pids.reset();
    }
    if (r.blockIO && r.blockIO->weight) {
        // 0 is "not set" (runc; dockerd always sends it).
        if (*r.blockIO->weight != 0)
            props.push_back({"IOWeight", blkioToIoWeight(*r.blockIO->weight),
                             "linux.resources.blockIO.weight"});
        r.blockIO->weight.reset();
    }
    if (devices) planDevices(effectiveDeviceRules(r.devices, linuxDevices), facts, props, notes);
}

}  // namespace

SystemdCgroupPath parseSystemdCgroupPath(const std::string& cgroupsPath, const std::string& id,
                                         bool rootless) {
    std::string defaultSlice = rootless ? "user.slice" : "system.slice";
    if (cgroupsPath.empty()) return {defaultSlice, "caprun", id};
    auto parts = split(cgroupsPath, ':');
    if (parts.size() != 3)
        throw Error("linux.cgroupsPath \"" + cgroupsPath +
                    "\": the systemd cgroup driver expects the form \"slice:prefix:name\" "
                    "(e.g. \"system.slice:docker:<id>\")");
    SystemdCgroupPath p{parts[0].empty() ? defaultSlice : parts[0], parts[1], parts[2]};
    if (p.name.empty())
        throw Error("linux.cgroupsPath \"" + cgroupsPath + "\": the name part is empty");
    validateUnitPart(p.slice, "slice", cgroupsPath);
    validateUnitPart(p.prefix, "prefix", cgroupsPath);
    validateUnitPart(p.name, "name", cgroupsPath);
    expandSlice(p.slice);
    return p;
}

std::string expandSlice(const std::string& slice) {
    auto bad = [&](const std::string& why) {
        return Error("invalid slice name \"" + slice + "\": " + why);
    };
    if (!endsWith(slice, kSliceSuffix) || slice.size() == kSliceSuffix.size())
        throw bad("a slice name ends in \".slice\"");
    if (slice.find('/') != std::string::npos) throw bad("it contains '/'");
    std::string base = slice.substr(0, slice.size() - kSliceSuffix.size());
    if (base == "-") return "/";
    std::string path, prefix;
    for (const auto& part : split(base, '-')) {
        if (part.empty()) throw bad("empty component (leading, trailing or double '-')");
        path += "/" + prefix + part + kSliceSuffix;
        prefix += part + "-";
    }
    return path;
}

std::string systemdUnitName(const SystemdCgroupPath& p) {
    if (endsWith(p.name, kSliceSuffix)) {
        expandSlice(p.name);
        return p.name;
    }
    std::string unit = (p.prefix.empty() ? "" : p.prefix + "-") + p.name + ".scope";
    if (unit.size() > 255)
        throw Error("the systemd unit name " + unit + " is longer than 255 characters");
    return unit;
}

std::uint64_t cpuSharesToWeight(std::uint64_t shares) {
    if (shares == 0) return 0;
    if (shares < 2) shares = 2;
    if (shares > 262144) shares = 262144;
    return 1 + ((shares - 2) * 9999) / 262142;
}

std::uint64_t cpuQuotaPerSecUSec(std::int64_t quota, std::uint64_t period) {
    if (quota <= 0) return kInfinity;
    if (period == 0) period = 100000;
    std::uint64_t v = static_cast<std::uint64_t>(quota) * 1000000 / period;
    if (v % 10000 != 0) v = (v / 10000 + 1) * 10000;
    return v;
}

std::vector<std::uint8_t> cpuListToMask(const std::string& list, const std::string& what) {
    std::vector<std::uint8_t> mask;
    auto parseNum = [&](const std::string& s) -> unsigned long {
        if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos || s.size() > 5)
            throw Error(what + ": \"" + list + "\" is not a list like \"0-3,5\"");
        return std::stoul(s);
    };
    std::string trimmed = list;
    while (!trimmed.empty() && (trimmed.back() == '\n' || trimmed.back() == ' '))
        trimmed.pop_back();
    for (const auto& item : split(trimmed, ',')) {
        auto dash = item.find('-');
        unsigned long lo = parseNum(item.substr(0, dash));
        unsigned long hi = dash == std::string::npos ? lo : parseNum(item.substr(dash + 1));
        if (hi < lo) throw Error(what + ": \"" + item + "\" is a descending range");
        if (mask.size() < hi / 8 + 1) mask.resize(hi / 8 + 1, 0);
        for (unsigned long i = lo; i <= hi; ++i)
            mask[i / 8] = static_cast<std::uint8_t>(mask[i / 8] | (1u << (i % 8)));
    }
    return mask;
}

std::string systemdSignature(const SystemdValue& v) {
    static const char* sigs[] = {"b", "t", "s", "as", "au", "ay", "a(ss)"};
    return sigs[v.index()];
}

std::string systemdPropertyText(const SystemdProperty& p) {
    std::string value;
    if (const auto* b = std::get_if<bool>(&p.value)) {
        value = yesNo(*b);
    } else if (const auto* t = std::get_if<std::uint64_t>(&p.value)) {
        value = *t == kInfinity ? "infinity" : std::to_string(*t);
    } else if (const auto* s = std::get_if<std::string>(&p.value)) {
        value = *s;
    } else if (const auto* as = std::get_if<std::vector<std::string>>(&p.value)) {
        for (const auto& x : *as) value += (value.empty() ? "" : " ") + x;
    } else if (const auto* au = std::get_if<std::vector<std::uint32_t>>(&p.value)) {
        for (auto x : *au) value += (value.empty() ? "" : " ") + std::to_string(x);
    } else if (const auto* ay = std::get_if<std::vector<std::uint8_t>>(&p.value)) {
        value = maskToList(*ay);
    } else if (const auto* d = std::get_if<DeviceAllowList>(&p.value)) {
        for (const auto& [path, acc] : *d) value += (value.empty() ? "" : ", ") + path + " " + acc;
    }
    return p.name + "=" + value;
}

std::string userManagerCgroup(const std::string& uidMap, unsigned euid) {
    for (const auto& m : parseIdMapText(uidMap)) {
        if (euid >= m.containerID && euid - m.containerID < m.size) {
            std::string uid = std::to_string(std::uint64_t{m.hostID} + (euid - m.containerID));
            return "/user.slice/user-" + uid + ".slice/user@" + uid + ".service";
        }
    }
    throw Error("finding the user's systemd manager: uid " + std::to_string(euid) +
                " is not mapped in /proc/self/uid_map");
}

SystemdCgroupPlan planSystemdCgroup(const std::string& cgroupsPath, const std::string& id,
                                    const Resources* resources,
                                    const std::vector<Device>& linuxDevices,
                                    const SystemdHostFacts& facts) {
    SystemdCgroupPath p = parseSystemdCgroupPath(cgroupsPath, id, facts.rootless);
    SystemdCgroupPlan plan;
    plan.unit = systemdUnitName(p);
    plan.slice = p.slice;
    plan.sliceUnit = endsWith(plan.unit, kSliceSuffix);
    std::string parent = expandSlice(plan.slice);
    plan.cgroupPath =
        facts.managerCgroup +
        (plan.sliceUnit ? expandSlice(plan.unit) : (parent == "/" ? "" : parent) + "/" + plan.unit);
    plan.userManager = facts.rootless;
    auto& props = plan.properties;
    props.push_back({"Description", std::string("caprun container " + id), ""});
    if (plan.sliceUnit) {
        // A slice's parent follows from its name; Wants= orders it after the parent.
        props.push_back({"Wants", std::vector<std::string>{plan.slice}, ""});
    } else {
        props.push_back({"Slice", plan.slice, ""});
        props.push_back({"Delegate", true, ""});
    }
    // Accounting on, as runc: the same files as the cgroupfs driver get created.
    for (const char* a : {"MemoryAccounting", "CPUAccounting", "IOAccounting", "TasksAccounting"})
        props.push_back({a, true, ""});
    props.push_back({"DefaultDependencies", false, ""});
    plan.files = resources ? *resources : Resources{};
    planResources(plan.files, linuxDevices, !facts.rootless, facts, props, plan.notes);
    if (facts.rootless) plan.notes.push_back("devices: " + rootlessDevicesNote());
    return plan;
}

SystemdCgroupPlan planSystemdUpdate(const std::string& unit, const Resources& r,
                                    const std::vector<Device>& linuxDevices,
                                    const SystemdHostFacts& facts) {
    SystemdCgroupPlan plan;
    plan.unit = unit;
    plan.sliceUnit = endsWith(unit, kSliceSuffix);
    plan.files = r;
    if (facts.rootless && !r.devices.empty())
        throw Error("linux.resources.devices: " + rootlessDevicesNote() +
                    ", so device rules cannot be updated");
    planResources(plan.files, linuxDevices, !r.devices.empty(), facts, plan.properties, plan.notes);
    return plan;
}

SystemdCgroupPaths systemdCgroupPaths(const CgroupHost& host, const std::string& procPidCgroup,
                                      const SystemdCgroupPlan& plan) {
    // hierarchy ("" for v2, else its controller list) -> path, from /proc/<pid>/cgroup
    std::map<std::string, std::string> pidPaths;
    for (const auto& e : sys::parseProcCgroup(procPidCgroup)) pidPaths[e.controllerList] = e.path;
    auto below = [](const CgroupMount& m, const std::string& path) {
        std::string rel = path;
        if (m.root != "/" && rel.rfind(m.root, 0) == 0) rel = rel.substr(m.root.size());
        std::string dir = m.mountPoint;
        while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
        return rel.empty() || rel == "/" ? dir : dir + (rel[0] == '/' ? "" : "/") + rel;
    };
    SystemdCgroupPaths out;
    for (const auto& m : host.mounts) {
        std::string key, hierarchy;
        if (m.unified) {
            key = "unified";
        } else {
            for (const auto& c : m.controllers) key += (key.empty() ? "" : ",") + c;
            hierarchy = key;
        }
        auto it = pidPaths.find(hierarchy);
        std::string suffix = "/" + plan.unit;
        bool inUnit =
            !plan.sliceUnit && it != pidPaths.end() && it->second.size() >= suffix.size() &&
            it->second.compare(it->second.size() - suffix.size(), suffix.size(), suffix) == 0;
        if (inUnit) {
            out.joined[key] = below(m, it->second);
        } else if (m.unified && !plan.sliceUnit) {
            throw Error(
                "systemd started " + plan.unit + " but the container's init is not in it (" +
                (it == pidPaths.end() ? std::string("no cgroup v2 line") : "0::" + it->second) +
                " in its /proc/<pid>/cgroup)");
        } else {
            out.missing[key] = below(m, plan.cgroupPath);
        }
    }
    return out;
}

void addSystemdCgroupSection(CheckReport& r, const SystemdCgroupPlan& plan) {
    std::ostringstream t;
    t << "Cgroup (systemd driver):\n";
    t << "  unit:      " << plan.unit << (plan.sliceUnit ? " (a slice unit)" : "") << "\n";
    t << "  slice:     " << plan.slice << "\n";
    t << "  cgroup:    " << plan.cgroupPath << "\n";
    t << "  properties:\n";
    rapidjson::Value o(rapidjson::kObjectType);
    o.AddMember("unit", jsonString(r, plan.unit), r.alloc());
    o.AddMember("slice", jsonString(r, plan.slice), r.alloc());
    o.AddMember("cgroupPath", jsonString(r, plan.cgroupPath), r.alloc());
    rapidjson::Value props(rapidjson::kArrayType);
    auto one = [&](const SystemdProperty& p) {
        std::string line = systemdPropertyText(p);
        t << "    " << line << (p.what.empty() ? "" : "   (" + p.what + ")") << "\n";
        rapidjson::Value j(rapidjson::kObjectType);
        j.AddMember("name", jsonString(r, p.name), r.alloc());
        j.AddMember("signature", jsonString(r, systemdSignature(p.value)), r.alloc());
        j.AddMember("value", jsonString(r, line.substr(p.name.size() + 1)), r.alloc());
        j.AddMember("from", jsonString(r, p.what), r.alloc());
        props.PushBack(j, r.alloc());
    };
    for (const auto& p : plan.properties) one(p);
    if (!plan.sliceUnit) {
        t << "    PIDs=<the container's init>\n";
        rapidjson::Value j(rapidjson::kObjectType);
        j.AddMember("name", "PIDs", r.alloc());
        j.AddMember("signature", "au", r.alloc());
        j.AddMember("value", "<the container's init>", r.alloc());
        j.AddMember("from", "", r.alloc());
        props.PushBack(j, r.alloc());
    }
    o.AddMember("properties", props, r.alloc());
    rapidjson::Value notes(rapidjson::kArrayType);
    for (const auto& n : plan.notes) {
        t << "  note: " << n << "\n";
        notes.PushBack(jsonString(r, n), r.alloc());
    }
    o.AddMember("notes", notes, r.alloc());
    r.set("systemdCgroup", std::move(o));
    r.text += t.str();
    std::string brief = "Cgroup (systemd driver): unit " + plan.unit + " in " + plan.slice + ", " +
                        std::to_string(plan.properties.size()) + " properties\n";
    for (const auto& n : plan.notes) brief += "  note: " + n + "\n";
    r.brief += brief;
}

}  // namespace caprun
