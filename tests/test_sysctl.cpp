// The sysctl planner: which linux.sysctl keys a container may set, for every kind of key and
// namespace configuration.
#include <doctest/doctest.h>

#include "caprun/error.hpp"
#include "caprun/sysctl.hpp"

using namespace caprun;

namespace {

NamespacePlan nsPlan(const std::vector<Namespace>& list) {
    Spec s;
    s.linux.emplace();
    s.linux->namespaces = list;
    return planNamespaces(s);
}

SysctlDecision decide(const std::string& key, const NamespacePlan& ns,
                      const SysctlHostFacts& facts = {}) {
    SysctlPlan p = planSysctls({{key, "1"}}, ns, facts);
    REQUIRE(p.decisions.size() == 1);
    return p.decisions[0];
}

const std::vector<std::string> kIpcKeys = {"fs.mqueue.queues_max", "fs.mqueue.msg_max",
                                           "kernel.msgmax",        "kernel.msgmnb",
                                           "kernel.msgmni",        "kernel.sem",
                                           "kernel.shmall",        "kernel.shmmax",
                                           "kernel.shmmni",        "kernel.shm_rmid_forced"};

}  // namespace

TEST_CASE("sysctl: net.* is accepted with a new network namespace") {
    auto d = decide("net.ipv4.ping_group_range", nsPlan({{"mount", ""}, {"network", ""}}));
    CHECK(d.allowed);
    REQUIRE(d.needs);
    CHECK(*d.needs == NamespaceKind::Network);
    CHECK(d.jsonPath == "linux.sysctl[\"net.ipv4.ping_group_range\"]");
    CHECK(d.reason == "written in the container's new network namespace");
}

TEST_CASE("sysctl: net.* without a network namespace of its own is refused, naming the key") {
    const NamespacePlan ns = nsPlan({{"mount", ""}, {"ipc", ""}, {"uts", ""}});
    SysctlPlan p = planSysctls({{"net.ipv4.ping_group_range", "0 0"}}, ns, {});
    REQUIRE(p.decisions.size() == 1);
    CHECK_FALSE(p.decisions[0].allowed);
    CHECK(*p.decisions[0].needs == NamespaceKind::Network);
    CHECK(p.refused());
    CHECK(p.accepted().empty());
    CHECK(p.error() ==
          "config.json: linux.sysctl[\"net.ipv4.ping_group_range\"]: a net.* sysctl needs a "
          "network namespace of the container's own (add {\"type\": \"network\"} to "
          "linux.namespaces); without one it would be written into the host's");
}

TEST_CASE("sysctl: a joined network namespace counts unless it is the runtime's own (runc)") {
    const NamespacePlan ns = nsPlan({{"mount", ""}, {"network", "/var/run/netns/pod"}});
    SysctlHostFacts other;
    other.network = JoinedNamespaceFact{"/var/run/netns/pod", false, ""};
    auto d = decide("net.core.somaxconn", ns, other);
    CHECK(d.allowed);
    CHECK(d.reason == "written in the joined network namespace /var/run/netns/pod");

    SysctlHostFacts host;
    host.network = JoinedNamespaceFact{"/var/run/netns/pod", true, ""};
    d = decide("net.core.somaxconn", ns, host);
    CHECK_FALSE(d.allowed);
    CHECK(d.reason.find("is the runtime's own, so it would be written into the host's") !=
          std::string::npos);

    SysctlHostFacts unknown;
    unknown.network = JoinedNamespaceFact{"/var/run/netns/pod", false,
                                          "stat /var/run/netns/pod: No such file or directory"};
    d = decide("net.core.somaxconn", ns, unknown);
    CHECK_FALSE(d.allowed);
    CHECK(d.reason.find("cannot tell whether the joined one (/var/run/netns/pod) is the "
                        "runtime's: stat /var/run/netns/pod: No such file or directory") !=
          std::string::npos);
}

TEST_CASE("sysctl: the ipc keys need an ipc namespace of the container's own") {
    const NamespacePlan withIpc = nsPlan({{"mount", ""}, {"ipc", ""}});
    const NamespacePlan withoutIpc = nsPlan({{"mount", ""}, {"network", ""}});
    for (const auto& key : kIpcKeys) {
        CAPTURE(key);
        auto ok = decide(key, withIpc);
        CHECK(ok.allowed);
        REQUIRE(ok.needs);
        CHECK(*ok.needs == NamespaceKind::Ipc);
        auto no = decide(key, withoutIpc);
        CHECK_FALSE(no.allowed);
        CHECK(no.reason == key +
                               " needs a ipc namespace of the container's own (add {\"type\": "
                               "\"ipc\"} to linux.namespaces); without one it would be written "
                               "into the host's");
    }
    // A joined ipc namespace: the same rule as for the network one.
    const NamespacePlan joined = nsPlan({{"mount", ""}, {"ipc", "/proc/1/ns/ipc"}});
    SysctlHostFacts host;
    host.ipc = JoinedNamespaceFact{"/proc/1/ns/ipc", true, ""};
    CHECK_FALSE(decide("kernel.shmmax", joined, host).allowed);
    host.ipc->isRuntimes = false;
    CHECK(decide("kernel.shmmax", joined, host).allowed);
    // A net.* key is not made acceptable by an ipc namespace, nor the other way round.
    CHECK_FALSE(decide("net.ipv4.ip_forward", withIpc).allowed);
    CHECK_FALSE(decide("fs.mqueue.queues_max", nsPlan({{"network", ""}})).allowed);
}

