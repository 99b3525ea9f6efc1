// The rootfs executor's kernel calls, recorded by RecordingRootfsKernel. The expected
// calls follow mount(2)'s contract: a bind ignores every flag but MS_REC, so read-only (and
// nosuid, ...) needs a second call with MS_REMOUNT|MS_BIND; a remount of a bind must keep
// the flags the kernel locked on its source; masking a directory is a read-only tmpfs over
// it, masking a file is /dev/null bound over it.
#include <doctest/doctest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>

#include "caprun/error.hpp"
#include "caprun/rootfs.hpp"
#include "caprun/spec.hpp"
#include "kernel_doubles.hpp"

using namespace caprun;
using caprun::testing::RecordingRootfsKernel;

namespace {

using Calls = std::vector<std::string>;

// A v2 host (systemd, cgroup2 on /sys/fs/cgroup) and a v1 host (cpu,cpuacct co-mounted,
// memory, and systemd's named hierarchy).
const char* kV2Mountinfo =
    "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
    "26 22 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 "
    "rw,nsdelegate\n";
const char* kV2Self = "0::/user.slice/session-2.scope\n";
const char* kV1Mountinfo =
    "22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n"
    "25 22 0:21 / /sys/fs/cgroup ro,nosuid,nodev,noexec - tmpfs tmpfs ro,mode=755\n"
    "30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct\n"
    "31 25 0:27 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory\n"
    "32 25 0:28 / /sys/fs/cgroup/systemd rw,nosuid - cgroup cgroup "
    "rw,xattr,name=systemd\n";
const char* kV1Self = "3:name=systemd:/box\n2:memory:/box\n1:cpu,cpuacct:/box\n";
const char* kV1ProcCgroups =
    "#subsys_name\thierarchy\tnum_cgroups\tenabled\n"
    "cpu\t1\t10\t1\ncpuacct\t1\t10\t1\nmemory\t2\t10\t1\n";

void v2Host(RecordingRootfsKernel& k) {
    k.procFiles["/proc/self/mountinfo"] = kV2Mountinfo;
    k.procFiles["/proc/self/cgroup"] = kV2Self;
}

void v1Host(RecordingRootfsKernel& k) {
    k.procFiles["/proc/self/mountinfo"] = kV1Mountinfo;
    k.procFiles["/proc/self/cgroup"] = kV1Self;
    k.procFiles["/proc/cgroups"] = kV1ProcCgroups;
}

// An image with the usual empty mount points, and what proc and sysfs show once mounted.
void typicalImage(RecordingRootfsKernel& k) {
    using K = RecordingRootfsKernel;
    k.files["/proc"] = K::dir(0555);
    k.files["/dev"] = K::dir();
    k.files["/sys"] = K::dir(0555);
    k.contents["proc"] = {{"/kcore", K::file(0400)},
                          {"/keys", K::file(0444)},
                          {"/timer_list", K::file()},
                          {"/sched_debug", K::file()},
                          {"/sysrq-trigger", K::file(0200)},
                          {"/acpi", K::dir()},
                          {"/scsi", K::dir()},
                          {"/bus", K::dir()},
                          {"/fs", K::dir()},
                          {"/irq", K::dir()},
                          {"/sys", K::dir()}};
    k.contents["sysfs"] = {{"/fs", K::dir()}, {"/fs/cgroup", K::dir()}, {"/firmware", K::dir()}};
}

const std::set<std::string> kChanges = {
    "mount", "mknod",      "chmod",   "chown",  "symlink",       "unlink",     "chroot",
    "chdir", "pivot_root", "umount2", "fchdir", "mount_setattr", "move_mount", "copy"};

RootfsPlan planFor(const std::string& json, bool newUserNs = false, bool newCgroupNs = true,
                   bool noPivot = false) {
    return planRootfs(parseSpec(json), "/b", noPivot, newUserNs, newCgroupNs, true);
}

// Without the default devices and /dev symlinks, for tests about the mounts alone.
RootfsPlan mountsOnly(RootfsPlan plan) {
    plan.devices.clear();
    plan.devSymlinks.clear();
    return plan;
}

std::string withMounts(const std::string& mounts) {
    return R"({"ociVersion": "1.0.2", "root": {"path": "rootfs"}, "mounts": )" + mounts + "}";
}

Calls devicesAndLinks() {
    Calls out;
    struct D {
        const char* name;
        int major, minor;
    };
    for (D d : {D{"null", 1, 3}, D{"zero", 1, 5}, D{"full", 1, 7}, D{"random", 1, 8},
                D{"urandom", 1, 9}, D{"tty", 5, 0}}) {
        std::string p = std::string("rootfs:/dev/") + d.name;
        out.push_back("unlink " + p);
        out.push_back("mknod " + p + " S_IFCHR|0666 " + std::to_string(d.major) + ":" +
                      std::to_string(d.minor));
        out.push_back("chmod " + p + " 0666");
        out.push_back("chown " + p + " 0:0");
    }
    for (const char* l :
         {"symlink rootfs:/dev/fd -> /proc/self/fd", "symlink rootfs:/dev/stdin -> /proc/self/fd/0",
          "symlink rootfs:/dev/stdout -> /proc/self/fd/1",
          "symlink rootfs:/dev/stderr -> /proc/self/fd/2", "symlink rootfs:/dev/ptmx -> pts/ptmx"})
        out.emplace_back(l);
    return out;
}

Calls concat(Calls a, const Calls& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

bool has(const Calls& calls, const std::string& c) {
    return std::find(calls.begin(), calls.end(), c) != calls.end();
}

const std::string kRo = "MS_RDONLY|MS_NOSUID|MS_NODEV|MS_NOEXEC";
const std::string kCgroupFlags = kRo + "|MS_RELATIME";

}  // namespace

TEST_CASE("rootfs executor: the default spec (caprun spec) on a cgroup v2 host") {
    RecordingRootfsKernel k;
    typicalImage(k);
    v2Host(k);
    RootfsPlan plan = planFor(defaultSpecJson(false));
    prepareRootfs(plan, k);
    switchRoot(plan, k);
    protectRootfs(plan, k);

    Calls mounts = {
        // The new mount namespace stops propagating back to the host, then the rootfs
        // becomes a mount of its own (pivot_root needs one).
        R"(mount("", "/", "", MS_REC|MS_SLAVE, ""))",
        R"(mount("/b/rootfs", "/b/rootfs", "", MS_BIND|MS_REC, ""))",
        R"(mount("proc", "rootfs:/proc", "proc", 0, ""))",
        // runc's rule: a tmpfs starts with the mode of the directory it covers (0755), a
        // mode= of the spec after it wins.
        R"(mount("tmpfs", "rootfs:/dev", "tmpfs", MS_NOSUID|MS_STRICTATIME, "mode=0755,mode=755,size=65536k"))",
        R"(mount("devpts", "rootfs:/dev/pts", "devpts", MS_NOSUID|MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5"))",
        R"(mount("shm", "rootfs:/dev/shm", "tmpfs", MS_NOSUID|MS_NODEV|MS_NOEXEC, "mode=1777,size=65536k"))",
        R"(mount("mqueue", "rootfs:/dev/mqueue", "mqueue", MS_NOSUID|MS_NODEV|MS_NOEXEC, ""))",
        R"(mount("sysfs", "rootfs:/sys", "sysfs", MS_RDONLY|MS_NOSUID|MS_NODEV|MS_NOEXEC, ""))",
        // A cgroup namespace of its own: a fresh cgroup2 mount shows the container's cgroup.
        R"(mount("cgroup2", "rootfs:/sys/fs/cgroup", "cgroup2", )" + kCgroupFlags + R"(, ""))",
    };
    Calls rootSwitch = {
        "fchdir(/b/rootfs)",
        R"(pivot_root(".", "."))",
        // The old root, stacked on ".", is detached without propagating the unmount.
        R"(mount("", ".", "", MS_REC|MS_SLAVE, ""))",
        R"(umount2(".", MNT_DETACH))",
        R"(chdir("/"))",
    };
    // Masked files get the /dev/null made above, by fd, checked once to be the null device.
    Calls protect = {
        R"(mount("tmpfs", "rootfs:/proc/acpi", "tmpfs", MS_RDONLY, ""))",
        R"(mount("rootfs:/dev/null", "rootfs:/proc/kcore", "", MS_BIND, ""))",
        R"(mount("rootfs:/dev/null", "rootfs:/proc/keys", "", MS_BIND, ""))",
        R"(mount("rootfs:/dev/null", "rootfs:/proc/timer_list", "", MS_BIND, ""))",
        R"(mount("rootfs:/dev/null", "rootfs:/proc/sched_debug", "", MS_BIND, ""))",
        R"(mount("tmpfs", "rootfs:/sys/firmware", "tmpfs", MS_RDONLY, ""))",
        R"(mount("tmpfs", "rootfs:/proc/scsi", "tmpfs", MS_RDONLY, ""))",
    };
    for (const char* p :
         {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}) {
        std::string r = std::string("rootfs:") + p;
        protect.push_back("mount(\"" + r + "\", \"" + r + "\", \"\", MS_BIND|MS_REC, \"\")");
        protect.push_back("mount(\"\", \"" + r + "\", \"\", MS_RDONLY|MS_REMOUNT|MS_BIND, \"\")");
    }
    protect.push_back(R"(mount("", "/", "", MS_RDONLY|MS_REMOUNT|MS_BIND, ""))");  // root.readonly

    CHECK(k.only(kChanges) ==
          concat(concat(concat(mounts, devicesAndLinks()), rootSwitch), protect));
    // Mount points the image lacks are made inside the rootfs (the tmpfs on /dev hid the rest).
    CHECK(has(k.calls, "resolve rootfs:/dev/pts mkdir"));
    CHECK(has(k.calls, "resolve rootfs:/dev/shm mkdir"));
    CHECK(has(k.calls, "resolve rootfs:/sys/fs/cgroup mkdir"));
    // Masked paths proc does not have are skipped, not created.
    CHECK(has(k.calls, "resolve rootfs:/proc/asound"));
    CHECK_FALSE(has(k.calls, "resolve rootfs:/proc/asound mkdir"));
}

