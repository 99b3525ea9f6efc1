// The capability planner inside user namespaces: a new one created by a rootless runtime
// offers the full set whatever the host lacks, an existing one (podman's) offers what the
// runtime holds there, and capabilities the kernel checks against the initial namespace are
// called out.
#include <doctest/doctest.h>
#include <unistd.h>

#include <linux/capability.h>

#include "caprun/cap_plan.hpp"
#include "caprun/cap_userns.hpp"
#include "caprun/error.hpp"

using namespace caprun;

namespace {

// An ordinary user on this machine: no capabilities, a bounding set without SYS_RESOURCE.
HostFacts ordinaryUser() {
    HostFacts h;
    h.capLastCap = 40;
    h.caps.bounding = capsUpTo(40) & ~capBit(CAP_SYS_RESOURCE);
    h.euid = 1000;
    h.egid = 1000;
    return h;
}

Spec rootlessSpec(std::vector<std::string> caps, bool newUserNs = true) {
    Spec s;
    s.ociVersion = "1.2.0";
    s.root.path = "rootfs";
    Process p;
    p.args = {"/bin/sh"};
    p.capabilities = Capabilities{caps, caps, {}, caps, {}};
    s.process = p;
    s.linux = Linux{};
    if (newUserNs) {
        s.linux->namespaces = {Namespace{"user", ""}, Namespace{"mount", ""}};
        s.linux->uidMappings = {{0, 1000, 1}};
        s.linux->gidMappings = {{0, 1000, 1}};
    }
    return s;
}

const PolicyChoice kStrict{CapPolicy::Strict, "--cap-policy"};

bool mentions(const std::vector<std::string>& notes, const std::string& name) {
    for (const auto& n : notes)
        if (n.rfind(name + " ", 0) == 0) return true;
    return false;
}

}  // namespace

TEST_CASE("userns caps: a rootless runtime's new user namespace offers the full set") {
    const auto req = std::vector<std::string>{"CAP_CHOWN", "CAP_SYS_RESOURCE", "CAP_SYS_TIME"};
    CapabilityPlan p = planCapabilities(rootlessSpec(req), ordinaryUser(), kStrict, {});
    CHECK(p.userNamespace);
    CHECK(p.offered.bounding == capsUpTo(40));
    CHECK(p.dropped.empty());
    CHECK_FALSE(p.refusesToStart());
    const CapMask want = capBit(CAP_CHOWN) | capBit(CAP_SYS_RESOURCE) | capBit(CAP_SYS_TIME);
    CHECK(p.granted.permitted == want);
    CHECK(p.granted.bounding == want);
    // The own gid mapped directly: setgroups is denied in that namespace.
    CHECK(p.setgroupsDenied);
    // Granted but checked against the initial namespace: said; CAP_CHOWN works there.
    CHECK(p.userNamespaceNotes.size() == 2);
    CHECK(mentions(p.userNamespaceNotes, "CAP_SYS_RESOURCE"));
    CHECK(mentions(p.userNamespaceNotes, "CAP_SYS_TIME"));
    CHECK_FALSE(mentions(p.userNamespaceNotes, "CAP_CHOWN"));
}

TEST_CASE("userns caps: additional gids cannot be set with setgroups denied") {
    Spec s = rootlessSpec({"CAP_CHOWN"});
    s.process->user.additionalGids = {10};
    CHECK_THROWS_AS(planCapabilities(s, ordinaryUser(), kStrict, {}), Error);
    // Mapped through newgidmap the namespace allows setgroups.
    s.linux->gidMappings = {{0, 1000, 1}, {1, 100000, 65536}};
    CHECK_FALSE(planCapabilities(s, ordinaryUser(), kStrict, {}).setgroupsDenied);
}

TEST_CASE("userns caps: a joined user namespace's setgroups decides, as probed from /proc/<pid>") {
    Spec s = rootlessSpec({"CAP_CHOWN"}, false);
    s.linux->namespaces = {Namespace{"user", "/proc/4242/ns/user"}, Namespace{"mount", ""}};
    HostFacts h = ordinaryUser();
    h.joinedSetgroupsDenied = true;  // another rootless container's namespace
    CHECK(planCapabilities(s, h, kStrict, {}).setgroupsDenied);
    s.process->user.additionalGids = {10};
    CHECK_THROWS_WITH_AS(planCapabilities(s, h, kStrict, {}),
                         doctest::Contains("the user namespace it joins has setgroups denied"),
                         Error);
    h.joinedSetgroupsDenied = false;
    CHECK_FALSE(planCapabilities(s, h, kStrict, {}).setgroupsDenied);
    h.joinedSetgroupsDenied.reset();  // named otherwise: not known, setgroups is tried
    CHECK_FALSE(planCapabilities(s, h, kStrict, {}).setgroupsDenied);

    // The probe: this process's own namespace is the initial one, setgroups "allow".
    Spec own = s;
    own.linux->namespaces = {Namespace{"user", "/proc/" + std::to_string(::getpid()) + "/ns/user"}};
    CHECK(probeJoinedSetgroups(own) == std::optional<bool>(false));
    own.linux->namespaces = {Namespace{"user", "/run/netns/../userns"}};
    CHECK_FALSE(probeJoinedSetgroups(own).has_value());
    own.linux->namespaces = {Namespace{"user", ""}};
    CHECK_FALSE(probeJoinedSetgroups(own).has_value());
}

TEST_CASE("userns caps: inside podman's namespace, what the runtime holds there") {
    HostFacts podman;
    podman.capLastCap = 40;
    podman.caps.bounding = podman.caps.permitted = podman.caps.effective =
        capBit(CAP_CHOWN) | capBit(CAP_SYS_NICE) | capBit(CAP_SETUID) | capBit(CAP_SETGID);
    podman.initialUserNamespace = false;
    CapabilityPlan p = planCapabilities(
        rootlessSpec({"CAP_CHOWN", "CAP_SYS_NICE", "CAP_NET_RAW"}, false), podman, kStrict, {});
    CHECK_FALSE(p.userNamespace);
    CHECK(p.offered.bounding == podman.caps.bounding);
    CHECK(p.refusesToStart());  // CAP_NET_RAW is not held there
    CHECK(p.granted.permitted == (capBit(CAP_CHOWN) | capBit(CAP_SYS_NICE)));
    CHECK(p.userNamespaceNotes.size() == 1);
    CHECK(mentions(p.userNamespaceNotes, "CAP_SYS_NICE"));
    CHECK_FALSE(p.setgroupsDenied);
}

TEST_CASE("userns caps: in the initial namespace nothing is called out") {
    HostFacts root;
    root.capLastCap = 40;
    root.caps.bounding = root.caps.permitted = root.caps.effective = capsUpTo(40);
    CapabilityPlan p = planCapabilities(rootlessSpec({"CAP_SYS_TIME"}, false), root, kStrict, {});
    CHECK(p.userNamespaceNotes.empty());
    CHECK(userNamespaceCapNotes(capBit(CAP_SYS_MODULE))
              .at(0)
              .find("no effect outside the user namespace") != std::string::npos);
}
