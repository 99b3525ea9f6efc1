#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "caprun/error.hpp"
#include "caprun/spec.hpp"

namespace fs = std::filesystem;
using caprun::parseSpec;

namespace {

// A config that uses every part of the model, plus properties the spec does not define.
const char* kComplete = R"({
  "ociVersion": "1.1.0",
  "x-unknown-top": {"ignored": true},
  "root": {"path": "rootfs", "readonly": true},
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/data", "source": "/srv/data", "options": ["rbind", "ro"]}
  ],
  "process": {
    "terminal": true,
    "consoleSize": {"height": 24, "width": 80},
    "user": {"uid": 1000, "gid": 1000, "umask": 18, "additionalGids": [5, 10]},
    "args": ["/bin/sh", "-c", "echo hi"],
    "env": ["PATH=/bin", "A=b"],
    "cwd": "/home",
    "capabilities": {
      "bounding": ["CAP_NET_ADMIN", "sys_nice"],
      "effective": ["CAP_NET_ADMIN"],
      "inheritable": [],
      "permitted": ["CAP_NET_ADMIN"],
      "ambient": ["CAP_NET_ADMIN"]
    },
    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 4096, "soft": 1024}],
    "noNewPrivileges": true,
    "apparmorProfile": "docker-default",
    "oomScoreAdj": 100,
    "selinuxLabel": "system_u:system_r:container_t:s0",
    "ioPriority": {"class": "IOPRIO_CLASS_BE", "priority": 4},
    "scheduler": {"policy": "SCHED_BATCH", "nice": 5, "flags": ["SCHED_FLAG_RESET_ON_FORK"]},
    "unknownProcessField": 1
  },
  "hostname": "box",
  "domainname": "example.org",
  "hooks": {
    "prestart": [{"path": "/bin/p"}],
    "createRuntime": [{"path": "/bin/cr", "args": ["cr", "x"], "env": ["K=V"], "timeout": 5}],
    "createContainer": [{"path": "/bin/cc"}],
    "startContainer": [{"path": "/bin/sc"}],
    "poststart": [{"path": "/bin/ps"}],
    "poststop": [{"path": "/bin/pst"}, {"path": "/bin/pst2"}]
  },
  "annotations": {"run.caprun.cap-policy": "strict", "a": "b"},
  "linux": {
    "namespaces": [{"type": "pid"}, {"type": "network", "path": "/var/run/netns/x"},
                   {"type": "user"}, {"type": "time"}],
    "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
    "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
    "timeOffsets": {"monotonic": {"secs": 10, "nanosecs": 5}},
    "devices": [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229,
                 "fileMode": 438, "uid": 0, "gid": 0}],
    "cgroupsPath": "/caprun/x",
    "resources": {
      "devices": [{"allow": false, "access": "rwm"},
                  {"allow": true, "type": "c", "major": 10, "minor": 229, "access": "rw"}],
      "memory": {"limit": 536870912, "swap": 1073741824, "disableOOMKiller": false},
      "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0-1", "mems": "0"},
      "pids": {"limit": 64},
      "blockIO": {"weight": 300, "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}]},
      "hugepageLimits": [{"pageSize": "2MB", "limit": 209715200}],
      "network": {"classID": 1048577, "priorities": [{"name": "eth0", "priority": 500}]},
      "unified": {"memory.high": "400M"}
    },
    "rootfsPropagation": "rslave",
    "seccomp": {
      "defaultAction": "SCMP_ACT_ERRNO",
      "defaultErrnoRet": 1,
      "architectures": ["SCMP_ARCH_X86_64"],
      "flags": ["SECCOMP_FILTER_FLAG_LOG"],
      "listenerPath": "/run/listener.sock",
      "listenerMetadata": "meta",
      "syscalls": [
        {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
        {"names": ["get_mempolicy"], "action": "SCMP_ACT_ALLOW",
         "includes": {"caps": ["CAP_SYS_NICE"], "minKernel": "4.8"},
         "excludes": {"arches": ["s390x"]}, "comment": "numa"}
      ]
    },
    "sysctl": {"net.ipv4.ip_forward": "1"},
    "maskedPaths": ["/proc/kcore"],
    "readonlyPaths": ["/proc/sys"],
    "mountLabel": "system_u:object_r:container_file_t:s0",
    "personality": {"domain": "LINUX32"}
  }
})";