TEST_CASE("rootfs executor: the default spec's cgroup mount on a cgroup v1 host") {
    RecordingRootfsKernel k;
    typicalImage(k);
    v1Host(k);
    prepareRootfs(planFor(defaultSpecJson(false)), k);
    Calls cgroup;
    for (const auto& c : k.only({"mount"}))
        if (c.find("/sys/fs/cgroup") != std::string::npos) cgroup.push_back(c);
    // A tmpfs holding one fresh mount per hierarchy (with its controllers as the data), made
    // read-only once they are in place.
    CHECK(
        cgroup ==
        Calls{
            R"(mount("tmpfs", "rootfs:/sys/fs/cgroup", "tmpfs", MS_NOSUID|MS_NODEV|MS_NOEXEC|MS_RELATIME, "mode=755"))",
            R"(mount("cgroup", "rootfs:/sys/fs/cgroup/cpu,cpuacct", "cgroup", )" + kCgroupFlags +
                R"(, "cpu,cpuacct"))",
            R"(mount("cgroup", "rootfs:/sys/fs/cgroup/memory", "cgroup", )" + kCgroupFlags +
                R"(, "memory"))",
            R"(mount("cgroup", "rootfs:/sys/fs/cgroup/systemd", "cgroup", )" + kCgroupFlags +
                R"(, "name=systemd"))",
            R"(mount("", "rootfs:/sys/fs/cgroup", "", MS_RDONLY|MS_NOSUID|MS_NODEV|MS_NOEXEC|MS_REMOUNT|MS_RELATIME, "mode=755"))",
        });
}

