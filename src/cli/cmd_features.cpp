// caprun features: the runtime-spec features document: what caprun applies. Most of it is
// fixed at build time; apparmor/selinux "enabled" say whether this host runs the LSM and
// this build can apply its labels (a config asking for one is refused otherwise), and
// cgroup.rdma and intelRdt whether the host has the rdma controller and resctrl.
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>
#include <seccomp.h>
#include <sys/capability.h>

#include <cctype>
#include <iostream>

#include "caprun/build_features.hpp"
#include "caprun/checkpoint.hpp"
#include "caprun/lsm.hpp"
#include "caprun/mount_attr.hpp"
#include "caprun/platform_facts.hpp"
#include "caprun/systemd_bus.hpp"
#include "caprun_config.h"
#include "caprun/trace.hpp"
#include "commands.hpp"

namespace caprun::cli {

namespace {

using Writer = rapidjson::PrettyWriter<rapidjson::StringBuffer>;

void enabled(Writer& w, const char* key, bool on) {
    w.Key(key);
    w.StartObject();
    w.Key("enabled");
    w.Bool(on);
    w.EndObject();
}

void strings(Writer& w, const char* key, std::initializer_list<const char*> values) {
    w.Key(key);
    w.StartArray();
    for (const char* v : values) w.String(v);
    w.EndArray();
}

// Every capability libcap knows at build time, as "CAP_X".
std::vector<std::string> capabilityNames() {
    std::vector<std::string> out;
    for (int c = 0; c <= CAP_LAST_CAP; ++c) {
        char* name = ::cap_to_name(static_cast<cap_value_t>(c));
        if (name == nullptr) continue;
        std::string n = name;
        ::cap_free(name);
        for (auto& ch : n) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        if (n.rfind("CAP_", 0) == 0) out.push_back(n);
    }
    return out;
}

}  // namespace

int cmdFeatures(const GlobalOptions&, const Args& args) {
    auto desc = commandOptions("features");
    auto cl = parseCommandLine("features", args, desc);
    if (printHelpIfAsked(cl, "features", desc)) return 0;
    expectPositionals("features", cl, 0, 0, "");

    rapidjson::StringBuffer buf;
    Writer w(buf);
    w.SetIndent(' ', 2);
    w.StartObject();
    w.Key("ociVersionMin");
    w.String("1.0.0");
    w.Key("ociVersionMax");
    w.String(CAPRUN_SPEC_VERSION);
    strings(w, "hooks",
            {"prestart", "createRuntime", "createContainer", "startContainer", "poststart",
             "poststop"});
    // What rootfs.cpp's option table, mount_attr.cpp and idmap.cpp accept.
    w.Key("mountOptions");
    w.StartArray();
    for (const char* o : {"async",      "atime",         "bind",        "defaults",    "dev",
                          "diratime",   "dirsync",       "exec",        "idmap",       "iversion",
                          "lazytime",   "loud",          "mand",        "noatime",     "nodev",
                          "nodiratime", "noexec",        "noiversion",  "nolazytime",  "nomand",
                          "norelatime", "nostrictatime", "nosuid",      "nosymfollow", "private",
                          "rbind",      "relatime",      "remount",     "ro",          "rprivate",
                          "rshared",    "rslave",        "runbindable", "rw",          "shared",
                          "silent",     "slave",         "strictatime", "suid",        "symfollow",
                          "sync",       "ridmap",        "tmpcopyup",   "unbindable"})
        w.String(o);
    for (const char* const* r = caprun::recursiveMountOptionNames(); *r; ++r) w.String(*r);
    w.EndArray();
    w.Key("linux");
    w.StartObject();
    strings(w, "namespaces", {"cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"});
    w.Key("capabilities");
    w.StartArray();
    for (const auto& c : capabilityNames()) w.String(c.c_str());
    w.EndArray();
    w.Key("cgroup");
    w.StartObject();
    w.Key("v1");
    w.Bool(true);
    w.Key("v2");
    w.Bool(true);
    // The driver talks to the system bus as root and to the user's bus rootless.
    w.Key("systemd");
    w.Bool(systemdDriverBuilt());
    w.Key("systemdUser");
    w.Bool(systemdDriverBuilt());
    // Applied through the rdma controller, so only where the host has one.
    w.Key("rdma");
    w.Bool(PlatformFacts::probe().rdmaController);
    w.EndObject();
    w.Key("seccomp");
    w.StartObject();
    w.Key("enabled");
    w.Bool(true);
    strings(w, "actions",
            {"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
             "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE",
             "SCMP_ACT_TRAP"});
    strings(w, "operators",
            {"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT",
             "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"});
    strings(w, "archs",
            {"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64",
             "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64",
             "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64", "SCMP_ARCH_PPC",
             "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_RISCV64", "SCMP_ARCH_S390",
             "SCMP_ARCH_S390X", "SCMP_ARCH_X32", "SCMP_ARCH_X86", "SCMP_ARCH_X86_64"});
    strings(w, "knownFlags",
            {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
             "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"});
    strings(w, "supportedFlags",
            {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
             "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"});
    w.EndObject();
    const auto& host = PlatformFacts::probe();
    enabled(w, "apparmor", apparmorRefusal(host).empty());
    enabled(w, "selinux", selinuxRefusal(host).empty());
    // Applied through resctrl, so only where the host has it mounted.
    enabled(w, "intelRdt", host.resctrlMounted);
    w.Key("mountExtensions");
    w.StartObject();
    enabled(w, "idmap", true);
    w.EndObject();
    enabled(w, "netDevices", true);
    w.EndObject();  // linux
    // Annotations that change what caprun enforces: a caller passing annotations through
    // from untrusted users should filter these.
    strings(w, "potentiallyUnsafeConfigAnnotations",
            {"run.caprun.cap-policy", "run.caprun.seccomp-profile"});
    w.Key("annotations");
    w.StartObject();
    const scmp_version* sv = ::seccomp_version();
    std::string libseccomp = std::to_string(sv->major) + "." + std::to_string(sv->minor) + "." +
                             std::to_string(sv->micro);
    w.Key("io.github.seccomp.libseccomp.version");
    w.String(libseccomp.c_str());
    w.Key("run.caprun.version");
    w.String(CAPRUN_VERSION);
    // The same list as `caprun --version`'s last line.
    w.Key("run.caprun.build-features");
    w.String(buildFeaturesLine().c_str());
    w.Key("run.caprun.cap-policy.values");
    w.String("strict,lenient");
    // caprun trace / run --trace-eperm: built with eBPF support, or why not.
    std::string traceWhy;
    const std::string trace = traceAvailable(&traceWhy) ? "available" : "missing: " + traceWhy;
    w.Key("run.caprun.trace-eperm");
    w.String(trace.c_str());
    // checkpoint/restore: built with CRIU's RPC, or why not (crun says it as
    // run.oci.crun.checkpoint.enabled).
    const std::string criuWhy = checkpointMissingReason();
    w.Key("run.caprun.checkpoint");
    w.String(criuWhy.empty() ? "available" : ("missing: " + criuWhy).c_str());
    w.EndObject();
    w.EndObject();
    std::cout << buf.GetString() << "\n";
    return 0;
}

}  // namespace caprun::cli