std::string minimal(const std::string& processExtra = "", const std::string& top = "") {
    return R"({"ociVersion":"1.0.2","root":{"path":"rootfs"},)" + top +
           R"("process":{"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/")" + processExtra + "}}";
}

struct TempDir {
    fs::path path;
    TempDir() {
        char t[] = "/tmp/caprun-spec-XXXXXX";
        REQUIRE(::mkdtemp(t) != nullptr);
        path = t;
    }
    ~TempDir() { fs::remove_all(path); }
};

}  // namespace

TEST_CASE("spec: a complete config parses into every field") {
    auto s = parseSpec(kComplete);
    CHECK(s.ociVersion == "1.1.0");
    CHECK(s.root.path == "rootfs");
    CHECK(s.root.readonly);
    REQUIRE(s.mounts.size() == 2);
    CHECK(s.mounts[1].type.empty());
    CHECK(s.mounts[1].options == std::vector<std::string>{"rbind", "ro"});
    CHECK(s.mounts[1].jsonPath == "mounts[1]");
    REQUIRE(s.process);
    const auto& p = *s.process;
    CHECK(p.terminal);
    CHECK(p.consoleSize->width == 80);
    CHECK(p.user.uid == 1000);
    CHECK(*p.user.umask == 18);
    CHECK(p.user.additionalGids == std::vector<std::uint32_t>{5, 10});
    CHECK(p.args.size() == 3);
    CHECK(p.cwd == "/home");
    REQUIRE(p.capabilities);
    CHECK(p.capabilities->bounding == std::vector<std::string>{"CAP_NET_ADMIN", "sys_nice"});
    CHECK(p.capabilities->inheritable.empty());
    CHECK(p.capabilities->ambient.size() == 1);
    REQUIRE(p.rlimits.size() == 1);
    CHECK(p.rlimits[0].hard == 4096);
    CHECK(p.rlimits[0].jsonPath == "process.rlimits[0]");
    CHECK(p.noNewPrivileges);
    CHECK(p.apparmorProfile == "docker-default");
    CHECK(*p.oomScoreAdj == 100);
    CHECK(p.ioPriority->priority == 4);
    CHECK(p.scheduler->policy == "SCHED_BATCH");
    CHECK(*p.scheduler->nice == 5);
    CHECK(s.hostname == "box");
    CHECK(s.domainname == "example.org");
    CHECK(s.hooks.prestart.size() == 1);
    CHECK(*s.hooks.createRuntime[0].timeout == 5);
    CHECK(s.hooks.createRuntime[0].env == std::vector<std::string>{"K=V"});
    CHECK(s.hooks.poststop.size() == 2);
    // No "env": unset, so the hook gets the runtime's environment (not an empty one).
    CHECK_FALSE(s.hooks.poststop[0].env.has_value());
    CHECK(s.annotations.at("run.caprun.cap-policy") == "strict");
    REQUIRE(s.linux);
    const auto& l = *s.linux;
    CHECK(l.namespaces.size() == 4);
    CHECK(l.namespaces[1].path == "/var/run/netns/x");
    CHECK(l.uidMappings[0].hostID == 100000);
    CHECK(l.timeOffsets.at("monotonic").secs == 10);
    CHECK(l.devices[0].major == 10);
    CHECK(*l.devices[0].fileMode == 438);
    CHECK(l.cgroupsPath == "/caprun/x");
    REQUIRE(l.resources);
    CHECK(l.resources->devices.size() == 2);
    CHECK(l.resources->devices[0].type == "a");
    CHECK(*l.resources->memory->limit == 536870912);
    CHECK(l.resources->cpu->cpus == "0-1");
    CHECK(*l.resources->pids->limit == 64);
    CHECK(l.resources->blockIO->throttleReadBpsDevice[0].rate == 1048576);
    CHECK(l.resources->hugepageLimits[0].pageSize == "2MB");
    CHECK(l.resources->network->priorities[0].second == 500);
    CHECK(l.resources->unified.at("memory.high") == "400M");
    CHECK(l.rootfsPropagation == "rslave");
    REQUIRE(l.seccomp);
    CHECK(*l.seccomp->defaultErrnoRet == 1);
    CHECK(l.seccomp->listenerPath == "/run/listener.sock");
    CHECK(l.seccomp->syscalls.size() == 3);
    CHECK(l.seccomp->syscalls[1].args[0].op == "SCMP_CMP_EQ");
    CHECK(l.seccomp->syscalls[2].includes->caps == std::vector<std::string>{"CAP_SYS_NICE"});
    CHECK(l.seccomp->syscalls[2].includes->minKernel == "4.8");
    CHECK(l.seccomp->syscalls[2].excludes->arches == std::vector<std::string>{"s390x"});
    CHECK(l.seccomp->syscalls[2].jsonPath == "linux.seccomp.syscalls[2]");
    CHECK(l.sysctl.at("net.ipv4.ip_forward") == "1");
    CHECK(l.maskedPaths.size() == 1);
    CHECK(l.personality->domain == "LINUX32");
}

