// The namespace executor's kernel calls, recorded by RecordingNamespaceKernel. Expected
// calls follow setns(2)/user_namespaces(7): a namespace path is checked to be of the
// right type (NS_GET_NSTYPE); the runtime opens its own namespace before leaving it so it
// can return; the user namespace is joined before the namespaces it owns; uid_map and
// gid_map are each written in a single write(2).
#include <doctest/doctest.h>
#include <linux/capability.h>
#include <sched.h>

#include "caprun/error.hpp"
#include "caprun/namespaces.hpp"
#include "caprun/spec.hpp"
#include "kernel_doubles.hpp"

using namespace caprun;
using caprun::testing::RecordingNamespaceKernel;

namespace {

using Calls = std::vector<std::string>;

NamespacePlan planOf(const std::string& linux) {
    return planNamespaces(parseSpec(R"({"ociVersion": "1.0.2", "root": {"path": "rootfs"},
                                       "linux": )" +
                                    linux + "}"));
}

}  // namespace

TEST_CASE("namespace executor: a joined network namespace path, entered around the clone") {
    NamespacePlan plan = planOf(R"({"namespaces": [{"type": "pid"},
        {"type": "network", "path": "/var/run/netns/blue"}, {"type": "mount"}]})");
    RecordingNamespaceKernel k;
    k.types["/var/run/netns/blue"] = CLONE_NEWNET;
    auto opened = openJoinedNamespaces(plan, k);
    auto saved = prepareParentNamespaces(plan, opened, k);
    k.calls.push_back("-- clone --");
    restoreParentNamespaces(saved, k);
    joinNamespaces(opened, k);  // the child: nothing left for it to join
    closeNamespaces(opened, k);
    CHECK(k.calls == Calls{
                         "open /var/run/netns/blue",
                         "ioctl NS_GET_NSTYPE /var/run/netns/blue",
                         "open /proc/self/ns/net",
                         "setns /var/run/netns/blue CLONE_NEWNET",
                         "-- clone --",
                         "setns /proc/self/ns/net CLONE_NEWNET",
                         "close /proc/self/ns/net",
                         "close /var/run/netns/blue",
                     });
}

TEST_CASE("namespace executor: the child joins a user namespace path before the mount one") {
    NamespacePlan plan = planOf(R"({"namespaces": [{"type": "mount", "path": "/proc/42/ns/mnt"},
        {"type": "user", "path": "/proc/42/ns/user"}, {"type": "pid"}]})");
    RecordingNamespaceKernel k;
    k.types = {{"/proc/42/ns/mnt", CLONE_NEWNS}, {"/proc/42/ns/user", CLONE_NEWUSER}};
    auto opened = openJoinedNamespaces(plan, k);
    auto saved = prepareParentNamespaces(plan, opened, k);
    CHECK(saved.empty());  // neither is the parent's to join
    joinNamespaces(opened, k);
    CHECK(k.calls == Calls{
                         "open /proc/42/ns/user",
                         "ioctl NS_GET_NSTYPE /proc/42/ns/user",
                         "open /proc/42/ns/mnt",
                         "ioctl NS_GET_NSTYPE /proc/42/ns/mnt",
                         "setns /proc/42/ns/user CLONE_NEWUSER",
                         "setns /proc/42/ns/mnt CLONE_NEWNS",
                     });
    closeNamespaces(opened, k);
}

TEST_CASE("namespace executor: a rootless joiner enters the user namespace first, mount last") {
    NamespacePlan plan;
    plan.join = {{NamespaceKind::Mount, "/proc/42/ns/mnt"},
                 {NamespaceKind::Pid, "/proc/42/ns/pid"},
                 {NamespaceKind::User, "/proc/42/ns/user"},
                 {NamespaceKind::Ipc, "/proc/42/ns/ipc"}};
    RecordingNamespaceKernel k;
    k.types = {{"/proc/42/ns/mnt", CLONE_NEWNS},
               {"/proc/42/ns/pid", CLONE_NEWPID},
               {"/proc/42/ns/user", CLONE_NEWUSER},
               {"/proc/42/ns/ipc", CLONE_NEWIPC}};
    auto opened = openJoinedNamespaces(plan, k);
    k.calls.clear();
    joinAllNamespaces(opened, k);
    CHECK(k.calls == Calls{
                         "setns /proc/42/ns/user CLONE_NEWUSER",
                         "setns /proc/42/ns/pid CLONE_NEWPID",
                         "setns /proc/42/ns/ipc CLONE_NEWIPC",
                         "setns /proc/42/ns/mnt CLONE_NEWNS",
                     });
    closeNamespaces(opened, k);
}

