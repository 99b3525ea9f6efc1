#include <doctest/doctest.h>

#include <sched.h>

#include <string>

#include "caprun/error.hpp"
#include "caprun/namespaces.hpp"
#include "caprun/spec.hpp"

using namespace caprun;

namespace {
Spec withLinux(const std::string& linuxJson) {
    return parseSpec(R"({"ociVersion":"1.0.2","root":{"path":"rootfs"},"linux":)" + linuxJson +
                     "}");
}
}  // namespace

TEST_CASE("namespaces to create become clone flags; time and cgroup are handled apart") {
    auto plan = planNamespaces(withLinux(
        R"({"namespaces":[{"type":"pid"},{"type":"network"},{"type":"mount"},{"type":"ipc"},
            {"type":"uts"},{"type":"cgroup"},{"type":"time"}],
            "timeOffsets":{"monotonic":{"secs":5,"nanosecs":7}}})"));
    CHECK(plan.cloneFlags ==
          static_cast<unsigned long long>(CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWIPC |
                                          CLONE_NEWUTS));
    CHECK(plan.newTime);
    CHECK(plan.newCgroup);
    CHECK(plan.creates(NamespaceKind::Cgroup));
    CHECK_FALSE(plan.has(NamespaceKind::User));
    CHECK(formatTimeOffsets(plan.timeOffsets) == "monotonic 5 7\n");
}

TEST_CASE("joined namespaces: user first, paths kept") {
    auto plan = planNamespaces(withLinux(
        R"({"namespaces":[{"type":"network","path":"/run/netns/a"},{"type":"mount"},
            {"type":"user","path":"/proc/1/ns/user"}]})"));
    REQUIRE(plan.join.size() == 2);
    CHECK(plan.join[0].kind == NamespaceKind::User);
    CHECK(plan.join[1].path == "/run/netns/a");
    CHECK(plan.cloneFlags == static_cast<unsigned long long>(CLONE_NEWNS));
    CHECK(plan.joins(NamespaceKind::Network));
    CHECK_FALSE(plan.creates(NamespaceKind::Network));
}

TEST_CASE("namespace plan errors name what is wrong") {
    CHECK_THROWS_WITH(
        planNamespaces(withLinux(R"({"namespaces":[{"type":"pidd"}]})")),
        doctest::Contains("linux.namespaces[0].type: unknown namespace type \"pidd\""));
    CHECK_THROWS_WITH(
        planNamespaces(withLinux(R"({"namespaces":[{"type":"uts"},{"type":"uts"}]})")),
        doctest::Contains("linux.namespaces[1]"));
    CHECK_THROWS_WITH(
        planNamespaces(withLinux(
            R"({"uidMappings":[{"containerID":0,"hostID":1000,"size":1}],"namespaces":[]})")),
        doctest::Contains("no new user namespace"));
    CHECK_THROWS_WITH(planNamespaces(withLinux(R"({"namespaces":[{"type":"user"}]})")),
                      doctest::Contains("needs both linux.uidMappings and linux.gidMappings"));
    CHECK_THROWS_WITH(planNamespaces(withLinux(R"({"namespaces":[{"type":"net","path":"x"}]})")),
                      doctest::Contains("unknown namespace type \"net\""));
    CHECK_THROWS_WITH(
        planNamespaces(withLinux(R"({"namespaces":[{"type":"network","path":"relative"}]})")),
        doctest::Contains("\"relative\" is not an absolute path"));
}

TEST_CASE("id maps are written one line per mapping") {
    std::vector<IdMapping> m{{0, 100000, 65536}, {65536, 5000, 1}};
    CHECK(formatIdMap(m) == "0 100000 65536\n65536 5000 1\n");
}

TEST_CASE("a bad namespace path is a clear error naming it") {
    NamespacePlan plan;
    plan.join.push_back({NamespaceKind::Network, "/nonexistent/netns"});
    CHECK_THROWS_WITH(
        openJoinedNamespaces(plan),
        doctest::Contains(
            "joining the network namespace: opening /nonexistent/netns: No such file"));
    NamespacePlan wrong;
    wrong.join.push_back({NamespaceKind::Network, "/proc/self/ns/uts"});
    CHECK_THROWS_WITH(openJoinedNamespaces(wrong),
                      doctest::Contains("/proc/self/ns/uts is not a network namespace"));
    NamespacePlan notNs;
    notNs.join.push_back({NamespaceKind::Uts, "/etc/hostname"});
    CHECK_THROWS_WITH(openJoinedNamespaces(notNs), doctest::Contains("is not a namespace file"));
}

TEST_CASE("lo is brought up only in a network namespace the container creates") {
    CHECK(planNamespaces(withLinux(R"({"namespaces":[{"type":"network"}]})")).loopbackUp);
    CHECK_FALSE(
        planNamespaces(withLinux(R"({"namespaces":[{"type":"network","path":"/run/netns/a"}]})"))
            .loopbackUp);
    CHECK_FALSE(planNamespaces(withLinux(R"({"namespaces":[{"type":"uts"}]})")).loopbackUp);
}
