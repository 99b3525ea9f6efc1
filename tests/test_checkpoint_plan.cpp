#include <doctest/doctest.h>
#include <sched.h>

#include <string>

#include "caprun/checkpoint_plan.hpp"
#include "caprun/error.hpp"

using namespace caprun;

namespace {

// A config.json with a bind mount, a masked file, a device, and namespaces given by `ns`.
Spec spec(const std::string& ns, bool terminal = false, const std::string& userNs = "") {
    std::string text = std::string(R"({"ociVersion":"1.0.2","root":{"path":"rootfs"},
      "process":{"user":{"uid":0,"gid":0},"terminal":)") +
                       (terminal ? "true" : "false") +
                       R"(,"cwd":"/","args":["/bin/sh"]},
      "mounts":[{"destination":"/proc","type":"proc","source":"proc"},
                {"destination":"/data","type":"bind","source":"/srv/data","options":["rbind","ro"]},
                {"destination":"/etc/hosts","source":"/tmp/hosts","options":["bind"]}],
      "linux":{"namespaces":[)" +
                       ns + userNs + R"(],
        "maskedPaths":["/proc/kcore"],
        "devices":[{"path":"/dev/fuse","type":"c","major":10,"minor":229}]}})";
    return parseSpec(text);
}

ContainerState running(bool terminal = false) {
    ContainerState st;
    st.id = "c1";
    st.pid = 4242;
    st.rootfs = "/b/rootfs";
    st.bundle = "/b";
    st.terminal = terminal;
    st.cgroupPaths = {{"freezer", "/sys/fs/cgroup/freezer/caprun/c1"},
                      {"unified", "/sys/fs/cgroup/unified/caprun/c1"}};
    return st;
}

const std::string kOwnNs = R"({"type":"pid"},{"type":"mount"},{"type":"network"})";

}  // namespace

TEST_CASE("checkpoint: runc's options become CRIU's dump request") {
    CheckpointOptions o;
    o.id = "c1";
    o.imagePath = "img";
    o.workPath = "/w";
    o.tcpEstablished = o.extUnixSk = o.shellJob = o.fileLocks = o.autoDedup = true;
    o.manageCgroupsMode = "full";
    o.parentPath = "../pre";
    CriuRequest r =
        planCheckpoint(o, running(), ContainerStatus::Running, spec(kOwnNs), {}, "/cwd");
    CHECK(r.type == CriuRequestType::Dump);
    CHECK(r.pid == 4242);
    CHECK(r.imagesDir == "/cwd/img");
    CHECK(r.workDir == "/w");
    CHECK(r.logFile == "dump.log");
    CHECK(r.root == "/b/rootfs");
    CHECK_FALSE(r.leaveRunning);
    CHECK(r.tcpEstablished);
    CHECK(r.extUnixSk);
    CHECK(r.shellJob);
    CHECK(r.fileLocks);
    CHECK(r.autoDedup);
    CHECK(r.parentImage == "../pre");
    CHECK(r.cgroupMode == CriuCgroupMode::Full);
    // The v1 freezer wins over the unified directory on a hybrid host.
    CHECK(r.freezeCgroup == "/sys/fs/cgroup/freezer/caprun/c1");
    // Bind mounts are external, keyed by their destination; without a user namespace the
    // devices and masked files are the container's own nodes, not host binds.
    using P = std::pair<std::string, std::string>;
    CHECK(r.extMounts == std::vector<P>{{"/data", "/data"}, {"/etc/hosts", "/etc/hosts"}});
    CHECK(r.external.empty());
    CHECK(r.emptyNs == 0);
}

