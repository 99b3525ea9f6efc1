// What a recorded run needs, and the files that say it. See include/caprun/record_plan.hpp.
#include "caprun/record_plan.hpp"

#include <seccomp.h>

#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include <algorithm>
#include <cstdlib>
#include <set>
#include <tuple>

#include "caprun/json.hpp"
#include "caprun/seccomp_names.hpp"

namespace caprun {

namespace {

using Writer = rapidjson::PrettyWriter<rapidjson::StringBuffer>;

std::string syscallNameOn(std::uint32_t arch, long nr) {
    if (nr >= 0) {
        if (char* n = seccomp_syscall_resolve_num_arch(arch, static_cast<int>(nr))) {
            std::string s = n;
            std::free(n);
            return s;
        }
    }
    return "syscall " + std::to_string(nr);
}

bool named(const std::string& s) {
    return s.rfind("syscall ", 0) != 0;
}

std::string bareCapName(int cap) {
    std::string n = capabilityName(cap);
    return n.rfind("CAP_", 0) == 0 ? n.substr(4) : n;
}

void addCount(std::vector<SyscallCount>& v, const std::string& name, std::uint64_t n) {
    for (auto& c : v)
        if (c.syscall == name) {
            c.count += n;
            return;
        }
    v.push_back({name, n});
}

void sortByCount(std::map<int, std::vector<SyscallCount>>& m) {
    for (auto& [cap, v] : m)
        std::sort(v.begin(), v.end(), [](const SyscallCount& a, const SyscallCount& b) {
            return std::tie(b.count, a.syscall) < std::tie(a.count, b.syscall);
        });
}

}  // namespace

const std::vector<std::string>& initSyscallsAfterFilter() {
    // applyCapabilityPlan (prctl keep-caps and ambient, setgroups, setresgid, setresuid,
    // capset), no_new_privs, chdir, findExecutable's access/stat, the wait on the exec FIFO
    // and the sync socket, closing fds (close_range or /proc/self/fd), the LSM exec attrs
    // (open/write), execve; the error path writes the message and exits. The allocator and
    // signal handling of libstdc++/glibc may run in between.
    static const std::vector<std::string> names = {
        "access",       "brk",     "capget",      "capset",  "chdir",        "close",
        "close_range",  "execve",  "execveat",    "exit",    "exit_group",   "faccessat",
        "faccessat2",   "fcntl",   "fstat",       "futex",   "getdents64",   "getegid",
        "geteuid",      "getgid",  "getpid",      "gettid",  "getuid",       "lseek",
        "madvise",      "mmap",    "mprotect",    "munmap",  "newfstatat",   "open",
        "openat",       "prctl",   "read",        "recvmsg", "rt_sigaction", "rt_sigprocmask",
        "rt_sigreturn", "sendmsg", "sendto",      "setgid",  "setgroups",    "setresgid",
        "setresuid",    "setuid",  "sigaltstack", "stat",    "statx",        "write",
        "writev",
    };
    return names;
}

Recording mergeRecordings(const std::vector<Recording>& runs) {
    std::map<std::tuple<std::uint32_t, long>, std::uint64_t> sys;
    std::map<std::tuple<int, std::uint32_t, long, bool, bool>, std::uint64_t> caps;
    for (const auto& r : runs) {
        for (const auto& s : r.syscalls) sys[{s.arch, s.nr}] += s.count;
        for (const auto& c : r.capChecks)
            caps[{c.cap, c.arch, c.nr, c.granted, c.viaAmbient}] += c.count;
    }
    Recording out;
    for (const auto& [k, n] : sys) out.syscalls.push_back({std::get<0>(k), std::get<1>(k), n});
    for (const auto& [k, n] : caps)
        out.capChecks.push_back(
            {std::get<0>(k), std::get<1>(k), std::get<2>(k), std::get<3>(k), std::get<4>(k), n});
    return out;
}

std::string recordingJson(const Recording& r) {
    rapidjson::StringBuffer buf;
    Writer w(buf);
    w.StartObject();
    w.Key("syscalls");
    w.StartArray();
    for (const auto& s : r.syscalls) {
        w.StartObject();
        w.Key("arch");
        w.String(seccompArchToken(s.arch).c_str());
        w.Key("nr");
        w.Int64(s.nr);
        w.Key("name");
        w.String(syscallNameOn(s.arch, s.nr).c_str());
        w.Key("count");
        w.Uint64(s.count);
        w.EndObject();
    }
    w.EndArray();
    w.Key("capabilityChecks");
    w.StartArray();
    for (const auto& c : r.capChecks) {
        w.StartObject();
        w.Key("capability");
        w.String(capabilityName(c.cap).c_str());
        w.Key("arch");
        w.String(seccompArchToken(c.arch).c_str());
        w.Key("nr");
        w.Int64(c.nr);
        w.Key("granted");
        w.Bool(c.granted);
        w.Key("viaAmbient");
        w.Bool(c.viaAmbient);
        w.Key("count");
        w.Uint64(c.count);
        w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize()) + "\n";
}

Recording parseRecordingJson(const std::string& text, const std::string& label) {
    json::Document d = json::parse(text, label);
    json::Node root = json::Node::root(d);
    auto archOf = [](const json::Node& n) {
        const SeccompArch* a = seccompArchByToken(n.asString());
        if (!a) n.fail("unknown architecture \"" + n.asString() + "\"");
        return a->value;
    };
    Recording r;
    for (const auto& n : root.require("syscalls").items()) {
        RecordedSyscall s;
        s.arch = archOf(n.require("arch"));
        s.nr = static_cast<long>(n.require("nr").asInt64());
        s.count = n.require("count").asUint64();
        r.syscalls.push_back(s);
    }
    for (const auto& n : root.require("capabilityChecks").items()) {
        RecordedCapCheck c;
        json::Node capNode = n.require("capability");
        auto cap = capabilityFromName(capNode.asString());
        if (!cap) capNode.fail("unknown capability \"" + capNode.asString() + "\"");
        c.cap = *cap;
        c.arch = archOf(n.require("arch"));
        c.nr = static_cast<long>(n.require("nr").asInt64());
        c.granted = n.require("granted").asBool();
        c.viaAmbient = n.require("viaAmbient").asBool();
        c.count = n.require("count").asUint64();
        r.capChecks.push_back(c);
    }
    return r;
}

RecordPlan planRecording(const Recording& r, std::uint32_t nativeArch) {
    RecordPlan p;
    p.nativeArch = nativeArch;
    p.arches.push_back(nativeArch);
    std::set<std::string> workload, unnamed;
    for (const auto& s : r.syscalls) {
        if (std::find(p.arches.begin(), p.arches.end(), s.arch) == p.arches.end())
            p.arches.push_back(s.arch);
        const std::string n = syscallNameOn(s.arch, s.nr);
        if (named(n))
            workload.insert(n);
        else
            unnamed.insert(n + " (" + seccompArchToken(s.arch) + ")");
    }
    for (const auto& c : r.capChecks) {
        const std::string in = c.nr < 0 ? "(outside a syscall)" : syscallNameOn(c.arch, c.nr);
        if (c.granted) {
            p.needed |= capBit(c.cap);
            if (c.viaAmbient) p.ambient |= capBit(c.cap);
            addCount(p.grantedIn[c.cap], in, c.count);
        } else {
            addCount(p.deniedIn[c.cap], in, c.count);
        }
    }
    sortByCount(p.grantedIn);
    sortByCount(p.deniedIn);
    p.workloadSyscalls.assign(workload.begin(), workload.end());
    p.unnamed.assign(unnamed.begin(), unnamed.end());
    std::set<std::string> allowed = workload;
    for (const auto& n : initSyscallsAfterFilter()) {
        // Only what the native architecture knows: the init is a native program.
        int nr = seccomp_syscall_resolve_name_arch(nativeArch, n.c_str());
        if (nr == __NR_SCMP_ERROR || nr < 0) continue;
        if (!workload.count(n)) p.initSyscalls.push_back(n);
        allowed.insert(n);
    }
    p.allowed.assign(allowed.begin(), allowed.end());
    return p;
}

std::string recordedCapabilitiesJson(const RecordPlan& p) {
    rapidjson::StringBuffer buf;
    Writer w(buf);
    auto set = [&](const char* key, CapMask m) {
        w.Key(key);
        w.StartArray();
        for (const auto& n : capNames(m)) w.String(n.c_str());
        w.EndArray();
    };
    w.StartObject();
    set("bounding", p.needed);
    set("effective", p.needed);
    set("permitted", p.needed);
    if (p.ambient) {
        set("inheritable", p.ambient);
        set("ambient", p.ambient);
    }
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize()) + "\n";
}

