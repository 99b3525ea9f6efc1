#include "caprun/spec.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <set>

#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include "caprun/error.hpp"
#include "caprun/spec_fields.hpp"

namespace caprun {

namespace {

using json::Node;

constexpr std::array kNamespaceTypes{"pid", "network", "mount",  "ipc",
                                     "uts", "user",    "cgroup", "time"};

constexpr std::array kRlimitTypes{
    "RLIMIT_AS",     "RLIMIT_CORE",   "RLIMIT_CPU",        "RLIMIT_DATA",
    "RLIMIT_FSIZE",  "RLIMIT_LOCKS",  "RLIMIT_MEMLOCK",    "RLIMIT_MSGQUEUE",
    "RLIMIT_NICE",   "RLIMIT_NOFILE", "RLIMIT_NPROC",      "RLIMIT_RSS",
    "RLIMIT_RTPRIO", "RLIMIT_RTTIME", "RLIMIT_SIGPENDING", "RLIMIT_STACK"};

template <std::size_t N>
bool oneOf(const std::array<const char*, N>& list, const std::string& v) {
    return std::any_of(list.begin(), list.end(), [&](const char* s) { return v == s; });
}

template <std::size_t N>
std::string joined(const std::array<const char*, N>& list) {
    std::string out;
    for (const char* s : list) {
        if (!out.empty()) out += ", ";
        out += s;
    }
    return out;
}

std::vector<std::string> optStrings(const Node& n, std::string_view key) {
    if (auto v = n.get(key)) return v->asStringArray();
    return {};
}

std::vector<IdMapping> parseIdMappings(const Node& arr) {
    std::vector<IdMapping> out;
    for (const auto& item : arr.items()) {
        IdMapping m;
        m.containerID = item.require("containerID").asUint32();
        m.hostID = item.require("hostID").asUint32();
        m.size = item.require("size").asUint32();
        if (m.size == 0) item.require("size").fail("must be greater than 0");
        out.push_back(m);
    }
    return out;
}

Hook parseHook(const Node& n) {
    Hook h;
    h.path = n.require("path").asString();
    if (h.path.empty() || h.path[0] != '/')
        n.require("path").fail("must be an absolute path, got \"" + h.path + "\"");
    h.args = optStrings(n, "args");
    if (auto e = n.get("env")) h.env = e->asStringArray();
    if (auto t = n.get("timeout")) {
        h.timeout = t->asInt32();
        if (*h.timeout <= 0) t->fail("must be greater than zero");
    }
    return h;
}

std::vector<Hook> parseHookList(const Node& hooks, std::string_view key) {
    std::vector<Hook> out;
    if (auto arr = hooks.get(key))
        for (const auto& item : arr->items()) out.push_back(parseHook(item));
    return out;
}

Capabilities parseCapabilities(const Node& n) {
    Capabilities c;
    c.bounding = optStrings(n, "bounding");
    c.effective = optStrings(n, "effective");
    c.inheritable = optStrings(n, "inheritable");
    c.permitted = optStrings(n, "permitted");
    c.ambient = optStrings(n, "ambient");
    return c;
}

User parseUser(const Node& n) {
    User u;
    u.uid = n.require("uid").asUint32();
    u.gid = n.require("gid").asUint32();
    if (auto m = n.get("umask")) {
        u.umask = m->asUint32();
        if (*u.umask > 0777)
            m->fail("must be between 0 and 0777 (511), got " + std::to_string(*u.umask));
    }
    if (auto g = n.get("additionalGids"))
        for (const auto& item : g->items()) u.additionalGids.push_back(item.asUint32());
    u.username = n.optString("username").value_or("");
    return u;
}

Mount parseMount(const Node& n) {
    Mount m;
    m.jsonPath = n.path();
    m.destination = n.require("destination").asString();
    if (m.destination.empty()) n.require("destination").fail("must not be empty");
    m.type = n.optString("type").value_or("");
    m.source = n.optString("source").value_or("");
    m.options = optStrings(n, "options");
    if (auto u = n.get("uidMappings")) m.uidMappings = parseIdMappings(*u);
    if (auto g = n.get("gidMappings")) m.gidMappings = parseIdMappings(*g);
    return m;
}

Device parseDevice(const Node& n) {
    Device d;
    d.path = n.require("path").asString();
    if (d.path.empty() || d.path[0] != '/')
        n.require("path").fail("must be an absolute path, got \"" + d.path + "\"");
    d.type = n.require("type").asString();
    if (d.type != "c" && d.type != "b" && d.type != "u" && d.type != "p")
        n.require("type").fail("expected one of c, b, u, p, got \"" + d.type + "\"");
    if (d.type != "p") {
        d.major = n.require("major").asInt64();
        d.minor = n.require("minor").asInt64();
    }
    d.fileMode = n.optUint32("fileMode");
    d.uid = n.optUint32("uid");
    d.gid = n.optUint32("gid");
    return d;
}

DeviceCgroupRule parseDeviceRule(const Node& n) {
    DeviceCgroupRule r;
    r.allow = n.require("allow").asBool();
    r.type = n.optString("type").value_or("a");
    if (r.type != "a" && r.type != "c" && r.type != "b")
        n.require("type").fail("expected one of a, c, b, got \"" + r.type + "\"");
    r.major = n.optInt64("major");
    r.minor = n.optInt64("minor");
    r.access = n.optString("access").value_or("rwm");
    if (r.access.find_first_not_of("rwm") != std::string::npos)
        n.require("access").fail("expected letters from \"rwm\", got \"" + r.access + "\"");
    return r;
}

std::vector<WeightDevice> parseWeightDevices(const Node& n, std::string_view key) {
    std::vector<WeightDevice> out;
    if (auto arr = n.get(key)) {
        for (const auto& item : arr->items()) {
            WeightDevice w;
            w.major = item.require("major").asInt64();
            w.minor = item.require("minor").asInt64();
            if (auto v = item.get("weight")) w.weight = static_cast<std::uint16_t>(v->asUint32());
            if (auto v = item.get("leafWeight"))
                w.leafWeight = static_cast<std::uint16_t>(v->asUint32());
            out.push_back(w);
        }
    }
    return out;
}

std::vector<ThrottleDevice> parseThrottle(const Node& n, std::string_view key) {
    std::vector<ThrottleDevice> out;
    if (auto arr = n.get(key)) {
        for (const auto& item : arr->items()) {
            ThrottleDevice t;
            t.major = item.require("major").asInt64();
            t.minor = item.require("minor").asInt64();
            t.rate = item.require("rate").asUint64();
            out.push_back(t);
        }
    }
    return out;
}

std::optional<std::uint16_t> optUint16(const Node& n, std::string_view key) {
    if (auto v = n.get(key)) {
        auto x = v->asUint32();
        if (x > 0xffff) v->fail("expected a value up to 65535, got " + std::to_string(x));
        return static_cast<std::uint16_t>(x);
    }
    return std::nullopt;
}

SeccompFilter parseSeccompFilter(const Node& n) {
    SeccompFilter f;
    f.caps = optStrings(n, "caps");
    f.arches = optStrings(n, "arches");
    f.minKernel = n.optString("minKernel").value_or("");
    return f;
}

SeccompSyscall parseSeccompSyscall(const Node& n) {
    SeccompSyscall s;
    s.jsonPath = n.path();
    if (auto names = n.get("names")) {
        s.names = names->asStringArray();
    } else if (auto name = n.get("name")) {
        // Older profiles (and dockerd's) may use a single "name".
        s.names.push_back(name->asString());
    } else {
        n.require("names");
    }
    if (s.names.empty()) n.require("names").fail("must list at least one syscall");
    s.action = n.require("action").asString();
    s.errnoRet = n.optUint32("errnoRet");
    if (auto args = n.get("args")) {
        for (const auto& a : args->items()) {
            SeccompArg arg;
            arg.index = a.require("index").asUint32();
            arg.value = a.require("value").asUint64();
            arg.valueTwo = a.optUint64("valueTwo").value_or(0);
            arg.op = a.require("op").asString();
            s.args.push_back(arg);
        }
    }
    if (auto inc = n.get("includes")) s.includes = parseSeccompFilter(*inc);
    if (auto exc = n.get("excludes")) s.excludes = parseSeccompFilter(*exc);
    s.comment = n.optString("comment").value_or("");
    return s;
}

Linux parseLinux(const Node& n) {
    Linux l;
    if (auto ns = n.get("namespaces")) {
        std::set<std::string> seen;
        for (const auto& item : ns->items()) {
            Namespace x;
            x.type = item.require("type").asString();
            if (!oneOf(kNamespaceTypes, x.type))
                item.require("type").fail("unknown namespace type \"" + x.type +
                                          "\"; expected one of " + joined(kNamespaceTypes));
            if (!seen.insert(x.type).second)
                item.require("type").fail("namespace \"" + x.type + "\" is listed twice");
            x.path = item.optString("path").value_or("");
            l.namespaces.push_back(x);
        }
    }
    if (auto m = n.get("uidMappings")) l.uidMappings = parseIdMappings(*m);
    if (auto m = n.get("gidMappings")) l.gidMappings = parseIdMappings(*m);
    if (auto t = n.get("timeOffsets")) {
        for (const auto& [k, v] : t->members()) {
            if (k != "boottime" && k != "monotonic")
                v.fail("unknown clock; expected boottime or monotonic");
            TimeOffset o;
            o.secs = v.optInt64("secs").value_or(0);
            o.nanosecs = v.optUint32("nanosecs").value_or(0);
            l.timeOffsets[k] = o;
        }
    }
    if (auto d = n.get("devices"))
        for (const auto& item : d->items()) l.devices.push_back(parseDevice(item));
    l.cgroupsPath = n.optString("cgroupsPath").value_or("");
    if (auto r = n.get("resources")) l.resources = parseResources(*r);
    l.rootfsPropagation = n.optString("rootfsPropagation").value_or("");
    if (!l.rootfsPropagation.empty()) {
        static constexpr std::array kProp{"private", "rprivate", "shared",     "rshared",
                                          "slave",   "rslave",   "unbindable", "runbindable"};
        if (!oneOf(kProp, l.rootfsPropagation))
            n.require("rootfsPropagation")
                .fail("expected one of " + joined(kProp) + ", got \"" + l.rootfsPropagation + "\"");
    }
    if (auto s = n.get("seccomp")) l.seccomp = parseSeccomp(*s);
    if (auto s = n.get("sysctl")) l.sysctl = s->asStringMap();
    l.maskedPaths = optStrings(n, "maskedPaths");
    l.readonlyPaths = optStrings(n, "readonlyPaths");
    l.mountLabel = n.optString("mountLabel").value_or("");
    if (auto p = n.get("personality")) {
        Personality per;
        per.domain = p->require("domain").asString();
        if (per.domain != "LINUX" && per.domain != "LINUX32")
            p->require("domain").fail("expected LINUX or LINUX32, got \"" + per.domain + "\"");
        per.flags = optStrings(*p, "flags");
        l.personality = per;
    }
    if (auto mp = n.get("memoryPolicy")) l.memoryPolicy = parseMemoryPolicy(*mp);
    if (auto nd = n.get("netDevices")) l.netDevices = parseNetDevices(*nd);
    if (auto rdt = n.get("intelRdt")) l.intelRdt = parseIntelRdt(*rdt);
    return l;
}

}  // namespace

Process parseProcess(const Node& n) {
    Process p;
    p.terminal = n.optBool("terminal").value_or(false);
    if (auto cs = n.get("consoleSize")) {
        ConsoleSize c;
        c.height = cs->require("height").asUint32();
        c.width = cs->require("width").asUint32();
        p.consoleSize = c;
    }
    p.user = parseUser(n.require("user"));
    auto args = n.require("args");
    p.args = args.asStringArray();
    if (p.args.empty()) args.fail("must name the program to run (empty array)");
    p.env = optStrings(n, "env");
    p.cwd = n.require("cwd").asString();
    if (p.cwd.empty() || p.cwd[0] != '/')
        n.require("cwd").fail("must be an absolute path, got \"" + p.cwd + "\"");
    if (auto c = n.get("capabilities")) p.capabilities = parseCapabilities(*c);
    if (auto r = n.get("rlimits")) {
        std::set<std::string> seen;
        for (const auto& item : r->items()) {
            Rlimit rl;
            rl.jsonPath = item.path();
            rl.type = item.require("type").asString();
            if (!oneOf(kRlimitTypes, rl.type))
                item.require("type").fail("unknown rlimit \"" + rl.type + "\"; expected one of " +
                                          joined(kRlimitTypes));
            if (!seen.insert(rl.type).second)
                item.require("type").fail("rlimit " + rl.type + " is listed twice");
            rl.hard = item.require("hard").asUint64();
            rl.soft = item.require("soft").asUint64();
            if (rl.soft > rl.hard)
                item.fail("soft limit " + std::to_string(rl.soft) + " is above hard limit " +
                          std::to_string(rl.hard));
            p.rlimits.push_back(rl);
        }
    }
    p.noNewPrivileges = n.optBool("noNewPrivileges").value_or(false);
    p.apparmorProfile = n.optString("apparmorProfile").value_or("");
    p.oomScoreAdj = n.optInt32("oomScoreAdj");
    if (p.oomScoreAdj && (*p.oomScoreAdj < -1000 || *p.oomScoreAdj > 1000))
        n.require("oomScoreAdj")
            .fail("must be between -1000 and 1000, got " + std::to_string(*p.oomScoreAdj));
    p.selinuxLabel = n.optString("selinuxLabel").value_or("");
    if (auto io = n.get("ioPriority")) {
        IoPriority x;
        x.ioClass = io->require("class").asString();
        if (x.ioClass != "IOPRIO_CLASS_RT" && x.ioClass != "IOPRIO_CLASS_BE" &&
            x.ioClass != "IOPRIO_CLASS_IDLE")
            io->require("class").fail(
                "expected IOPRIO_CLASS_RT, IOPRIO_CLASS_BE or IOPRIO_CLASS_IDLE, got \"" +
                x.ioClass + "\"");
        x.priority = io->optInt32("priority").value_or(0);
        p.ioPriority = x;
    }
    if (auto s = n.get("scheduler")) {
        Scheduler x;
        x.policy = s->require("policy").asString();
        static constexpr std::array kPolicies{"SCHED_OTHER",   "SCHED_FIFO", "SCHED_RR",
                                              "SCHED_BATCH",   "SCHED_ISO",  "SCHED_IDLE",
                                              "SCHED_DEADLINE"};
        if (!oneOf(kPolicies, x.policy))
            s->require("policy").fail("expected one of " + joined(kPolicies) + ", got \"" +
                                      x.policy + "\"");
        x.nice = s->optInt32("nice");
        x.priority = s->optInt32("priority");
        x.flags = optStrings(*s, "flags");
        x.runtime = s->optUint64("runtime");
        x.deadline = s->optUint64("deadline");
        x.period = s->optUint64("period");
        p.scheduler = x;
    }
    if (auto a = n.get("execCPUAffinity")) p.execCPUAffinity = parseExecCpuAffinity(*a);
    return p;
}

Resources parseResources(const Node& n) {
    Resources r;
    if (auto d = n.get("devices"))
        for (const auto& item : d->items()) r.devices.push_back(parseDeviceRule(item));
    if (auto m = n.get("memory")) {
        MemoryResources x;
        x.limit = m->optInt64("limit");
        x.reservation = m->optInt64("reservation");
        x.swap = m->optInt64("swap");
        x.kernel = m->optInt64("kernel");
        x.kernelTCP = m->optInt64("kernelTCP");
        x.swappiness = m->optUint64("swappiness");
        x.disableOOMKiller = m->optBool("disableOOMKiller");
        x.useHierarchy = m->optBool("useHierarchy");
        x.checkBeforeUpdate = m->optBool("checkBeforeUpdate");
        r.memory = x;
    }
    if (auto c = n.get("cpu")) {
        CpuResources x;
        x.shares = c->optUint64("shares");
        x.quota = c->optInt64("quota");
        x.burst = c->optUint64("burst");
        x.period = c->optUint64("period");
        x.realtimeRuntime = c->optInt64("realtimeRuntime");
        x.realtimePeriod = c->optUint64("realtimePeriod");
        x.cpus = c->optString("cpus").value_or("");
        x.mems = c->optString("mems").value_or("");
        x.idle = c->optInt64("idle");
        r.cpu = x;
    }
    if (auto p = n.get("pids")) {
        PidsResources x;
        x.limit = p->optInt64("limit");
        r.pids = x;
    }
    if (auto b = n.get("blockIO")) {
        BlockIoResources x;
        x.weight = optUint16(*b, "weight");
        x.leafWeight = optUint16(*b, "leafWeight");
        x.weightDevice = parseWeightDevices(*b, "weightDevice");
        x.throttleReadBpsDevice = parseThrottle(*b, "throttleReadBpsDevice");
        x.throttleWriteBpsDevice = parseThrottle(*b, "throttleWriteBpsDevice");
        x.throttleReadIOPSDevice = parseThrottle(*b, "throttleReadIOPSDevice");
        x.throttleWriteIOPSDevice = parseThrottle(*b, "throttleWriteIOPSDevice");
        r.blockIO = x;
    }
    if (auto h = n.get("hugepageLimits")) {
        for (const auto& item : h->items()) {
            HugepageLimit x;
            x.pageSize = item.require("pageSize").asString();
            x.limit = item.require("limit").asUint64();
            r.hugepageLimits.push_back(x);
        }
    }
    if (auto rd = n.get("rdma")) {
        for (const auto& [device, v] : rd->members()) {
            RdmaLimit x;
            x.hcaHandles = v.optUint32("hcaHandles");
            x.hcaObjects = v.optUint32("hcaObjects");
            r.rdma[device] = x;
        }
    }
    if (auto net = n.get("network")) {
        NetworkResources x;
        x.classID = net->optUint32("classID");
        if (auto pr = net->get("priorities"))
            for (const auto& item : pr->items())
                x.priorities.emplace_back(item.require("name").asString(),
                                          item.require("priority").asUint32());
        r.network = x;
    }
    if (auto u = n.get("unified")) r.unified = u->asStringMap();
    return r;
}

Seccomp parseSeccomp(const Node& n) {
    Seccomp s;
    s.defaultAction = n.require("defaultAction").asString();
    s.defaultErrnoRet = n.optUint32("defaultErrnoRet");
    s.architectures = optStrings(n, "architectures");
    s.flags = optStrings(n, "flags");
    s.listenerPath = n.optString("listenerPath").value_or("");
    s.listenerMetadata = n.optString("listenerMetadata").value_or("");
    if (auto sc = n.get("syscalls"))
        for (const auto& item : sc->items()) s.syscalls.push_back(parseSeccompSyscall(item));
    return s;
}

namespace {

Spec specFromDocument(const json::Document& doc) {
    const std::string& label = doc.label;
    Node top = Node::root(doc);
    if (!top.isObject())
        throw Error(label + ": expected a JSON object at the top level, got " +
                    json::typeName(top.raw()));
    Spec s;
    s.ociVersion = top.require("ociVersion").asString();
    if (std::string why = ociVersionRefusal(s.ociVersion); !why.empty())
        top.require("ociVersion").fail(why);
    auto root = top.require("root");
    s.root.path = root.require("path").asString();
    if (s.root.path.empty()) root.require("path").fail("must not be empty");
    s.root.readonly = root.optBool("readonly").value_or(false);
    if (auto m = top.get("mounts"))
        for (const auto& item : m->items()) s.mounts.push_back(parseMount(item));
    if (auto p = top.get("process")) s.process = parseProcess(*p);
    s.hostname = top.optString("hostname").value_or("");
    s.domainname = top.optString("domainname").value_or("");
    if (auto h = top.get("hooks")) {
        s.hooks.prestart = parseHookList(*h, "prestart");
        s.hooks.createRuntime = parseHookList(*h, "createRuntime");
        s.hooks.createContainer = parseHookList(*h, "createContainer");
        s.hooks.startContainer = parseHookList(*h, "startContainer");
        s.hooks.poststart = parseHookList(*h, "poststart");
        s.hooks.poststop = parseHookList(*h, "poststop");
    }
    if (auto a = top.get("annotations")) s.annotations = a->asStringMap();
    if (auto l = top.get("linux")) s.linux = parseLinux(*l);
    s.presentFields = listPresentFields(top.raw());
    return s;
}

}  // namespace

Spec parseSpec(std::string_view text, const std::string& label) {
    return specFromDocument(json::parse(text, label));
}

Spec loadBundleSpec(const std::string& bundleDir) {
    struct stat st {};
    if (::stat(bundleDir.c_str(), &st) != 0) {
        int err = errno;
        if (err == ENOENT)
            throw Error("bundle directory " + bundleDir +
                        " does not exist: pass --bundle DIR, the directory holding "
                        "config.json and the rootfs");
        throwSys("opening bundle directory " + bundleDir, err);
    }
    if (!S_ISDIR(st.st_mode)) throw Error("bundle " + bundleDir + " is not a directory");
    std::string path = bundleDir + "/config.json";
    if (::access(path.c_str(), F_OK) != 0 && errno == ENOENT)
        throw Error("config.json: not found in bundle " + bundleDir +
                    " (create one with `caprun spec --bundle " + bundleDir + "`)");
    return specFromDocument(json::parseFile(path, "config.json", kMaxConfigBytes));
}

}  // namespace caprun