TEST_CASE("rootfs executor: a read-only bind mount, the same on a v1 and a v2 host") {
    const std::string json = withMounts(
        R"([{"destination": "/data", "type": "bind", "source": "/srv/data", "options": ["rbind", "ro"]},
            {"destination": "/etc/hosts", "type": "bind", "source": "hosts", "options": ["bind", "ro", "nosuid"]}])");
    for (bool v1 : {true, false}) {
        CAPTURE(v1);
        RecordingRootfsKernel k;
        v1 ? v1Host(k) : v2Host(k);
        k.hostFiles["/b/hosts"] = RecordingRootfsKernel::file();
        // The source of /data is on a nodev mount: a remount that dropped MS_NODEV would
        // be refused in a user namespace (the flag is locked) and would weaken it elsewhere.
        k.lockedFlags["/data"] = MS_NODEV;
        prepareRootfs(mountsOnly(planFor(json)), k);
        Calls calls = k.only({"mount", "open", "resolve", "fstat"});
        calls.erase(calls.begin(), calls.begin() + 3);  // propagation, rootfs bind, rootfs open
        CHECK(
            calls ==
            Calls{
                "open /srv/data",
                "fstat /srv/data",
                "resolve rootfs:/data mkdir",
                R"(mount("/srv/data", "rootfs:/data", "", MS_BIND|MS_REC, ""))",
                // Reopened: the remount must name the new bind mount, not what it covers.
                "resolve rootfs:/data",
                R"(mount("", "rootfs:/data", "", MS_RDONLY|MS_NODEV|MS_REMOUNT|MS_BIND, ""))",
                "open /b/hosts",
                "fstat /b/hosts",
                "resolve rootfs:/etc/hosts create-file",  // a file source needs a file
                R"(mount("/b/hosts", "rootfs:/etc/hosts", "", MS_BIND, ""))",
                "resolve rootfs:/etc/hosts",
                R"(mount("", "rootfs:/etc/hosts", "", MS_RDONLY|MS_NOSUID|MS_REMOUNT|MS_BIND, ""))",
            });
    }
}