TEST_CASE("namespace executor: a new user namespace gets its id maps, one write each") {
    NamespacePlan plan = planOf(R"({"namespaces": [{"type": "user"}, {"type": "mount"}],
        "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
        "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 1000},
                        {"containerID": 1000, "hostID": 5000, "size": 1}]})");
    RecordingNamespaceKernel k;
    CHECK(openJoinedNamespaces(plan, k).empty());
    writeIdMaps(4242, plan, k);
    CHECK(k.calls == Calls{
                         R"(write /proc/4242/gid_map "0 100000 1000\n1000 5000 1\n")",
                         R"(write /proc/4242/uid_map "0 100000 65536\n")",
                     });
    // Without a new user namespace nothing is written.
    RecordingNamespaceKernel none;
    writeIdMaps(4242, planOf(R"({"namespaces": [{"type": "pid"}]})"), none);
    CHECK(none.calls.empty());
}

TEST_CASE("namespace executor: a new time namespace with offsets, and a cgroup namespace") {
    NamespacePlan plan = planOf(R"({"namespaces": [{"type": "time"}, {"type": "cgroup"}],
        "timeOffsets": {"monotonic": {"secs": 5, "nanosecs": 0}}})");
    RecordingNamespaceKernel k;
    auto saved = prepareParentNamespaces(plan, {}, k);
    restoreParentNamespaces(saved, k);
    unshareCgroupNamespace(plan, k);
    // The offsets can only be written before a process is in the namespace, so by the
    // runtime that unshared it, for its child.
    CHECK(k.calls == Calls{
                         "open /proc/self/ns/time",
                         "unshare CLONE_NEWTIME",
                         R"(write /proc/self/timens_offsets "monotonic 5 0\n")",
                         "setns /proc/self/ns/time CLONE_NEWTIME",
                         "close /proc/self/ns/time",
                         "unshare CLONE_NEWCGROUP",
                     });
}

TEST_CASE("namespace executor: failures name the namespace, the path and the errno") {
    SUBCASE("a path of the wrong type is closed again") {
        NamespacePlan plan =
            planOf(R"({"namespaces": [{"type": "network", "path": "/run/ipc-ns"}]})");
        RecordingNamespaceKernel k;
        k.types["/run/ipc-ns"] = CLONE_NEWIPC;
        CHECK_THROWS_WITH(openJoinedNamespaces(plan, k),
                          "joining the network namespace: /run/ipc-ns is not a network namespace");
        CHECK(k.calls.back() == "close /run/ipc-ns");
    }
    SUBCASE("not a namespace file") {
        NamespacePlan plan =
            planOf(R"({"namespaces": [{"type": "uts", "path": "/etc/hostname"}]})");
        RecordingNamespaceKernel k;
        CHECK_THROWS_WITH(openJoinedNamespaces(plan, k),
                          "joining the uts namespace: /etc/hostname is not a namespace file "
                          "(Inappropriate ioctl for device)");
    }
    SUBCASE("setns refused: the runtime goes back to its own namespace before reporting") {
        NamespacePlan plan = planOf(R"({"namespaces": [{"type": "ipc", "path": "/run/ipc"}]})");
        RecordingNamespaceKernel k;
        k.types["/run/ipc"] = CLONE_NEWIPC;
        auto opened = openJoinedNamespaces(plan, k);
        k.failOn("setns /run/ipc", EPERM);
        CHECK_THROWS_WITH(prepareParentNamespaces(plan, opened, k),
                          "joining the ipc namespace /run/ipc: Operation not permitted");
        CHECK(k.calls.end()[-2] == "setns /proc/self/ns/ipc CLONE_NEWIPC");
        CHECK(k.calls.back() == "close /proc/self/ns/ipc");
        closeNamespaces(opened, k);
    }
    SUBCASE("returning to the runtime's own namespace refused") {
        NamespacePlan plan = planOf(R"({"namespaces": [{"type": "ipc", "path": "/run/ipc"}]})");
        RecordingNamespaceKernel k;
        k.types["/run/ipc"] = CLONE_NEWIPC;
        auto opened = openJoinedNamespaces(plan, k);
        auto saved = prepareParentNamespaces(plan, opened, k);
        k.failOn("setns /proc/self/ns/ipc", EPERM);
        CHECK_THROWS_WITH(restoreParentNamespaces(saved, k),
                          "returning to the runtime's own namespaces: /proc/self/ns/ipc: "
                          "Operation not permitted");
        CHECK(saved.empty());  // closed all the same
        closeNamespaces(opened, k);
    }
}

