#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "caprun/error.hpp"
#include "caprun/json.hpp"
#include "caprun/state.hpp"

namespace fs = std::filesystem;
using namespace caprun;

namespace {

struct TempRoot {
    std::string path;
    TempRoot() {
        char tmpl[] = "/tmp/caprun-state-test-XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempRoot() { fs::remove_all(path); }
};

ContainerState sample() {
    ContainerState s;
    s.ociVersion = "1.1.0";
    s.id = "c1";
    s.pid = 4242;
    s.pidStartTime = 987654321;
    s.bundle = "/srv/bundle";
    s.rootfs = "/srv/bundle/rootfs";
    s.created = "2026-11-22T20:31:02.123456789Z";
    s.owner = "root";
    s.annotations = {{"run.caprun.cap-policy", "strict"}, {"a\"b", "line\nbreak"}};
    s.status = ContainerStatus::Created;
    s.cgroupPaths = {{"memory", "/sys/fs/cgroup/memory/x"},
                     {"unified", "/sys/fs/cgroup/unified/x"}};
    s.systemdCgroup = false;
    s.namespacePaths = {{"pid", "/proc/4242/ns/pid"}, {"network", "/var/run/netns/n1"}};
    s.ownPidNamespace = false;
    s.capPolicy = "lenient";
    s.cgroupCreatedParents = {"/sys/fs/cgroup/memory/default"};
    s.sessionKeyring = "_ses.web";
    s.seccompProfile = "/etc/caprun/profile.json";
    s.terminal = true;
    Hook h;
    h.path = "/usr/bin/cleanup";
    h.args = {"cleanup", "--all"};
    h.env = std::vector<std::string>{"A=1"};
    h.timeout = 5;
    s.poststop = {h, Hook{"/bin/true", {}, std::nullopt, std::nullopt},
                  Hook{"/bin/env", {}, std::vector<std::string>{}, std::nullopt}};
    return s;
}

// Tries to take the POSIX lock on `path` without waiting, from a separate process.
// Returns true when it could.
bool otherProcessCanLock(const std::string& path) {
    pid_t pid = ::fork();
    if (pid == 0) {
        int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
        struct flock fl {};
        fl.l_type = F_WRLCK;
        fl.l_whence = SEEK_SET;
        ::_exit(fd >= 0 && ::fcntl(fd, F_SETLK, &fl) == 0 ? 0 : 1);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace

TEST_CASE("state.json keeps every field across a save and a load") {
    ContainerState s = sample();
    ContainerState back = parseState(serializeState(s), "state.json");
    CHECK(back.ociVersion == "1.1.0");
    CHECK(back.id == "c1");
    CHECK(back.pid == 4242);
    CHECK(back.pidStartTime == 987654321u);
    CHECK(back.bundle == "/srv/bundle");
    CHECK(back.rootfs == "/srv/bundle/rootfs");
    CHECK(back.created == "2026-11-22T20:31:02.123456789Z");
    CHECK(back.owner == "root");
    CHECK(back.annotations == s.annotations);
    CHECK(back.status == ContainerStatus::Created);
    CHECK(back.cgroupPaths == s.cgroupPaths);
    CHECK(back.namespacePaths == s.namespacePaths);
    CHECK_FALSE(back.ownPidNamespace);
    CHECK(back.capPolicy == "lenient");
    CHECK(back.cgroupCreatedParents == std::vector<std::string>{"/sys/fs/cgroup/memory/default"});
    CHECK(back.sessionKeyring == "_ses.web");
    CHECK(back.seccompProfile == std::optional<std::string>("/etc/caprun/profile.json"));
    CHECK(back.terminal);
    REQUIRE(back.poststop.size() == 3);
    CHECK(back.poststop[0].path == "/usr/bin/cleanup");
    CHECK(back.poststop[0].args == std::vector<std::string>{"cleanup", "--all"});
    CHECK(back.poststop[0].env == std::vector<std::string>{"A=1"});
    CHECK(back.poststop[0].timeout == 5);
    CHECK_FALSE(back.poststop[1].timeout.has_value());
    // A hook without env (the runtime's environment) stays apart from one with env [].
    CHECK_FALSE(back.poststop[1].env.has_value());
    REQUIRE(back.poststop[2].env.has_value());
    CHECK(back.poststop[2].env->empty());
    CHECK_FALSE(back.systemdCgroup);
}

TEST_CASE("state.json records the systemd driver's unit for delete, update and exec") {
    ContainerState s = sample();
    s.systemdCgroup = true;
    s.systemdUnit = "caprun-t1.scope";
    s.systemdUserBus = true;
    ContainerState back = parseState(serializeState(s), "state.json");
    CHECK(back.systemdCgroup);
    CHECK(back.systemdUnit == "caprun-t1.scope");
    CHECK(back.systemdUserBus);
    CHECK_THROWS_WITH_AS(
        parseState(R"({"caprunStateVersion":1,"id":"x","pid":1,"status":"created",)"
                   R"("systemdCgroup":true})",
                   "state.json"),
        doctest::Contains("systemdUnit is missing"), Error);
}

TEST_CASE("state.json records the moved network devices and the resctrl group for delete") {
    ContainerState s = sample();
    s.netDevices = {{"vx0", "eth7"}};
    s.netDevicesNamespace = "/run/caprun/t1/netns";
    s.netDevicesNamespacePinned = true;
    s.intelRdtGroup = "/sys/fs/resctrl/t1";
    s.intelRdtGroupCreated = true;
    s.intelRdtMonitorGroup = "/sys/fs/resctrl/t1/mon_groups/t1";
    ContainerState back = parseState(serializeState(s), "state.json");
    CHECK(back.netDevices == s.netDevices);
    CHECK(back.netDevicesNamespace == s.netDevicesNamespace);
    CHECK(back.netDevicesNamespacePinned);
    CHECK(back.intelRdtGroup == s.intelRdtGroup);
    CHECK(back.intelRdtGroupCreated);
    CHECK(back.intelRdtMonitorGroup == s.intelRdtMonitorGroup);
    CHECK(parseState(serializeState(sample()), "state.json").intelRdtGroup.empty());
    CHECK_THROWS_WITH_AS(
        parseState(R"({"caprunStateVersion":1,"id":"x","pid":1,"status":"created",)"
                   R"("netDevices":{"vx0":"eth7"}})",
                   "state.json"),
        doctest::Contains("netDevicesNamespace is missing"), Error);
}

TEST_CASE("a state.json from another state version is refused with a clear message") {
    CHECK_THROWS_WITH_AS(
        parseState(R"({"caprunStateVersion":99,"id":"x","pid":1,"status":"created"})",
                   "/run/caprun/x/state.json"),
        doctest::Contains("incompatible caprun"), Error);
    CHECK_THROWS_WITH_AS(parseStatusName("sleeping"), doctest::Contains("sleeping"), Error);
}

TEST_CASE("runtime-spec state JSON has the fields callers read") {
    ContainerState s = sample();
    auto doc = json::parse(stateJson(s, ContainerStatus::Running), "state");
    auto root = json::Node::root(doc);
    CHECK(root.require("ociVersion").asString() == "1.1.0");
    CHECK(root.require("id").asString() == "c1");
    CHECK(root.require("status").asString() == "running");
    CHECK(root.require("pid").asInt32() == 4242);
    CHECK(root.require("bundle").asString() == "/srv/bundle");
    CHECK(root.require("rootfs").asString() == "/srv/bundle/rootfs");
    CHECK(root.require("created").asString() == "2026-11-22T20:31:02.123456789Z");
    CHECK(root.require("owner").asString() == "root");
    auto ann = root.require("annotations").asStringMap();
    CHECK(ann.at("a\"b") == "line\nbreak");
    // Private fields stay private.
    CHECK_FALSE(root.get("cgroupPaths").has_value());

    auto stopped = json::parse(stateJson(s, ContainerStatus::Stopped), "state");
    CHECK(json::Node::root(stopped).require("status").asString() == "stopped");
    CHECK(json::Node::root(stopped).require("pid").asInt32() == 0);
}

TEST_CASE("process liveness detects exit, zombies and pid reuse") {
    auto self = processStartTime(::getpid());
    REQUIRE(self.has_value());
    CHECK(processAlive(::getpid(), *self));
    CHECK(processAlive(::getpid(), 0));
    CHECK_FALSE(processAlive(::getpid(), *self + 1));  // same pid, other process

    int gate[2];
    REQUIRE(::pipe(gate) == 0);
    pid_t child = ::fork();
    if (child == 0) {
        ::close(gate[1]);
        char c;
        [[maybe_unused]] auto n = ::read(gate[0], &c, 1);
        ::_exit(0);
    }
    ::close(gate[0]);
    auto childStart = processStartTime(child);
    REQUIRE(childStart.has_value());
    ContainerState s;
    s.id = "live";
    s.pid = child;
    s.pidStartTime = *childStart;
    s.status = ContainerStatus::Running;
    CHECK(liveStatus(s) == ContainerStatus::Running);
    s.status = ContainerStatus::Paused;
    CHECK(liveStatus(s) == ContainerStatus::Paused);
    s.status = ContainerStatus::Running;

    ::close(gate[1]);  // the child exits and stays a zombie until we reap it
    siginfo_t info{};
    REQUIRE(::waitid(P_PID, static_cast<id_t>(child), &info, WEXITED | WNOWAIT) == 0);
    CHECK_FALSE(processAlive(child, *childStart));
    CHECK(liveStatus(s) == ContainerStatus::Stopped);
    int status;
    ::waitpid(child, &status, 0);
    CHECK_FALSE(processStartTime(child).has_value());
    CHECK(liveStatus(s) == ContainerStatus::Stopped);

    ContainerState creating;
    creating.status = ContainerStatus::Creating;
    CHECK(liveStatus(creating) == ContainerStatus::Creating);
}

TEST_CASE("the state store creates, finds, lists and removes containers") {
    TempRoot tmp;
    StateStore store(tmp.path + "/root/");  // a missing root is created; trailing '/' ok
    CHECK(store.root() == tmp.path + "/root");
    CHECK(store.execFifoPath("c1") == tmp.path + "/root/c1/exec.fifo");

    CHECK_THROWS_WITH_AS(store.load("c1"), doctest::Contains("container c1 does not exist"), Error);
    CHECK_THROWS_WITH_AS(store.lockContainer("c1"),
                         doctest::Contains("container c1 does not exist"), Error);
    {
        auto lock = store.createDir("c1");
        CHECK(lock.held());
        CHECK_THROWS_WITH_AS(store.createDir("c1"),
                             doctest::Contains("container c1 already exists"), Error);
        // A directory without state.json is not a container yet.
        CHECK_FALSE(store.exists("c1"));
        CHECK(store.list().empty());
        store.save(sample());
    }
    CHECK(store.exists("c1"));
    CHECK(store.load("c1").bundle == "/srv/bundle");
    CHECK_FALSE(fs::exists(store.statePath("c1") + ".tmp"));
    CHECK((fs::status(store.containerDir("c1")).permissions() & fs::perms::others_read) ==
          fs::perms::none);

    ContainerState b = sample();
    b.id = "a0";
    store.createDir("a0");
    store.save(b);
    auto all = store.list();
    REQUIRE(all.size() == 2);
    CHECK(all[0].id == "a0");
    CHECK(all[1].id == "c1");

    store.remove("c1");
    CHECK_FALSE(fs::exists(store.containerDir("c1")));
    store.remove("c1");  // absent is fine
    CHECK(store.list().size() == 1);
}

TEST_CASE("container ids that are not plain names are refused") {
    for (const char* bad : {"", ".", "..", "a/b", "../escape"})
        CHECK_THROWS_AS(StateStore::validateId(bad), Error);
    CHECK_NOTHROW(StateStore::validateId("k8s_pod-1.2_x"));
    CHECK_THROWS_AS(StateStore::validateId(std::string(1025, 'a')), Error);
}

TEST_CASE("the container lock excludes other processes and is not kept by forked children") {
    TempRoot tmp;
    StateStore store(tmp.path);
    auto lock = store.createDir("c1");
    std::string lockPath = store.containerDir("c1") + "/lock";
    CHECK_FALSE(otherProcessCanLock(lockPath));

    // A child forked while the lock is held (like a container init) keeps the fd open...
    int gate[2];
    REQUIRE(::pipe(gate) == 0);
    pid_t child = ::fork();
    if (child == 0) {
        ::close(gate[1]);
        char c;
        [[maybe_unused]] auto n = ::read(gate[0], &c, 1);
        ::_exit(0);
    }
    ::close(gate[0]);
    // ... but once the parent releases, the container is free (flock would stay held).
    lock.release();
    CHECK(otherProcessCanLock(lockPath));
    auto again = store.lockContainer("c1");
    CHECK(again.held());
    ::close(gate[1]);
    int status;
    ::waitpid(child, &status, 0);
}

TEST_CASE("the owner is a user name when there is one") {
    CHECK(ownerName(0) == "root");
    CHECK(ownerName(3999999) == "3999999");
}