TEST_CASE("sysctl: kernel.hostname and kernel.domainname point to the config's fields") {
    const NamespacePlan ns = nsPlan({{"mount", ""}, {"uts", ""}});
    auto h = decide("kernel.hostname", ns);
    CHECK_FALSE(h.allowed);
    CHECK(h.reason == "not accepted: set config.json's \"hostname\" field instead");
    auto d = decide("kernel.domainname", ns);
    CHECK_FALSE(d.allowed);
    CHECK(d.reason == "not accepted: set config.json's \"domainname\" field instead");
}

TEST_CASE("sysctl: every other key is refused as not namespaced, whatever the namespaces") {
    const NamespacePlan all = nsPlan(
        {{"mount", ""}, {"network", ""}, {"ipc", ""}, {"uts", ""}, {"pid", ""}, {"cgroup", ""}});
    for (const std::string key :
         {"vm.swappiness", "kernel.pid_max", "fs.file-max", "kernel.core_pattern", "user.x"}) {
        CAPTURE(key);
        auto d = decide(key, all);
        CHECK_FALSE(d.allowed);
        CHECK_FALSE(d.needs.has_value());
        CHECK(d.reason.rfind("not namespaced: it is a host-wide setting", 0) == 0);
    }
}

TEST_CASE("sysctl: names that are not sysctl names are refused and never become paths") {
    const NamespacePlan ns = nsPlan({{"network", ""}});
    for (const std::string key :
         {"", "net..ipv4", "net/ipv4/ip_forward", "net.", ".net", "net.ipv4.conf.all/../../../x"}) {
        CAPTURE(key);
        auto d = decide(key, ns);
        CHECK_FALSE(d.allowed);
        CHECK(d.reason == "not a sysctl name");
        CHECK_THROWS_AS(sysctlRelativePath(key), Error);
    }
    CHECK(sysctlRelativePath("net.ipv4.ip_forward") == "net/ipv4/ip_forward");
    CHECK_THROWS_WITH(sysctlRelativePath("net/x"),
                      "config.json: linux.sysctl[\"net/x\"]: not a sysctl name (contains '/')");
}

TEST_CASE("sysctl: the plan keeps the accepted keys and names every refused one") {
    const NamespacePlan ns = nsPlan({{"mount", ""}, {"network", ""}});
    SysctlPlan p = planSysctls(
        {{"net.ipv4.ip_forward", "1"}, {"vm.swappiness", "10"}, {"kernel.sem", "1 2 3 4"}}, ns, {});
    CHECK(p.refused());
    CHECK(p.accepted() == std::map<std::string, std::string>{{"net.ipv4.ip_forward", "1"}});
    const std::string e = p.error();
    CHECK(e.rfind("config.json: linux.sysctl[\"kernel.sem\"]: kernel.sem needs a ipc namespace",
                  0) == 0);
    CHECK(e.find("; linux.sysctl[\"vm.swappiness\"]: not namespaced") != std::string::npos);
    CHECK(e.find("net.ipv4.ip_forward") == std::string::npos);
    CHECK_FALSE(planSysctls({}, ns, {}).refused());
}

TEST_CASE("sysctl: the host facts compare a joined path with the runtime's own namespace") {
    SysctlHostFacts own =
        probeSysctlHostFacts(nsPlan({{"network", "/proc/self/ns/net"}, {"ipc", "/nonexistent"}}));
    REQUIRE(own.network);
    CHECK(own.network->isRuntimes);
    CHECK(own.network->error.empty());
    REQUIRE(own.ipc);
    CHECK_FALSE(own.ipc->isRuntimes);
    CHECK(own.ipc->error == "stat /nonexistent: No such file or directory");
    SysctlHostFacts none = probeSysctlHostFacts(nsPlan({{"network", ""}}));
    CHECK_FALSE(none.network.has_value());
    CHECK_FALSE(none.ipc.has_value());
}