std::string recordedSeccompJson(const RecordPlan& p) {
    rapidjson::StringBuffer buf;
    Writer w(buf);
    w.StartObject();
    w.Key("defaultAction");
    w.String("SCMP_ACT_ERRNO");
    w.Key("defaultErrnoRet");
    w.Uint(kRecordedDefaultErrno);
    w.Key("architectures");
    w.StartArray();
    for (auto a : p.arches) w.String(seccompArchToken(a).c_str());
    w.EndArray();
    w.Key("syscalls");
    w.StartArray();
    w.StartObject();
    w.Key("names");
    w.StartArray();
    for (const auto& n : p.allowed) w.String(n.c_str());
    w.EndArray();
    w.Key("action");
    w.String("SCMP_ACT_ALLOW");
    // Docker's profiles carry comments; `explain` reads this one to say "not in the
    // recorded profile" of a syscall the default action denies.
    w.Key("comment");
    w.String((std::string(kRecordedProfileMarker) +
              ": the syscalls the workload made, and those caprun's init needs once the "
              "filter is installed")
                 .c_str());
    w.EndObject();
    w.EndArray();
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize()) + "\n";
}

std::string recordedSecurityContextYaml(const RecordPlan& p, const std::string& localhostProfile) {
    std::string add;
    for (int cap : capsIn(p.needed)) add += (add.empty() ? "" : ", ") + bareCapName(cap);
    std::string y =
        "# The container's securityContext recorded by caprun record. Copy seccomp.json to\n"
        "# the kubelet's seccomp directory (/var/lib/kubelet/seccomp/) as " +
        localhostProfile + ".\n";
    if (p.ambient) {
        std::string amb;
        for (int cap : capsIn(p.ambient)) amb += (amb.empty() ? "" : ", ") + bareCapName(cap);
        y += "# Ambient capabilities needed by an exec'd non-root program (" + amb +
             ") cannot be\n# set here: run it as root, or give the program file capabilities.\n";
    }
    y += "securityContext:\n  capabilities:\n    drop: [ALL]\n    add: [" + add +
         "]\n  seccompProfile:\n    type: Localhost\n    localhostProfile: " + localhostProfile +
         "\n";
    return y;
}

