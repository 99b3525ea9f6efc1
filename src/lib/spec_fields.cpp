#include "caprun/spec_fields.hpp"

#include <algorithm>
#include <map>

#include "caprun/lsm.hpp"
#include "caprun/error.hpp"
#include "caprun/idmap.hpp"
#include "caprun/intel_rdt.hpp"
#include "caprun/net_devices.hpp"
#include "caprun/process_sched.hpp"
#include "caprun/rootfs.hpp"

namespace caprun {

namespace {

constexpr auto A = Verdict::Applied;
constexpr auto R = Verdict::Refused;
constexpr auto I = Verdict::Ignored;

constexpr int kMaxMinor = 3;  // caprun implements runtime-spec 1.0.0 to 1.3.x
constexpr const char* kHighest = "1.3.0";

FieldDecision decision(const PresentField& f, Verdict v, std::string why) {
    return {f.path, f.field, v, std::move(why)};
}

FieldDecision orRefused(const PresentField& f, const std::string& refusal, std::string applied) {
    if (!refusal.empty()) return decision(f, R, refusal);
    return decision(f, A, std::move(applied));
}

FieldDecision dOciVersion(const Spec& s, const PlatformFacts&, const PresentField& f) {
    return orRefused(f, ociVersionRefusal(s.ociVersion),
                     "config version " + s.ociVersion + "; caprun implements 1.0.0 to " + kHighest);
}

FieldDecision dApparmor(const Spec& s, const PlatformFacts& h, const PresentField& f) {
    if (!s.process || s.process->apparmorProfile.empty())
        return decision(f, A, "empty: no AppArmor profile asked for");
    return orRefused(f, apparmorRefusal(h),
                     "profile \"" + s.process->apparmorProfile +
                         "\" written to /proc/thread-self/attr/apparmor/exec right before execve");
}

FieldDecision dSelinux(const Spec& s, const PlatformFacts& h, const PresentField& f) {
    if (!s.process || s.process->selinuxLabel.empty())
        return decision(f, A, "empty: no SELinux label asked for");
    return orRefused(f, selinuxRefusal(h),
                     "label \"" + s.process->selinuxLabel +
                         "\" written to /proc/thread-self/attr/exec right before execve");
}

FieldDecision dMountLabel(const Spec& s, const PlatformFacts& h, const PresentField& f) {
    if (!s.linux || s.linux->mountLabel.empty())
        return decision(f, A, "empty: no mount label asked for");
    return orRefused(
        f, selinuxRefusal(h),
        "context=\"" + s.linux->mountLabel + "\" on the tmpfs, devpts and mqueue mounts");
}

FieldDecision dIoPriority(const Spec& s, const PlatformFacts&, const PresentField& f) {
    return orRefused(
        f, s.process && s.process->ioPriority ? ioPriorityRefusal(*s.process->ioPriority) : "",
        "ioprio_set before the process drops its capabilities");
}

FieldDecision dScheduler(const Spec& s, const PlatformFacts&, const PresentField& f) {
    return orRefused(
        f, s.process && s.process->scheduler ? schedulerRefusal(*s.process->scheduler) : "",
        "sched_setattr before the process drops its capabilities");
}

FieldDecision dExecCpuAffinity(const Spec& s, const PlatformFacts&, const PresentField& f) {
    return orRefused(
        f,
        s.process && s.process->execCPUAffinity
            ? execCpuAffinityRefusal(*s.process->execCPUAffinity)
            : "",
        "for processes started by `caprun exec`: initial before joining the cgroup, final "
        "after (the spec says it does not apply to the container's init)");
}

FieldDecision dPersonality(const Spec& s, const PlatformFacts&, const PresentField& f) {
    return orRefused(
        f, s.linux && s.linux->personality ? personalityRefusal(*s.linux->personality) : "",
        "personality() right before execve");
}

FieldDecision dMemoryPolicy(const Spec& s, const PlatformFacts&, const PresentField& f) {
    return orRefused(
        f, s.linux && s.linux->memoryPolicy ? memoryPolicyRefusal(*s.linux->memoryPolicy) : "",
        "set_mempolicy in the container process (kept across execve)");
}

FieldDecision dIntelRdt(const Spec& s, const PlatformFacts& h, const PresentField& f) {
    IntelRdtPlan p = planIntelRdt(s, "<container id>", h.resctrlMounted);
    std::string how =
        "the container joins the resctrl group " + std::string(kResctrlRoot) + "/" + p.group;
    if (p.preConfigured)
        how += " (configured beforehand: it must exist)";
    else if (p.containerGroup)
        how += " (made for it, removed on delete)";
    else
        how += " (made when missing, else its schemata must match)";
    if (!p.schemataWrites.empty()) how += "; schemata written when made";
    if (p.monitoring) how += "; a monitoring group mon_groups/<container id>";
    return orRefused(f, p.refusal, how);
}

FieldDecision dRdma(const Spec&, const PlatformFacts& h, const PresentField& f) {
    if (!h.rdmaController)
        return decision(f, R, "this host has no rdma cgroup controller (not in /proc/cgroups)");
    return decision(f, A, "written to the rdma controller's rdma.max");
}

FieldDecision dNetDevices(const Spec& s, const PlatformFacts&, const PresentField& f) {
    NetDevicePlan plan = planNetDevices(s);
    std::string moves;
    for (const auto& m : plan.moves)
        moves += (moves.empty() ? "" : ", ") + m.hostName +
                 (m.containerName == m.hostName ? "" : " as " + m.containerName);
    return orRefused(f, plan.refusal,
                     moves +
                         " moved into the container's network namespace with their "
                         "permanent global addresses and set up; moved back on delete");
}

// mounts[i].options: what the mount planner would refuse, decided here so check shows it.
FieldDecision dMountOptions(const Spec& s, const PlatformFacts&, const PresentField& f) {
    std::size_t i = std::stoul(f.path.substr(std::string("mounts[").size()));
    if (i >= s.mounts.size()) return decision(f, A, "");
    const Mount& m = s.mounts[i];
    try {
        MountOptions o = parseMountOptions(m.options);
        bool bind = o.bind || m.type == "bind";
        if (bind && !o.data.empty())
            return decision(f, A,
                            "mount(2) flags; \"" + o.data +
                                "\" has no effect: the kernel ignores filesystem data for a "
                                "bind mount (runc and crun ignore it too)");
        if (bind && o.tmpcopyup)
            return decision(f, R, "tmpcopyup applies to tmpfs mounts, not to a bind");
        bool userns = false;
        if (s.linux)
            for (const auto& n : s.linux->namespaces) userns |= n.type == "user";
        if (std::string why = idmapRefusal(s, m, userns); !why.empty()) return decision(f, R, why);
        std::string why = "mount(2) flags";
        if (o.recursiveAttrs.any()) why += ", recursive options with mount_setattr(AT_RECURSIVE)";
        if (o.tmpcopyup) why += ", the directory's contents copied up into the tmpfs";
        if (o.idmap || o.ridmap)
            why += std::string(", idmapped (open_tree + mount_setattr MOUNT_ATTR_IDMAP") +
                   (o.ridmap ? ", recursively)" : ")");
        if (!o.data.empty()) why += ", filesystem data \"" + o.data + "\"";
        return decision(f, A, why);
    } catch (const Error& e) {
        std::string msg = e.what();
        std::string prefix = "config.json: " + f.path + ": ";
        if (msg.rfind(prefix, 0) == 0) msg = msg.substr(prefix.size());
        return decision(f, R, msg);
    }
}

#define HOOK_LIST(name)                                                            \
    {"hooks." name, A, "run at the " name " point with the state on stdin", true}, \
        {"hooks." name "[].path", A, "part of the hook"},                          \
        {"hooks." name "[].args", A, "part of the hook"},                          \
        {"hooks." name "[].env", A, "part of the hook"}, {                         \
        "hooks." name "[].timeout", A, "part of the hook"                          \
    }

#define ID_MAPPING(base, verdict, why)                                                   \
    {base, verdict, why, true}, {base "[].containerID", verdict, "part of the mapping"}, \
        {base "[].hostID", verdict, "part of the mapping"}, {                            \
        base "[].size", verdict, "part of the mapping"                                   \
    }

#define BLKIO_DEVICES(name)                                                           \
    {"linux.resources.blockIO." name, A, "written to the blkio/io controller", true}, \
        {"linux.resources.blockIO." name "[].major", A, "part of the entry"},         \
        {"linux.resources.blockIO." name "[].minor", A, "part of the entry"}, {       \
        "linux.resources.blockIO." name "[].rate", A, "part of the entry"             \
    }

#define CGROUP(path, why) \
    { "linux.resources." path, A, why }

constexpr const char* kCg =
    "written to the cgroup (check's cgroup section says what this host takes)";
constexpr const char* kIdmap =
    "the mapping of the idmapped mount (with the idmap or ridmap option; see mounts[].options)";
constexpr const char* kOther = "for another platform; a Linux runtime does not read it";

const std::vector<FieldRule> kRules = {
    {"ociVersion", A, "", false, dOciVersion},
    {"hooks", A, "see its fields"},
    HOOK_LIST("prestart"),
    HOOK_LIST("createRuntime"),
    HOOK_LIST("createContainer"),
    HOOK_LIST("startContainer"),
    HOOK_LIST("poststart"),
    HOOK_LIST("poststop"),
    {"annotations", A, "recorded in the state; caprun reads run.caprun.* ones", true},
    {"hostname", A, "sethostname in the new uts namespace"},
    {"domainname", A, "setdomainname in the new uts namespace"},
    {"mounts", A, "see its fields"},
    {"mounts[].source", A, "mounted (bind: resolved against the bundle)"},
    {"mounts[].destination", A, "created inside the rootfs, resolved without leaving it"},
    {"mounts[].options", A, "", false, dMountOptions},
    {"mounts[].type", A, "the filesystem type to mount"},
    ID_MAPPING("mounts[].uidMappings", A, kIdmap),
    ID_MAPPING("mounts[].gidMappings", A, kIdmap),
    {"root", A, "see its fields"},
    {"root.path", A, "the rootfs (relative to the bundle)"},
    {"root.readonly", A, "the rootfs is remounted read-only after the mounts"},
    {"process", A, "see its fields"},
    {"process.args", A, "execve'd, looked up in PATH like execvp"},
    {"process.commandLine", I, "Windows only (the spec); a Linux process runs process.args"},
    {"process.consoleSize", A, "set on the pty", true},
    {"process.consoleSize.height", A, "part of consoleSize"},
    {"process.consoleSize.width", A, "part of consoleSize"},
    {"process.cwd", A, "created if missing, inside the rootfs, then entered"},
    {"process.env", A, "the process environment"},
    {"process.terminal", A,
     "a pty of the container's devpts (master to --console-socket), bound on /dev/console"},
    {"process.user", A, "see its fields"},
    {"process.user.uid", A, "setresuid"},
    {"process.user.gid", A, "setresgid"},
    {"process.user.umask", A, "umask before execve"},
    {"process.user.additionalGids", A, "setgroups"},
    {"process.user.username", I, "Windows only (the spec); on Linux the user is uid/gid"},
    {"process.capabilities", A, "see its fields"},
    {"process.capabilities.bounding", A, "planned against the host (check's capability section)"},
    {"process.capabilities.permitted", A, "planned against the host (check's capability section)"},
    {"process.capabilities.effective", A, "planned against the host (check's capability section)"},
    {"process.capabilities.inheritable", A,
     "planned against the host (check's capability section)"},
    {"process.capabilities.ambient", A, "planned against the host (check's capability section)"},
    {"process.apparmorProfile", A, "", false, dApparmor},
    {"process.oomScoreAdj", A,
     "written to /proc/self/oom_score_adj on the container's verified procfs (planned against the "
     "host)"},
    {"process.selinuxLabel", A, "", false, dSelinux},
    {"process.ioPriority", A, "", true, dIoPriority},
    {"process.ioPriority.class", A, "part of ioPriority"},
    {"process.ioPriority.priority", A, "part of ioPriority"},
    {"process.noNewPrivileges", A, "PR_SET_NO_NEW_PRIVS"},
    {"process.scheduler", A, "", true, dScheduler},
    {"process.scheduler.policy", A, "part of scheduler"},
    {"process.scheduler.nice", A, "part of scheduler"},
    {"process.scheduler.priority", A, "part of scheduler"},
    {"process.scheduler.flags", A, "part of scheduler"},
    {"process.scheduler.runtime", A, "part of scheduler"},
    {"process.scheduler.deadline", A, "part of scheduler"},
    {"process.scheduler.period", A, "part of scheduler"},
    {"process.rlimits", A, "setrlimit (planned against the host)", true},
    {"process.rlimits[].hard", A, "part of the rlimit"},
    {"process.rlimits[].soft", A, "part of the rlimit"},
    {"process.rlimits[].type", A, "part of the rlimit"},
    {"process.execCPUAffinity", A, "", true, dExecCpuAffinity},
    {"process.execCPUAffinity.initial", A, "part of execCPUAffinity"},
    {"process.execCPUAffinity.final", A, "part of execCPUAffinity"},
    {"linux", A, "see its fields"},
    {"linux.devices", A, "created in /dev (bound from the host in a user namespace)", true},
    {"linux.devices[].type", A, "part of the device"},
    {"linux.devices[].path", A, "part of the device"},
    {"linux.devices[].fileMode", A, "part of the device"},
    {"linux.devices[].major", A, "part of the device"},
    {"linux.devices[].minor", A, "part of the device"},
    {"linux.devices[].uid", A, "part of the device"},
    {"linux.devices[].gid", A, "part of the device"},
    {"linux.netDevices", A, "", true, dNetDevices},
    {"linux.netDevices{}.name", A, "part of netDevices"},
    ID_MAPPING("linux.uidMappings", A, "written to /proc/<pid>/uid_map"),
    ID_MAPPING("linux.gidMappings", A, "written to /proc/<pid>/gid_map"),
    {"linux.namespaces", A, "created with clone3 or joined with setns", true},
    {"linux.namespaces[].type", A, "part of the namespace"},
    {"linux.namespaces[].path", A, "part of the namespace"},
    {"linux.resources", A, "see its fields"},
    {"linux.resources.unified", A, "cgroup v2 files written as given", true},
    {"linux.resources.devices", A, "the device cgroup (v1) or eBPF program (v2)", true},
    {"linux.resources.devices[].allow", A, "part of the rule"},
    {"linux.resources.devices[].type", A, "part of the rule"},
    {"linux.resources.devices[].major", A, "part of the rule"},
    {"linux.resources.devices[].minor", A, "part of the rule"},
    {"linux.resources.devices[].access", A, "part of the rule"},
    {"linux.resources.pids", A, "see its fields"},
    CGROUP("pids.limit", kCg),
    {"linux.resources.blockIO", A, "see its fields"},
    CGROUP("blockIO.weight", kCg),
    CGROUP("blockIO.leafWeight", kCg),
    BLKIO_DEVICES("throttleReadBpsDevice"),
    BLKIO_DEVICES("throttleWriteBpsDevice"),
    BLKIO_DEVICES("throttleReadIOPSDevice"),
    BLKIO_DEVICES("throttleWriteIOPSDevice"),
    {"linux.resources.blockIO.weightDevice", A, kCg, true},
    {"linux.resources.blockIO.weightDevice[].major", A, "part of the entry"},
    {"linux.resources.blockIO.weightDevice[].minor", A, "part of the entry"},
    {"linux.resources.blockIO.weightDevice[].weight", A, "part of the entry"},
    {"linux.resources.blockIO.weightDevice[].leafWeight", A, "part of the entry"},
    {"linux.resources.cpu", A, "see its fields"},
    CGROUP("cpu.cpus", kCg),
    CGROUP("cpu.mems", kCg),
    CGROUP("cpu.period", kCg),
    CGROUP("cpu.quota", kCg),
    CGROUP("cpu.burst", kCg),
    CGROUP("cpu.realtimePeriod", kCg),
    CGROUP("cpu.realtimeRuntime", kCg),
    CGROUP("cpu.shares", kCg),
    CGROUP("cpu.idle", kCg),
    {"linux.resources.hugepageLimits", A, kCg, true},
    CGROUP("hugepageLimits[].pageSize", "part of the limit"),
    CGROUP("hugepageLimits[].limit", "part of the limit"),
    {"linux.resources.memory", A, "see its fields"},
    CGROUP("memory.kernel", kCg),
    CGROUP("memory.kernelTCP", kCg),
    CGROUP("memory.limit", kCg),
    CGROUP("memory.reservation", kCg),
    CGROUP("memory.swap", kCg),
    CGROUP("memory.swappiness", kCg),
    CGROUP("memory.disableOOMKiller", kCg),
    CGROUP("memory.useHierarchy", kCg),
    CGROUP("memory.checkBeforeUpdate", "update refuses a limit below the current usage"),
    {"linux.resources.network", A, "see its fields"},
    CGROUP("network.classID", kCg),
    {"linux.resources.network.priorities", A, kCg, true},
    CGROUP("network.priorities[].name", "part of the entry"),
    CGROUP("network.priorities[].priority", "part of the entry"),
    {"linux.resources.rdma", A, "", true, dRdma},
    {"linux.resources.rdma{}.hcaHandles", A, "part of rdma"},
    {"linux.resources.rdma{}.hcaObjects", A, "part of rdma"},
    {"linux.cgroupsPath", A, "the container's cgroup"},
    {"linux.rootfsPropagation", A, "the rootfs mount's propagation"},
    {"linux.seccomp", A, "see its fields (check's seccomp section shows the filter)"},
    {"linux.seccomp.defaultAction", A, "compiled into the filter"},
    {"linux.seccomp.defaultErrnoRet", A, "compiled into the filter"},
    {"linux.seccomp.flags", A, "passed to seccomp(2)"},
    {"linux.seccomp.listenerPath", A, "the notify fd is sent there"},
    {"linux.seccomp.listenerMetadata", A, "sent with the notify fd"},
    {"linux.seccomp.architectures", A, "compiled into the filter"},
    {"linux.seccomp.syscalls", A, "compiled into the filter", true},
    {"linux.seccomp.syscalls[].names", A, "part of the rule"},
    {"linux.seccomp.syscalls[].action", A, "part of the rule"},
    {"linux.seccomp.syscalls[].errnoRet", A, "part of the rule"},
    {"linux.seccomp.syscalls[].args", A, "part of the rule"},
    {"linux.seccomp.syscalls[].args[].index", A, "part of the rule"},
    {"linux.seccomp.syscalls[].args[].value", A, "part of the rule"},
    {"linux.seccomp.syscalls[].args[].valueTwo", A, "part of the rule"},
    {"linux.seccomp.syscalls[].args[].op", A, "part of the rule"},
    {"linux.sysctl", A, "written under /proc/sys in the container's namespaces", true},
    {"linux.maskedPaths", A, "masked with the null device or an empty read-only tmpfs"},
    {"linux.readonlyPaths", A, "bound read-only"},
    {"linux.mountLabel", A, "", false, dMountLabel},
    {"linux.intelRdt", A, "", true, dIntelRdt},
    {"linux.intelRdt.closID", A, "part of intelRdt"},
    {"linux.intelRdt.schemata", A, "part of intelRdt"},
    {"linux.intelRdt.l3CacheSchema", A, "part of intelRdt"},
    {"linux.intelRdt.memBwSchema", A, "part of intelRdt"},
    {"linux.intelRdt.enableMonitoring", A, "part of intelRdt"},
    {"linux.memoryPolicy", A, "", true, dMemoryPolicy},
    {"linux.memoryPolicy.mode", A, "part of memoryPolicy"},
    {"linux.memoryPolicy.nodes", A, "part of memoryPolicy"},
    {"linux.memoryPolicy.flags", A, "part of memoryPolicy"},
    {"linux.personality", A, "", true, dPersonality},
    {"linux.personality.domain", A, "part of personality"},
    {"linux.personality.flags", A, "part of personality"},
    {"linux.timeOffsets", A, "written to /proc/<pid>/timens_offsets", true},
    {"linux.timeOffsets.boottime", A, "part of timeOffsets"},
    {"linux.timeOffsets.boottime.secs", A, "part of timeOffsets"},
    {"linux.timeOffsets.boottime.nanosecs", A, "part of timeOffsets"},
    {"linux.timeOffsets.monotonic", A, "part of timeOffsets"},
    {"linux.timeOffsets.monotonic.secs", A, "part of timeOffsets"},
    {"linux.timeOffsets.monotonic.nanosecs", A, "part of timeOffsets"},
    {"solaris", I, kOther, true},
    {"windows", I, kOther, true},
    {"vm", I, kOther, true},
    {"zos", I, kOther, true},
    {"freebsd", I, kOther, true},
};

const std::map<std::string, const FieldRule*>& ruleIndex() {
    static const std::map<std::string, const FieldRule*> m = [] {
        std::map<std::string, const FieldRule*> out;
        for (const auto& r : kRules) out[r.field] = &r;
        return out;
    }();
    return m;
}

bool hasMapChildren(const std::string& field) {
    const auto& idx = ruleIndex();
    auto it = idx.lower_bound(field + "{}");
    return it != idx.end() && it->first.rfind(field + "{}", 0) == 0;
}

void walk(const rapidjson::Value& v, const std::string& path, const std::string& field,
          std::vector<PresentField>& out);

// The members of an object (an array element or a map value, which have no entry of their
// own) walked one by one.
void walkMembers(const rapidjson::Value& v, const std::string& path, const std::string& field,
                 std::vector<PresentField>& out) {
    if (!v.IsObject()) {
        out.push_back({path, field});
        return;
    }
    bool map = hasMapChildren(field);
    for (auto m = v.MemberBegin(); m != v.MemberEnd(); ++m) {
        std::string key(m->name.GetString(), m->name.GetStringLength());
        std::string sep = path.empty() ? "" : ".";
        if (map)
            walkMembers(m->value, path + sep + key, field + "{}", out);
        else
            walk(m->value, path + sep + key, field + sep + key, out);
    }
}

void walk(const rapidjson::Value& v, const std::string& path, const std::string& field,
          std::vector<PresentField>& out) {
    const FieldRule* rule = findFieldRule(field);
    if (!rule || rule->whole) {
        out.push_back({path, field});
        return;
    }
    if (v.IsObject()) {
        walkMembers(v, path, field, out);
        return;
    }
    if (v.IsArray() &&
        std::any_of(v.Begin(), v.End(), [](const rapidjson::Value& e) { return e.IsObject(); })) {
        // An array of objects the table describes member by member.
        for (rapidjson::SizeType i = 0; i < v.Size(); ++i)
            walkMembers(v[i], path + "[" + std::to_string(i) + "]", field + "[]", out);
        return;
    }
    out.push_back({path, field});
}

}  // namespace

const char* verdictName(Verdict v) {
    switch (v) {
        case Verdict::Applied:
            return "applied";
        case Verdict::Refused:
            return "refused";
        case Verdict::Ignored:
            return "ignored";
    }
    return "?";
}

const std::vector<FieldRule>& specFieldRules() {
    return kRules;
}

const FieldRule* findFieldRule(const std::string& field) {
    const auto& idx = ruleIndex();
    auto it = idx.find(field);
    return it == idx.end() ? nullptr : it->second;
}

std::vector<PresentField> listPresentFields(const rapidjson::Value& top) {
    std::vector<PresentField> out;
    if (!top.IsObject()) return out;
    for (auto m = top.MemberBegin(); m != top.MemberEnd(); ++m) {
        std::string key(m->name.GetString(), m->name.GetStringLength());
        walk(m->value, key, key, out);
    }
    return out;
}

bool FieldPlan::refuses() const {
    return std::any_of(fields.begin(), fields.end(),
                       [](const FieldDecision& d) { return d.verdict == Verdict::Refused; });
}

std::string FieldPlan::refusalMessage() const {
    std::string out;
    for (const auto& d : fields)
        if (d.verdict == Verdict::Refused)
            out += (out.empty() ? "" : "\n") + std::string("config.json: ") + d.path + ": " + d.why;
    return out;
}

FieldPlan planSpecFields(const Spec& spec, const PlatformFacts& facts) {
    FieldPlan plan;
    // Whole objects refused through a parent (intelRdt) are decided once, at the parent.
    for (const auto& f : spec.presentFields) {
        const FieldRule* rule = findFieldRule(f.field);
        if (!rule) {
            plan.fields.push_back(decision(f, Verdict::Ignored,
                                           "not a runtime-spec 1.3 field: ignored, as the spec "
                                           "requires for unknown properties"));
            continue;
        }
        if (rule->decide)
            plan.fields.push_back(rule->decide(spec, facts, f));
        else
            plan.fields.push_back(decision(f, rule->verdict, rule->why));
    }
    return plan;
}

std::string ociVersionRefusal(const std::string& version) {
    // "1.0.2-dev", "1.3.0+dev": major.minor decide; a patch or pre-release is compatible.
    unsigned major = 0, minor = 0;
    std::size_t i = 0;
    auto number = [&](unsigned& out) {
        std::size_t start = i;
        while (i < version.size() && version[i] >= '0' && version[i] <= '9' && i - start < 6)
            out = out * 10 + static_cast<unsigned>(version[i++] - '0');
        return i > start;
    };
    if (!number(major) || i >= version.size() || version[i++] != '.' || !number(minor))
        return "\"" + version + "\" is not a runtime-spec version (expected like 1.0.2)";
    if (major < 1)
        return "the config is for runtime-spec " + version +
               ", older than 1.0.0, the lowest version caprun implements";
    if (major > 1 || minor > kMaxMinor)
        return "the config is for runtime-spec " + version + ", newer than " + kHighest +
               ", the highest version caprun implements";
    return "";
}

}  // namespace caprun