TEST_CASE("rootfs executor: a read-only cgroup bind without a cgroup namespace, v1 and v2") {
    const std::string json = withMounts(
        R"([{"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["ro", "nosuid", "nodev", "noexec"]}])");
    SUBCASE("v2: the runtime's own cgroup bound, then made read-only") {
        RecordingRootfsKernel k;
        v2Host(k);
        prepareRootfs(mountsOnly(planFor(json, false, false)), k);
        Calls mounts = k.only({"mount"});
        mounts.erase(mounts.begin(), mounts.begin() + 2);
        CHECK(
            mounts ==
            Calls{
                R"(mount("/sys/fs/cgroup/user.slice/session-2.scope", "rootfs:/sys/fs/cgroup", "", MS_BIND|MS_REC, ""))",
                R"(mount("", "rootfs:/sys/fs/cgroup", "", )" + kRo + R"(|MS_REMOUNT|MS_BIND, ""))",
            });
    }
    SUBCASE("v1: each hierarchy's own cgroup bound read-only on a tmpfs") {
        RecordingRootfsKernel k;
        v1Host(k);
        prepareRootfs(mountsOnly(planFor(json, false, false)), k);
        Calls mounts = k.only({"mount"});
        mounts.erase(mounts.begin(), mounts.begin() + 2);
        Calls expected = {
            R"(mount("tmpfs", "rootfs:/sys/fs/cgroup", "tmpfs", MS_NOSUID|MS_NODEV|MS_NOEXEC, "mode=755"))"};
        for (const char* h : {"cpu,cpuacct", "memory", "systemd"}) {
            std::string src = std::string("/sys/fs/cgroup/") + h + "/box";
            std::string dst = std::string("rootfs:/sys/fs/cgroup/") + h;
            expected.push_back("mount(\"" + src + "\", \"" + dst +
                               "\", \"\", MS_BIND|MS_REC, \"\")");
            expected.push_back("mount(\"\", \"" + dst + "\", \"\", " + kRo +
                               "|MS_REMOUNT|MS_BIND, \"\")");
        }
        expected.push_back(R"(mount("", "rootfs:/sys/fs/cgroup", "", )" + kRo +
                           R"(|MS_REMOUNT, "mode=755"))");
        CHECK(mounts == expected);
    }
}

TEST_CASE("rootfs executor: masked and read-only paths") {
    const std::string json = R"({"ociVersion": "1.0.2", "root": {"path": "rootfs"},
        "linux": {"maskedPaths": ["/proc/kcore", "/proc/acpi", "/proc/missing"],
                  "readonlyPaths": ["/proc/sys", "/proc/absent"]}})";
    RecordingRootfsKernel k;
    using K = RecordingRootfsKernel;
    k.files = {{"/", K::dir()},
               {"/proc", K::dir()},
               {"/proc/kcore", K::file(0400)},
               {"/proc/acpi", K::dir()},
               {"/proc/sys", K::dir()},
               {"/dev", K::dir()},
               {"/dev/null", S_IFCHR | 0666}};
    k.deviceNumbers["/dev/null"] = makedev(1, 3);
    // proc's own mount is nosuid,nodev,noexec: the read-only remount of /proc/sys keeps them.
    k.lockedFlags["/proc/sys"] = MS_NOSUID | MS_NODEV | MS_NOEXEC;
    protectRootfs(planFor(json), k);
    CHECK(k.only(kChanges) ==
          Calls{
              R"(mount("rootfs:/dev/null", "rootfs:/proc/kcore", "", MS_BIND, ""))",
              R"(mount("tmpfs", "rootfs:/proc/acpi", "tmpfs", MS_RDONLY, ""))",
              R"(mount("rootfs:/proc/sys", "rootfs:/proc/sys", "", MS_BIND|MS_REC, ""))",
              R"(mount("", "rootfs:/proc/sys", "", )" + kRo + R"(|MS_REMOUNT|MS_BIND, ""))",
          });
    // Missing paths are neither masked nor created.
    CHECK(k.files.count("/proc/missing") == 0);
    CHECK(k.files.count("/proc/absent") == 0);
}