TEST_CASE("checkpoint: defaults are runc's: ./checkpoint, work path = image path, soft cgroups") {
    CheckpointOptions o;
    o.id = "c1";
    CriuRequest r = planCheckpoint(o, running(), ContainerStatus::Paused, spec(kOwnNs), {}, "/cwd");
    CHECK(r.imagesDir == "/cwd/checkpoint");
    CHECK(r.workDir == "/cwd/checkpoint");
    CHECK(r.cgroupMode == CriuCgroupMode::Soft);
    ContainerState v2 = running();
    v2.cgroupPaths.erase("freezer");
    r = planCheckpoint(o, v2, ContainerStatus::Running, spec(kOwnNs), {}, "/cwd");
    CHECK(r.freezeCgroup == "/sys/fs/cgroup/unified/caprun/c1");
}

TEST_CASE("checkpoint: a user namespace makes devices and masked files external binds") {
    CheckpointOptions o;
    o.id = "c1";
    Spec s = spec(kOwnNs, false, R"(,{"type":"user"})");
    CriuRequest r = planCheckpoint(o, running(), ContainerStatus::Running, s, {}, "/cwd");
    using P = std::pair<std::string, std::string>;
    CHECK(r.extMounts == std::vector<P>{{"/data", "/data"},
                                        {"/etc/hosts", "/etc/hosts"},
                                        {"/dev/fuse", "/dev/fuse"},
                                        {"/proc/kcore", "/proc/kcore"}});
}

TEST_CASE("checkpoint: a joined network namespace is external by inode under runc's key") {
    CheckpointOptions o;
    o.id = "c1";
    o.emptyNs = {"network"};
    CriuFacts facts;
    facts.namespaceInodes["/run/netns/n1"] = 4026532001;
    Spec s = spec(R"({"type":"pid"},{"type":"mount"},{"type":"network","path":"/run/netns/n1"})");
    CriuRequest r = planCheckpoint(o, running(), ContainerStatus::Running, s, facts, "/cwd");
    CHECK(r.external == std::vector<std::string>{"net[4026532001]:extRootNetNS"});
    CHECK(r.emptyNs == static_cast<unsigned>(CLONE_NEWNET));
}

TEST_CASE("checkpoint: refusals before anything is dumped say why") {
    CheckpointOptions o;
    o.id = "c1";
    CriuFacts rootless;
    rootless.rootless = true;
    CHECK_THROWS_WITH_AS(
        planCheckpoint(o, running(), ContainerStatus::Running, spec(kOwnNs), rootless, "/"),
        doctest::Contains("not supported in rootless mode: CRIU needs CAP_SYS_ADMIN"), Error);
    CHECK_THROWS_WITH_AS(
        planCheckpoint(o, running(), ContainerStatus::Stopped, spec(kOwnNs), {}, "/"),
        "checkpoint: container c1 is stopped: only a running or paused container can be "
        "checkpointed",
        Error);
    CheckpointOptions pre = o;
    pre.preDump = true;
    CriuFacts noDirty;
    noDirty.memTrack = false;
    CHECK_THROWS_WITH_AS(
        planCheckpoint(pre, running(), ContainerStatus::Running, spec(kOwnNs), noDirty, "/"),
        doctest::Contains("--pre-dump: CRIU reports no memory change tracking on this kernel"),
        Error);
    CriuFacts dirty;
    dirty.memTrack = true;
    CriuRequest r =
        planCheckpoint(pre, running(), ContainerStatus::Running, spec(kOwnNs), dirty, "/");
    CHECK(r.type == CriuRequestType::PreDump);
    CHECK(r.trackMem);
    CHECK(r.leaveRunning);
    CheckpointOptions badNs = o;
    badNs.emptyNs = {"ipc"};
    CHECK_THROWS_WITH_AS(
        planCheckpoint(badNs, running(), ContainerStatus::Running, spec(kOwnNs), {}, "/"),
        "checkpoint: --empty-ns ipc: only \"network\" can be left empty (as runc accepts)", Error);
    CheckpointOptions badMode = o;
    badMode.manageCgroupsMode = "loose";
    CHECK_THROWS_WITH_AS(
        planCheckpoint(badMode, running(), ContainerStatus::Running, spec(kOwnNs), {}, "/"),
        doctest::Contains("--manage-cgroups-mode loose: invalid value"), Error);
    Spec joinedIpc = spec(R"({"type":"pid"},{"type":"ipc","path":"/proc/1/ns/ipc"})");
    CHECK_THROWS_WITH_AS(planCheckpoint(o, running(), ContainerStatus::Running, joinedIpc, {}, "/"),
                         doctest::Contains("the ipc namespace is joined (/proc/1/ns/ipc)"), Error);
}

