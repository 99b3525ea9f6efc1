// The one parser of /proc/<pid>/mountinfo and /proc/<pid>/cgroup, on sample text.
#include <doctest/doctest.h>

#include "caprun/error.hpp"
#include "caprun/sys/mountinfo.hpp"

using namespace caprun;
using namespace caprun::sys;

TEST_CASE("mountinfo: fields, optional fields and the separator") {
    // proc(5)'s example line, then one without optional fields and one with two.
    auto e = parseMountInfo(
        "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n"
        "22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n"
        "26 22 0:23 / /sys/fs/cgroup rw,nosuid shared:4 master:9 - cgroup2 cgroup2 "
        "rw,nsdelegate\n");
    REQUIRE(e.size() == 3);
    CHECK(e[0].mountId == 36);
    CHECK(e[0].parentId == 35);
    CHECK(e[0].device == "98:0");
    CHECK(e[0].root == "/mnt1");
    CHECK(e[0].mountPoint == "/mnt2");
    CHECK(e[0].mountOptions == "rw,noatime");
    CHECK(e[0].optionalFields == std::vector<std::string>{"master:1"});
    CHECK(e[0].fsType == "ext3");
    CHECK(e[0].source == "/dev/root");
    CHECK(e[0].superOptions == "rw,errors=continue");
    CHECK(e[1].optionalFields.empty());
    CHECK(e[1].mountPoint == "/");
    CHECK(e[1].fsType == "ext4");
    CHECK(e[2].optionalFields == std::vector<std::string>{"shared:4", "master:9"});
    CHECK(e[2].fsType == "cgroup2");
    CHECK(e[2].superOptions == "rw,nsdelegate");
}

TEST_CASE("mountinfo: escaped space, tab, newline and backslash in paths") {
    auto e = parseMountInfo(
        "40 22 0:50 /a\\134b /mnt/my\\040disk\\011x\\012y rw - fuse.sshfs host:/srv\\040x rw\n");
    REQUIRE(e.size() == 1);
    CHECK(e[0].root == "/a\\b");
    CHECK(e[0].mountPoint == "/mnt/my disk\tx\ny");
    CHECK(e[0].source == "host:/srv x");
    // Not an escape: fewer than three octal digits, or not octal.
    CHECK(unescapeMountInfoField("/x\\04") == "/x\\04");
    CHECK(unescapeMountInfoField("/x\\089") == "/x\\089");
    CHECK(unescapeMountInfoField("\\040") == " ");
}

TEST_CASE("mountinfo: malformed lines are skipped, the rest kept") {
    auto e = parseMountInfo(
        "garbage\n"
        "\n"
        "1 2 0:1 / /no-separator rw ext4 /dev/x rw\n"
        "1 2 0:1 / /too-short rw - ext4\n"
        "x 2 0:1 / /bad-id rw - ext4 /dev/x rw\n"
        "5 1 0:2 / /ok rw - tmpfs tmpfs rw");  // no final newline
    REQUIRE(e.size() == 1);
    CHECK(e[0].mountPoint == "/ok");
    CHECK(e[0].fsType == "tmpfs");
}

TEST_CASE("/proc/self/cgroup: v1 controller lists, named hierarchies and the v2 line") {
    auto e = parseProcCgroup(
        "12:cpu,cpuacct:/docker/abc\n"
        "1:name=systemd:/user.slice\n"
        "0::/user.slice/user-1000.slice/session-2.scope\n"
        "no colons here\n"
        "3:memory:/with:colon\n");
    REQUIRE(e.size() == 4);
    CHECK(e[0].hierarchyId == "12");
    CHECK(e[0].controllerList == "cpu,cpuacct");
    CHECK(e[0].controllers == std::vector<std::string>{"cpu", "cpuacct"});
    CHECK(e[0].path == "/docker/abc");
    CHECK(e[1].controllers == std::vector<std::string>{"name=systemd"});
    CHECK(e[2].hierarchyId == "0");
    CHECK(e[2].controllerList.empty());
    CHECK(e[2].controllers.empty());
    CHECK(e[2].path == "/user.slice/user-1000.slice/session-2.scope");
    CHECK(e[3].path == "/with:colon");
}

TEST_CASE("the readers read this process's files, and name a missing one") {
    auto mounts = readMountInfo();
    CHECK_FALSE(mounts.empty());
    bool root = false;
    for (const auto& m : mounts) root = root || m.mountPoint == "/";
    CHECK(root);
    CHECK_FALSE(readProcCgroup().empty());
    CHECK_THROWS_WITH(readMountInfo("/nonexistent/mountinfo"),
                      doctest::Contains("reading /nonexistent/mountinfo: No such file"));
}