TEST_CASE("spec: errors name the JSON path and what was expected") {
    CHECK_THROWS_WITH(
        parseSpec(minimal(R"(,"capabilities":{"bounding":["CAP_KILL","CAP_CHOWN",3]})")),
        "config.json: process.capabilities.bounding[2]: expected a string, got a number");
    CHECK_THROWS_WITH(parseSpec(R"({"ociVersion":"1.0.2","root":{}})"),
                      "config.json: root.path: required");
    CHECK_THROWS_WITH(parseSpec(R"({"ociVersion":"1.0.2"})"), "config.json: root: required");
    CHECK_THROWS_WITH(parseSpec(R"({"root":{"path":"r"}})"), "config.json: ociVersion: required");
    CHECK_THROWS_WITH(parseSpec(R"({"ociVersion":"2.0.0","root":{"path":"r"}})"),
                      "config.json: ociVersion: the config is for runtime-spec 2.0.0, newer "
                      "than 1.3.0, the highest version caprun implements");
    CHECK_THROWS_WITH(parseSpec("[1]"),
                      "config.json: expected a JSON object at the top level, got an array");
    CHECK_THROWS_WITH(
        parseSpec(minimal(R"(,"rlimits":[{"type":"RLIMIT_NOFILE","hard":1,"soft":"2"}])")),
        "config.json: process.rlimits[0].soft: expected an unsigned integer, got a string");
    CHECK_THROWS_WITH(
        parseSpec(minimal(R"(,"rlimits":[{"type":"RLIMIT_FOO","hard":1,"soft":1}])")),
        doctest::Contains("config.json: process.rlimits[0].type: unknown rlimit \"RLIMIT_FOO\""));
    CHECK_THROWS_WITH(
        parseSpec(minimal(R"(,"rlimits":[{"type":"RLIMIT_NOFILE","hard":1,"soft":2}])")),
        "config.json: process.rlimits[0]: soft limit 2 is above hard limit 1");
    CHECK_THROWS_WITH(
        parseSpec(minimal(R"(,"oomScoreAdj":-1001)")),
        "config.json: process.oomScoreAdj: must be between -1000 and 1000, got -1001");
    CHECK_THROWS_WITH(
        parseSpec(minimal("", R"("linux":{"namespaces":[{"type":"pid"},{"type":"net"}]},)")),
        doctest::Contains("config.json: linux.namespaces[1].type: unknown namespace type \"net\""));
    CHECK_THROWS_WITH(
        parseSpec(minimal("", R"("linux":{"namespaces":[{"type":"pid"},{"type":"pid"}]},)")),
        "config.json: linux.namespaces[1].type: namespace \"pid\" is listed twice");
    CHECK_THROWS_WITH(
        parseSpec(minimal("", R"("mounts":[{"destination":"/a"},{"type":"tmpfs"}],)")),
        "config.json: mounts[1].destination: required");
    CHECK_THROWS_WITH(parseSpec(minimal("", R"("hooks":{"poststop":[{"path":"rel"}]},)")),
                      "config.json: hooks.poststop[0].path: must be an absolute path, got \"rel\"");
    CHECK_THROWS_WITH(parseSpec(minimal("", R"("linux":{"seccomp":{"syscalls":[]}},)")),
                      "config.json: linux.seccomp.defaultAction: required");
    CHECK_THROWS_WITH(
        parseSpec(minimal(
            "",
            R"("linux":{"seccomp":{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["x"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":1}]}]}},)")),
        "config.json: linux.seccomp.syscalls[0].args[0].op: required");
    CHECK_THROWS_WITH(
        parseSpec(
            R"({"ociVersion":"1.0.2","root":{"path":"r"},"process":{"user":{"uid":0,"gid":0},"args":[],"cwd":"/"}})"),
        "config.json: process.args: must name the program to run (empty array)");
    CHECK_THROWS_WITH(
        parseSpec(
            R"({"ociVersion":"1.0.2","root":{"path":"r"},"process":{"user":{"uid":-1,"gid":0},"args":["a"],"cwd":"/"}})"),
        "config.json: process.user.uid: expected an unsigned integer, got a negative number");
    CHECK_THROWS_WITH(parseSpec(minimal("", R"("annotations":{"a":1},)")),
                      "config.json: annotations.a: expected a string, got a number");
    CHECK_THROWS_WITH(
        parseSpec(minimal(
            "", R"("linux":{"devices":[{"path":"/dev/x","type":"q","major":1,"minor":1}]},)")),
        "config.json: linux.devices[0].type: expected one of c, b, u, p, got \"q\"");
}