TEST_CASE("restore: the request binds mounts to their sources and inherits joined namespaces") {
    RestoreOptions o;
    o.id = "c2";
    o.imagePath = "/img";
    o.tcpEstablished = o.fileLocks = true;
    o.lsmProfile = "apparmor:p";
    o.lsmMountContext = "system_u:object_r:container_file_t:s0";
    Spec s = spec(R"({"type":"pid"},{"type":"mount"},{"type":"network","path":"/run/netns/n1"})");
    CriuRequest r =
        planRestore(o, s, "/b/rootfs", {"/dev/null", "pipe:[77]", "pipe:[78]"}, {}, "/cwd");
    CHECK(r.type == CriuRequestType::Restore);
    CHECK(r.imagesDir == "/img");
    CHECK(r.workDir == "/img");
    CHECK(r.logFile == "restore.log");
    CHECK(r.restoreIntoSibling);
    CHECK(r.tcpEstablished);
    CHECK(r.fileLocks);
    CHECK(r.lsmProfile == "apparmor:p");
    CHECK(r.lsmMountContext == "system_u:object_r:container_file_t:s0");
    using P = std::pair<std::string, std::string>;
    CHECK(r.extMounts == std::vector<P>{{"/data", "/srv/data"}, {"/etc/hosts", "/tmp/hosts"}});
    CHECK(r.inheritNamespaces == std::vector<P>{{"extRootNetNS", "/run/netns/n1"}});
    using F = std::pair<std::string, int>;
    CHECK(r.inheritStdio == std::vector<F>{{"pipe:[77]", 1}, {"pipe:[78]", 2}});
}

TEST_CASE("restore: refusals name what cannot be done") {
    RestoreOptions o;
    o.id = "c2";
    CriuFacts rootless;
    rootless.rootless = true;
    CHECK_THROWS_WITH_AS(planRestore(o, spec(kOwnNs), "/r", {}, rootless, "/"),
                         doctest::Contains("restore: not supported in rootless mode"), Error);
    RestoreOptions noPivot = o;
    noPivot.noPivot = true;
    CHECK_THROWS_WITH_AS(planRestore(noPivot, spec(kOwnNs), "/r", {}, {}, "/"),
                         doctest::Contains("restore --no-pivot: CRIU always pivot_root()s"), Error);
    RestoreOptions detached = o;
    detached.detach = true;
    CHECK_THROWS_WITH_AS(planRestore(detached, spec(kOwnNs, true), "/r", {}, {}, "/"),
                         "restore: process.terminal is true: --console-socket is required", Error);
}

TEST_CASE("CRIU's cgroup roots come from the /proc/<pid>/cgroup of the placed CRIU process") {
    auto roots = criuCgroupRoots(
        "12:pids:/user.slice/caprun/c2\n3:cpu,cpuacct:/caprun/c2\n1:name=systemd:/caprun/c2\n"
        "0::/caprun/c2\n");
    using P = std::pair<std::string, std::string>;
    CHECK(roots == std::vector<P>{{"pids", "/user.slice/caprun/c2"},
                                  {"cpu", "/caprun/c2"},
                                  {"cpuacct", "/caprun/c2"},
                                  {"name=systemd", "/caprun/c2"},
                                  {"", "/caprun/c2"}});
}

TEST_CASE("descriptors.json is a JSON array of the init's stdio links") {
    CHECK(descriptorsJson({"/dev/null", "pipe:[12]", "a\"b"}) ==
          R"(["/dev/null","pipe:[12]","a\"b"])");
}