TEST_CASE("rootfs executor: a failing mount names the mount, its JSON path and the errno") {
    RecordingRootfsKernel k;
    typicalImage(k);
    v2Host(k);
    k.failOn(R"(mount("mqueue")", EACCES);
    CHECK_THROWS_WITH(prepareRootfs(planFor(defaultSpecJson(false)), k),
                      "mounting mqueue on /dev/mqueue (mounts[4]): Permission denied");
    // Nothing after the failed mount was attempted.
    CHECK(k.calls.back().rfind(R"(mount("mqueue")", 0) == 0);
}

TEST_CASE("rootfs executor: sysfs refused in a user namespace becomes a read-only bind of /sys") {
    RecordingRootfsKernel k;
    typicalImage(k);
    k.failOn(R"(mount("sysfs")", EPERM);
    const std::string json = withMounts(
        R"([{"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev"]}])");
    prepareRootfs(mountsOnly(planFor(json, true, false)), k);
    Calls mounts = k.only({"mount"});
    mounts.erase(mounts.begin(), mounts.begin() + 2);
    CHECK(mounts ==
          Calls{
              R"(mount("sysfs", "rootfs:/sys", "sysfs", MS_NOSUID|MS_NODEV|MS_NOEXEC, ""))",
              R"(mount("/sys", "rootfs:/sys", "", MS_BIND|MS_REC, ""))",
              R"(mount("", "rootfs:/sys", "", )" + kRo + R"(|MS_REMOUNT|MS_BIND, ""))",
          });
}

TEST_CASE("rootfs executor: in a user namespace devices are the host's nodes bound nosuid,noexec") {
    RecordingRootfsKernel k;
    typicalImage(k);
    RootfsPlan plan = planFor(withMounts("[]"), true, false);
    plan.devices.resize(1);  // /dev/null
    plan.devSymlinks.clear();
    prepareRootfs(plan, k);
    // mknod is not even tried (it is refused there); an empty file is the bind target.
    CHECK(k.only(kChanges) ==
          Calls{
              R"(mount("", "/", "", MS_REC|MS_SLAVE, ""))",
              R"(mount("/b/rootfs", "/b/rootfs", "", MS_BIND|MS_REC, ""))",
              "unlink rootfs:/dev/null",
              R"(mount("/dev/null", "rootfs:/dev/null", "", MS_BIND, ""))",
              // nosuid,noexec on the host's node, as crun does.
              R"(mount("", "rootfs:/dev/null", "", MS_NOSUID|MS_NOEXEC|MS_REMOUNT|MS_BIND, ""))",
          });
    CHECK(has(k.calls, "openat rootfs:/dev/null O_CREAT"));
}

TEST_CASE("rootfs executor: the root switch without pivot_root") {
    RootfsPlan plan = planFor(withMounts("[]"));
    SUBCASE("--no-pivot moves the rootfs onto / and chroots") {
        plan.noPivot = true;
        RecordingRootfsKernel k;
        switchRoot(plan, k);
        CHECK(k.only(kChanges) == Calls{"fchdir(/b/rootfs)", R"(mount(".", "/", "", MS_MOVE, ""))",
                                        R"(chroot("."))", R"(chdir("/"))"});
    }
    SUBCASE("pivot_root refused (EINVAL) on an initramfs root falls back to the move") {
        RecordingRootfsKernel k;
        k.ramfsRoot = true;
        k.failOn("pivot_root", EINVAL);
        switchRoot(plan, k);
        CHECK(k.only(kChanges) == Calls{"fchdir(/b/rootfs)", R"(pivot_root(".", "."))",
                                        R"(mount(".", "/", "", MS_MOVE, ""))", R"(chroot("."))",
                                        R"(chdir("/"))"});
    }
    SUBCASE("pivot_root refused elsewhere is an error naming the rootfs") {
        RecordingRootfsKernel k;
        k.failOn("pivot_root", EINVAL);
        CHECK_THROWS_WITH(switchRoot(plan, k), "pivot_root to /b/rootfs: Invalid argument");
    }
}