namespace caprun {

namespace {

// runc's default spec (ociVersion as runc 1.1 writes it, which crun 1.8 also accepts).
// terminal is on as in runc's (`sh` in a pty).
constexpr const char* kDefaultSpec = R"({
	"ociVersion": "1.0.2-dev",
	"process": {
		"terminal": true,
		"user": { "uid": 0, "gid": 0 },
		"args": [ "sh" ],
		"env": [
			"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"TERM=xterm"
		],
		"cwd": "/",
		"capabilities": {
			"bounding": [ "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE" ],
			"effective": [ "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE" ],
			"permitted": [ "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE" ]
		},
		"rlimits": [ { "type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024 } ],
		"noNewPrivileges": true
	},
	"root": { "path": "rootfs", "readonly": true },
	"hostname": "caprun",
	"mounts": [
		{ "destination": "/proc", "type": "proc", "source": "proc" },
		{ "destination": "/dev", "type": "tmpfs", "source": "tmpfs",
		  "options": [ "nosuid", "strictatime", "mode=755", "size=65536k" ] },
		{ "destination": "/dev/pts", "type": "devpts", "source": "devpts",
		  "options": [ "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5" ] },
		{ "destination": "/dev/shm", "type": "tmpfs", "source": "shm",
		  "options": [ "nosuid", "noexec", "nodev", "mode=1777", "size=65536k" ] },
		{ "destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
		  "options": [ "nosuid", "noexec", "nodev" ] },
		{ "destination": "/sys", "type": "sysfs", "source": "sysfs",
		  "options": [ "nosuid", "noexec", "nodev", "ro" ] },
		{ "destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
		  "options": [ "nosuid", "noexec", "nodev", "relatime", "ro" ] }
	],
	"linux": {
		"resources": { "devices": [ { "allow": false, "access": "rwm" } ] },
		"namespaces": [
			{ "type": "pid" }, { "type": "network" }, { "type": "ipc" },
			{ "type": "uts" }, { "type": "mount" }, { "type": "cgroup" }
		],
		"maskedPaths": [
			"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
			"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
			"/proc/scsi"
		],
		"readonlyPaths": [
			"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"
		]
	}
}
)";

}  // namespace

std::string defaultSpecJson(bool rootless) {
    if (!rootless) return kDefaultSpec;
    // runc's rootless changes to the default: a user namespace mapping the caller to root,
    // no network or cgroup namespace, /sys bound from the host, no devpts gid, no device
    // cgroup rules (an unprivileged user cannot set them).
    rapidjson::Document d;
    d.Parse(kDefaultSpec);
    auto& a = d.GetAllocator();
    auto& linux = d["linux"];
    linux.RemoveMember("resources");
    auto& nss = linux["namespaces"];
    for (auto it = nss.Begin(); it != nss.End();) {
        std::string t = (*it)["type"].GetString();
        it = (t == "network" || t == "cgroup") ? nss.Erase(it) : it + 1;
    }
    rapidjson::Value userNs(rapidjson::kObjectType);
    userNs.AddMember("type", "user", a);
    nss.PushBack(userNs, a);
    for (const char* key : {"uidMappings", "gidMappings"}) {
        rapidjson::Value m(rapidjson::kObjectType);
        m.AddMember("containerID", 0, a);
        m.AddMember("hostID", key[0] == 'u' ? ::geteuid() : ::getegid(), a);
        m.AddMember("size", 1, a);
        rapidjson::Value arr(rapidjson::kArrayType);
        arr.PushBack(m, a);
        linux.AddMember(rapidjson::StringRef(key), arr, a);
    }
    auto& mounts = d["mounts"];
    for (auto it = mounts.Begin(); it != mounts.End();) {
        std::string dest = (*it)["destination"].GetString();
        if (dest == "/sys/fs/cgroup") {
            it = mounts.Erase(it);
            continue;
        }
        if (dest == "/dev/pts") {
            auto& opts = (*it)["options"];
            for (auto o = opts.Begin(); o != opts.End();)
                o = std::string(o->GetString()) == "gid=5" ? opts.Erase(o) : o + 1;
        }
        if (dest == "/sys") {
            (*it)["type"].SetString("none");
            (*it)["source"].SetString("/sys");
            (*it)["options"].PushBack("rbind", a);
        }
        ++it;
    }
    rapidjson::StringBuffer buf;
    rapidjson::PrettyWriter<rapidjson::StringBuffer> w(buf);
    w.SetIndent('\t', 1);
    d.Accept(w);
    return std::string(buf.GetString(), buf.GetSize()) + "\n";
}

}  // namespace caprun