std::string recordedRunFlags(const RecordPlan& p, const std::string& seccompPath) {
    std::string f = "--cap-drop=ALL";
    for (int cap : capsIn(p.needed)) f += " --cap-add=" + bareCapName(cap);
    f += " --security-opt seccomp=" + seccompPath + "\n";
    return f;
}

std::string recordedReportText(const RecordPlan& p) {
    std::string t = "caprun record: what the workload needed\n\ncapabilities (" +
                    std::to_string(p.grantedIn.size()) + "):\n";
    if (p.grantedIn.empty()) t += "  none: no capability check the kernel granted\n";
    for (const auto& [cap, uses] : p.grantedIn) {
        t += "  " + capabilityName(cap);
        if (p.ambient & capBit(cap))
            t += " (also inheritable and ambient: an exec'd non-root program used it)";
        t += "\n";
        for (const auto& u : uses)
            t += "    " + u.syscall + ": " + std::to_string(u.count) +
                 (u.count == 1 ? " check\n" : " checks\n");
    }
    if (!p.deniedIn.empty()) {
        t += "\ndenied capability checks:\n";
        for (const auto& [cap, uses] : p.deniedIn)
            for (const auto& u : uses)
                t += "  the workload tried " + capabilityName(cap) + " in " + u.syscall + " (" +
                     std::to_string(u.count) +
                     "x) and did not have it; add it if that "
                     "failure mattered\n";
    }
    t += "\nsyscalls (" + std::to_string(p.workloadSyscalls.size()) + ", architectures " +
         [&] {
             std::vector<std::string> a;
             for (auto x : p.arches) a.push_back(seccompArchToken(x));
             return joinNames(a);
         }() +
         "): " + joinNames(p.workloadSyscalls) + "\n";
    t += "added for caprun's init after its seccomp filter is installed: " +
         joinNames(p.initSyscalls) + "\n";
    if (!p.unnamed.empty())
        t += "numbers libseccomp has no name for (not in the profile): " + joinNames(p.unnamed) +
             "\n";
    t += "every other syscall is not in the recorded profile and fails with ENOSYS\n";
    return t;
}

}  // namespace caprun