// The init mounts while the runtime places its cgroup; the barrier is where it waits for
// that: before a cgroup mount (it shows the process's cgroup), else before the device nodes
// (mknod is checked against the devices cgroup), and only once.
TEST_CASE("rootfs executor: the cgroup barrier comes before the cgroup mount, once") {
    RecordingRootfsKernel k;
    typicalImage(k);
    v2Host(k);
    int passed = 0;
    prepareRootfs(planFor(defaultSpecJson(false)), k, {}, [&] {
        ++passed;
        k.calls.push_back("barrier");
    });
    CHECK(passed == 1);
    Calls seen = k.only({"mount", "mknod", "barrier"});
    auto at = [&](const std::string& prefix) {
        return std::find_if(seen.begin(), seen.end(),
                            [&](const std::string& c) { return c.rfind(prefix, 0) == 0; }) -
               seen.begin();
    };
    // proc, /dev, sysfs ... are mounted before it; the cgroup2 mount and devices after.
    CHECK(at(R"(mount("sysfs")") < at("barrier"));
    CHECK(at("barrier") + 1 == at(R"(mount("cgroup2")"));
    CHECK(at("barrier") < at("mknod"));
}

TEST_CASE("rootfs executor: without a cgroup mount the barrier comes before the devices") {
    RecordingRootfsKernel k;
    typicalImage(k);
    v2Host(k);
    int passed = 0;
    RootfsPlan plan =
        planFor(withMounts(R"([{"destination": "/proc", "type": "proc", "source": "proc"}])"));
    REQUIRE_FALSE(plan.devices.empty());
    prepareRootfs(plan, k, {}, [&] {
        ++passed;
        k.calls.push_back("barrier");
    });
    CHECK(passed == 1);
    Calls seen = k.only({"mount", "mknod", "barrier", "symlink"});
    REQUIRE(seen.size() > 3);
    CHECK(seen[2] == R"(mount("proc", "rootfs:/proc", "proc", 0, ""))");
    CHECK(seen[3] == "barrier");
    CHECK(seen[4].rfind("mknod rootfs:/dev/null", 0) == 0);

    // A failing mount before the barrier: the barrier is not passed (the init reports the
    // mount's failure instead of waiting for a cgroup).
    RecordingRootfsKernel failing;
    typicalImage(failing);
    v2Host(failing);
    failing.failOn(R"(mount("proc")", EACCES);
    passed = 0;
    CHECK_THROWS_AS(prepareRootfs(plan, failing, {}, [&] { ++passed; }), Error);
    CHECK(passed == 0);
}

TEST_CASE("rootfs executor: a file is masked only with the null device, never through a link") {
    // The rootfs owns /dev when the spec mounts no tmpfs there, and a createContainer hook
    // or a racer can replace the node after the devices were made (CVE-2025-31133).
    const std::string json = R"({"ociVersion": "1.0.2", "root": {"path": "rootfs"},
        "linux": {"maskedPaths": ["/proc/kcore"]}})";
    using K = RecordingRootfsKernel;
    struct Case {
        const char* name;
        mode_t mode;
        dev_t dev;
        const char* said;
    };
    for (const Case& c :
         {Case{"a symlink", S_IFLNK | 0777, 0, "is a symlink"},
          Case{"a regular file", K::file(), 0, "is a regular file"},
          Case{"another device", S_IFCHR | 0666, makedev(1, 5), "is the character device 1:5"}}) {
        CAPTURE(c.name);
        RecordingRootfsKernel k;
        k.files = {{"/", K::dir()},
                   {"/proc", K::dir()},
                   {"/proc/kcore", K::file(0400)},
                   {"/dev", K::dir()},
                   {"/dev/null", c.mode}};
        k.deviceNumbers["/dev/null"] = c.dev;
        std::string said = std::string("masking /proc/kcore: the container's /dev/null ") + c.said;
        CHECK_THROWS_WITH_AS(protectRootfs(planFor(json), k), doctest::Contains(said.c_str()),
                             Error);
        CHECK(k.only({"mount"}).empty());
        CHECK(k.openFds() == 0);
    }
}