TEST_CASE("namespace executor: lo comes up only in a new network namespace") {
    RecordingNamespaceKernel k;
    bringUpLoopback(planOf(R"({"namespaces": [{"type": "network"}]})"), k);
    bringUpLoopback(planOf(R"({"namespaces": [{"type": "network", "path": "/x"}]})"), k);
    CHECK(k.calls == Calls{"ifup lo"});
}

namespace {
caprun::HostFacts unprivileged(std::uint32_t uid, std::uint32_t gid) {
    caprun::HostFacts h;
    h.euid = uid;
    h.egid = gid;
    h.caps = {};  // an ordinary user: no capabilities
    return h;
}
}  // namespace

TEST_CASE("id map writing: privileged writes directly, rootless maps its own id or uses helpers") {
    using caprun::IdMapping;
    using caprun::planIdMapWrite;
    const std::vector<IdMapping> own{{0, 1000, 1}};
    const std::vector<IdMapping> range{{0, 1000, 1}, {1, 100000, 65536}};
    caprun::HostFacts root;
    root.caps.effective = caprun::capBit(CAP_SETUID) | caprun::capBit(CAP_SETGID);
    auto w = planIdMapWrite(range, range, root);
    CHECK_FALSE(w.uidHelper);
    CHECK_FALSE(w.gidHelper);
    CHECK_FALSE(w.setgroupsDeny);

    w = planIdMapWrite(own, own, unprivileged(1000, 1000));
    CHECK_FALSE(w.uidHelper);
    CHECK_FALSE(w.gidHelper);
    CHECK(w.setgroupsDeny);  // the kernel's condition for an unprivileged gid_map

    w = planIdMapWrite(range, range, unprivileged(1000, 1000));
    CHECK(w.uidHelper);
    CHECK(w.gidHelper);
    CHECK_FALSE(w.setgroupsDeny);

    // Someone else's id, even one: only newuidmap can (and /etc/subuid decides).
    w = planIdMapWrite({{0, 1001, 1}}, own, unprivileged(1000, 1000));
    CHECK(w.uidHelper);
    CHECK_FALSE(w.gidHelper);
}

TEST_CASE("namespace executor: rootless writes setgroups deny first, or runs the helpers") {
    NamespacePlan plan = planOf(R"({"namespaces": [{"type": "user"}],
        "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
        "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]})");
    plan.idMapWrite =
        caprun::planIdMapWrite(plan.uidMappings, plan.gidMappings, unprivileged(1000, 1000));
    RecordingNamespaceKernel k;
    writeIdMaps(4242, plan, k);
    CHECK(k.calls == Calls{
                         R"(write /proc/4242/setgroups "deny")",
                         R"(write /proc/4242/gid_map "0 1000 1\n")",
                         R"(write /proc/4242/uid_map "0 1000 1\n")",
                     });

    NamespacePlan ranged = planOf(R"({"namespaces": [{"type": "user"}],
        "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1},
                        {"containerID": 1, "hostID": 100000, "size": 65536}],
        "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 1},
                        {"containerID": 1, "hostID": 100000, "size": 65536}]})");
    ranged.idMapWrite =
        caprun::planIdMapWrite(ranged.uidMappings, ranged.gidMappings, unprivileged(1000, 1000));
    RecordingNamespaceKernel h;
    writeIdMaps(4242, ranged, h);
    CHECK(h.calls == Calls{
                         "newgidmap 4242 0 1000 1 1 100000 65536",
                         "newuidmap 4242 0 1000 1 1 100000 65536",
                     });
}