TEST_CASE("spec: an absent capabilities object differs from empty sets") {
    CHECK_FALSE(parseSpec(minimal()).process->capabilities.has_value());
    auto s = parseSpec(minimal(R"(,"capabilities":{})"));
    REQUIRE(s.process->capabilities.has_value());
    CHECK(s.process->capabilities->bounding.empty());
}

TEST_CASE("spec: bundle loading has a distinct message per failure") {
    TempDir t;
    const std::string b = t.path.string();
    CHECK_THROWS_WITH(caprun::loadBundleSpec(b + "/nope"),
                      ("bundle directory " + b +
                       "/nope does not exist: pass --bundle DIR, the directory holding "
                       "config.json and the rootfs")
                          .c_str());
    CHECK_THROWS_WITH(caprun::loadBundleSpec(b),
                      ("config.json: not found in bundle " + b +
                       " (create one with `caprun spec --bundle " + b + "`)")
                          .c_str());
    {
        std::ofstream f(t.path / "config.json");
        f << "{\n  \"ociVersion\": \"1.0.2\"\n  \"root\": {}\n}";
    }
    CHECK_THROWS_WITH(caprun::loadBundleSpec(b),
                      "config.json: invalid JSON at line 3, column 3: Missing a comma or '}' "
                      "after an object member.");
    // Just over 16 MiB: refused before reading it.
    fs::resize_file(t.path / "config.json", caprun::kMaxConfigBytes + 1);
    CHECK_THROWS_WITH(caprun::loadBundleSpec(b),
                      ("config.json: " + b +
                       "/config.json is 16777217 bytes, over the limit of "
                       "16777216 bytes")
                          .c_str());
    {
        std::ofstream f(t.path / "config.json", std::ios::trunc);
        f << minimal();
    }
    CHECK(caprun::loadBundleSpec(b).process->args[0] == "sh");
    // Nothing was created in the bundle by any of this.
    CHECK(std::distance(fs::directory_iterator(t.path), fs::directory_iterator()) == 1);
}

TEST_CASE("spec: the default spec parses, and the rootless one maps the caller") {
    auto s = parseSpec(caprun::defaultSpecJson(false));
    CHECK(s.process->capabilities->bounding.size() == 3);
    CHECK(s.linux->namespaces.size() == 6);
    auto r = parseSpec(caprun::defaultSpecJson(true));
    REQUIRE(r.linux->uidMappings.size() == 1);
    CHECK(r.linux->uidMappings[0].hostID == ::geteuid());
    std::vector<std::string> types;
    for (const auto& ns : r.linux->namespaces) types.push_back(ns.type);
    CHECK(types == std::vector<std::string>{"pid", "ipc", "uts", "mount", "user"});
    CHECK_FALSE(r.linux->resources.has_value());
    for (const auto& m : r.mounts) {
        CHECK(m.destination != "/sys/fs/cgroup");
        if (m.destination == "/dev/pts")
            CHECK(std::find(m.options.begin(), m.options.end(), "gid=5") == m.options.end());
        if (m.destination == "/sys") {
            CHECK(m.source == "/sys");
            CHECK(std::find(m.options.begin(), m.options.end(), "rbind") != m.options.end());
        }
    }
}