TEST_CASE("rootfs executor: the pty is bound onto /dev/console by fds, never through a link") {
    using K = RecordingRootfsKernel;
    const int pty = 7;  // the slave, opened outside the double
    const std::string json = R"({"ociVersion": "1.0.2", "root": {"path": "rootfs"},
        "process": {"terminal": true, "user": {"uid": 0, "gid": 0}, "args": ["sh"], "cwd": "/"}})";
    const RootfsPlan plan = planFor(json);
    REQUIRE(plan.consoleOnDev);
    const Calls bound = {"open_tree fd 7 OPEN_TREE_CLONE|AT_EMPTY_PATH",
                         "move_mount tree:fd 7 to rootfs:/dev/console"};
    auto kernelWith = [](std::map<std::string, mode_t> extra) {
        RecordingRootfsKernel k;
        k.files = {{"/", K::dir()}, {"/dev", K::dir()}};
        k.files.insert(extra.begin(), extra.end());
        return k;
    };
    SUBCASE("missing: created as an empty file, then the pty bound onto it") {
        RecordingRootfsKernel k = kernelWith({});
        bindConsole(plan, pty, k);
        CHECK(k.files.at("/dev/console") == K::file(0600));
        CHECK(k.only({"open_tree", "move_mount"}) == bound);
        CHECK(k.openFds() == 0);
    }
    SUBCASE("the image's own character device: bound over, not replaced") {
        RecordingRootfsKernel k = kernelWith({{"/dev/console", S_IFCHR | 0600}});
        bindConsole(plan, pty, k);
        CHECK(k.files.at("/dev/console") == (S_IFCHR | 0600));
        CHECK(k.only({"unlink", "mknod"}).empty());
        CHECK(k.only({"open_tree", "move_mount"}) == bound);
    }
    SUBCASE("a symlink or a directory: refused, nothing bound") {
        for (mode_t mode : {mode_t(S_IFLNK | 0777), K::dir()}) {
            RecordingRootfsKernel k = kernelWith({{"/dev/console", mode}});
            std::string said = std::string(
                                   "process.terminal: binding the pty onto /dev/console: "
                                   "/dev/console in the container is ") +
                               (S_ISLNK(mode) ? "a symlink" : "a directory");
            CHECK_THROWS_WITH_AS(bindConsole(plan, pty, k), doctest::Contains(said.c_str()), Error);
            CHECK(k.only({"open_tree", "move_mount", "mount"}).empty());
            CHECK(k.openFds() == 0);
        }
    }
    SUBCASE("a failing open_tree or move_mount names the step and closes every fd") {
        for (const char* step : {"open_tree", "move_mount"}) {
            RecordingRootfsKernel k = kernelWith({});
            k.failOn(step, EPERM);
            std::string said =
                std::string("process.terminal: binding the pty onto /dev/console") +
                (std::string(step) == "open_tree" ? ": cloning the pty (open_tree)" : "");
            CHECK_THROWS_WITH_AS(bindConsole(plan, pty, k), doctest::Contains(said.c_str()), Error);
            CHECK(k.openFds() == 0);
        }
    }
}

TEST_CASE(
    "rootfs plan: /dev/console is bound only for a terminal in a mount namespace of its own") {
    const std::string terminal = R"({"ociVersion": "1.0.2", "root": {"path": "rootfs"},
        "process": {"terminal": true, "user": {"uid": 0, "gid": 0}, "args": ["sh"], "cwd": "/"}})";
    const std::string noTerminal = R"({"ociVersion": "1.0.2", "root": {"path": "rootfs"},
        "process": {"terminal": false, "user": {"uid": 0, "gid": 0}, "args": ["sh"], "cwd": "/"}})";
    CHECK_FALSE(planFor(noTerminal).consoleOnDev);
    RootfsPlan shared = planRootfs(parseSpec(terminal), "/b", false, false, false, false);
    CHECK_FALSE(shared.consoleOnDev);
    REQUIRE(shared.notes.size() == 1);
    CHECK(shared.notes[0].find("/dev/console is not bound") != std::string::npos);
    // The executor then leaves /dev alone: a bind there would be a host mount.
    RecordingRootfsKernel k;
    bindConsole(shared, 7, k);
    CHECK(k.calls.empty());
}