TEST_CASE("checkpoint: a stdio file outside the container is external, pipes keep their names") {
    CheckpointOptions o;
    o.id = "c1";
    CriuFacts facts;
    facts.stdio = {{"/dev/null", 0x1d, 5}, {"pipe:[77]", 14, 77}, {"socket:[9]", 9, 9}};
    CriuRequest r =
        planCheckpoint(o, running(), ContainerStatus::Running, spec(kOwnNs), facts, "/");
    CHECK(r.external == std::vector<std::string>{"file[1d:5]"});
    CHECK(r.descriptors == std::vector<std::string>{"file[1d:5]", "pipe:[77]", "socket:[9]"});
    // Restore hands its own fds over for both kinds.
    RestoreOptions ro;
    ro.id = "c1";
    CriuRequest back = planRestore(ro, spec(kOwnNs), "/r", r.descriptors, {}, "/");
    using F = std::pair<std::string, int>;
    CHECK(back.inheritStdio == std::vector<F>{{"file[1d:5]", 0}, {"pipe:[77]", 1}});
    // /dev/null on all three: one key, bound to caprun's fd 0.
    back = planRestore(ro, spec(kOwnNs), "/r", {"file[1d:5]", "file[1d:5]", "file[1d:5]"}, {}, "/");
    CHECK(back.inheritStdio == std::vector<F>{{"file[1d:5]", 0}});
}

TEST_CASE("the cgroup mount of a container without its own cgroup namespace is external") {
    const std::map<std::string, std::string> dirs = {
        {"cpu", "/sys/fs/cgroup/cpu/libpod_parent/c1"},
        {"systemd", "/sys/fs/cgroup/systemd/libpod_parent/c1"},
        {"unified", "/sys/fs/cgroup/unified/libpod_parent/c1"}};
    std::string mounts = R"({"type":"pid"},{"type":"mount"})";
    Spec hostNs = parseSpec(
        R"({"ociVersion":"1.0.2","root":{"path":"r"},"process":{"user":{"uid":0,"gid":0},"cwd":"/","args":["/bin/sh"]},
      "mounts":[{"destination":"/sys/fs/cgroup","type":"cgroup","source":"cgroup"}],
      "linux":{"namespaces":[)" +
        mounts + "]}}");
    using P = std::pair<std::string, std::string>;
    CHECK(cgroupExternalMounts(hostNs, dirs, false, false) ==
          std::vector<P>{{"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu"},
                         {"/sys/fs/cgroup/systemd", "/sys/fs/cgroup/systemd"},
                         {"/sys/fs/cgroup/unified", "/sys/fs/cgroup/unified"}});
    CHECK(cgroupExternalMounts(hostNs, dirs, false, true) ==
          std::vector<P>{{"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu/libpod_parent/c1"},
                         {"/sys/fs/cgroup/systemd", "/sys/fs/cgroup/systemd/libpod_parent/c1"},
                         {"/sys/fs/cgroup/unified", "/sys/fs/cgroup/unified/libpod_parent/c1"}});
    CHECK(cgroupExternalMounts(hostNs, {{"unified", "/sys/fs/cgroup/libpod_parent/c1"}}, true,
                               true) ==
          std::vector<P>{{"/sys/fs/cgroup", "/sys/fs/cgroup/libpod_parent/c1"}});
    // Its own cgroup namespace: the hierarchies are fresh mounts, which CRIU dumps itself.
    Spec ownNs = parseSpec(
        R"({"ociVersion":"1.0.2","root":{"path":"r"},"process":{"user":{"uid":0,"gid":0},"cwd":"/","args":["/bin/sh"]},
      "mounts":[{"destination":"/sys/fs/cgroup","type":"cgroup","source":"cgroup"}],
      "linux":{"namespaces":[)" +
        mounts + R"(,{"type":"cgroup"}]}})");
    CHECK(cgroupExternalMounts(ownNs, dirs, false, false).empty());
}
