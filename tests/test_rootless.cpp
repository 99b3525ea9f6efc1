#include <doctest/doctest.h>

#include "caprun/error.hpp"
#include "caprun/cgroup_rootless.hpp"
#include "caprun/rootless.hpp"

using caprun::decideRootless;
using caprun::isInitialUserNamespaceMap;
using caprun::RootlessFacts;
using caprun::rootlessSetupRefusal;

namespace {
const char* kInitial = "         0          0 4294967295\n";
const char* kPodman = "         0       1000          1\n         1     100000      65536\n";
}  // namespace

TEST_CASE("rootless: the initial user namespace's uid_map, nothing else") {
    CHECK(isInitialUserNamespaceMap(kInitial));
    CHECK(isInitialUserNamespaceMap("0 0 4294967295"));
    CHECK_FALSE(isInitialUserNamespaceMap(kPodman));
    CHECK_FALSE(isInitialUserNamespaceMap("0 1000 1\n"));
    CHECK_FALSE(isInitialUserNamespaceMap("0 0 65536\n"));              // a userns mapping 0..
    CHECK_FALSE(isInitialUserNamespaceMap("0 0 4294967295\n1 1 1\n"));  // not the one line
}

TEST_CASE("rootless: auto decides from the euid and the user namespace, as runc") {
    CHECK_FALSE(decideRootless("auto", RootlessFacts{0, kInitial, std::nullopt}).rootless);
    auto user = decideRootless("auto", RootlessFacts{1000, kInitial, std::nullopt});
    CHECK(user.rootless);
    CHECK(user.reason == "euid 1000 is not 0");
    // podman rootless: euid 0, but in the user's namespace.
    auto podman = decideRootless("auto", RootlessFacts{0, kPodman, std::nullopt});
    CHECK(podman.rootless);
    CHECK(podman.reason.find("user namespace") != std::string::npos);
    // No /proc: nothing says it is a user namespace.
    CHECK_FALSE(decideRootless("auto", RootlessFacts{0, "", std::nullopt}).rootless);
}

TEST_CASE("rootless: true and false override the facts") {
    CHECK(decideRootless("true", RootlessFacts{0, kInitial, std::nullopt}).rootless);
    CHECK_FALSE(decideRootless("false", RootlessFacts{1000, kPodman, std::nullopt}).rootless);
}

TEST_CASE("rootless: the default state root") {
    RootlessFacts f{1000, kInitial, "/run/user/1000"};
    CHECK(caprun::defaultStateRootFor({false, ""}, f) == "/run/caprun");
    CHECK(caprun::defaultStateRootFor({true, "euid 1000 is not 0"}, f) == "/run/user/1000/caprun");
    f.xdgRuntimeDir.reset();
    CHECK_THROWS_WITH_AS(caprun::defaultStateRootFor({true, "euid 1000 is not 0"}, f),
                         "rootless (euid 1000 is not 0): XDG_RUNTIME_DIR is not set, so there is "
                         "no default state directory; set XDG_RUNTIME_DIR or pass --root",
                         caprun::Error);
}

TEST_CASE("rootless cgroups: used when writable, skipped otherwise, limits by policy") {
    using caprun::decideRootlessCgroup;
    CHECK_FALSE(decideRootlessCgroup(false, false, true, "strict").skip);  // root: as always
    CHECK_FALSE(decideRootlessCgroup(true, true, true, "strict").skip);    // delegated
    auto none = decideRootlessCgroup(true, false, false, "strict");
    CHECK(none.skip);
    CHECK(none.error.empty());
    CHECK(none.warning.empty());
    auto strict = decideRootlessCgroup(true, false, true, "strict");
    CHECK(strict.error.find("linux.resources cannot be applied") != std::string::npos);
    auto lenient = decideRootlessCgroup(true, false, true, "lenient");
    CHECK(lenient.skip);
    CHECK(lenient.error.empty());
    CHECK(lenient.warning.find("running without them") != std::string::npos);
}

TEST_CASE("uid_map text: one mapping per well-formed line") {
    auto m =
        caprun::parseIdMapText("         0       1000          1\n\n  1 100000 65536\nbad line\n");
    REQUIRE(m.size() == 2);
    CHECK(m[1].containerID == 1);
    CHECK(m[1].hostID == 100000);
    CHECK(m[1].size == 65536);
    CHECK(caprun::parseIdMapText("0 0 4294967295\n")[0].size == 4294967295U);
}

TEST_CASE("rootless: create as a user needs a user namespace in config.json, as runc says") {
    CHECK(rootlessSetupRefusal(0, false).empty());
    CHECK(rootlessSetupRefusal(1000, true).empty());
    CHECK(rootlessSetupRefusal(1000, false) ==
          "running as uid 1000 (not root) needs a user namespace in config.json, and this "
          "bundle has none: run caprun as root, or make a rootless bundle with `caprun spec "
          "--rootless`");
}
