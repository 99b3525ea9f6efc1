#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "caprun/error.hpp"
#include "caprun/rootfs.hpp"
#include "caprun/spec.hpp"

namespace fs = std::filesystem;
using namespace caprun;

namespace {

std::string realPathOfFd(int fd) {
    char buf[PATH_MAX];
    ssize_t n = ::readlink(("/proc/self/fd/" + std::to_string(fd)).c_str(), buf, sizeof buf - 1);
    REQUIRE(n > 0);
    return std::string(buf, static_cast<size_t>(n));
}

struct TempRoot {
    fs::path base;
    fs::path root;
    int rootFd = -1;
    TempRoot() {
        char tmpl[] = "/tmp/caprun-rootfs-test-XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        base = tmpl;
        root = base / "rootfs";
        fs::create_directories(root / "etc");
        fs::create_directories(base / "outside");
        rootFd = ::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
        REQUIRE(rootFd >= 0);
    }
    ~TempRoot() {
        ::close(rootFd);
        fs::remove_all(base);
    }
};

}  // namespace

TEST_CASE("mount options become flags, propagation and data") {
    auto o = parseMountOptions({"nosuid", "noexec", "nodev", "mode=755", "size=65536k", "ro"});
    CHECK(o.flags == (MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY));
    CHECK(o.data == "mode=755,size=65536k");
    CHECK_FALSE(o.bind);

    auto b = parseMountOptions({"rbind", "rprivate", "ro", "rw"});
    CHECK(b.bind);
    CHECK(b.recursive);
    CHECK(b.flags == 0);  // rw after ro clears it
    CHECK(b.propagation == (MS_PRIVATE | MS_REC));

    auto s = parseMountOptions({"bind", "shared", "relatime", "strictatime"});
    CHECK(s.bind);
    CHECK_FALSE(s.recursive);
    CHECK(s.propagation == MS_SHARED);
    CHECK(s.flags == (MS_RELATIME | MS_STRICTATIME));

    CHECK(parseMountOptions({"newinstance", "ptmxmode=0666", "gid=5"}).data ==
          "newinstance,ptmxmode=0666,gid=5");
    CHECK(parseMountOptions({"idmap"}).idmap);
}

TEST_CASE("propagation names") {
    CHECK(propagationFlags("rslave", "x") == (MS_SLAVE | MS_REC));
    CHECK(propagationFlags("unbindable", "x") == MS_UNBINDABLE);
    CHECK_THROWS_WITH(
        propagationFlags("sideways", "config.json: linux.rootfsPropagation"),
        doctest::Contains("linux.rootfsPropagation: unknown propagation \"sideways\""));
}

TEST_CASE("rootfs plan: paths, mount kinds, devices, propagation") {
    auto spec = parseSpec(R"({"ociVersion":"1.0.2","root":{"path":"rootfs","readonly":true},
      "mounts":[{"destination":"/proc","type":"proc","source":"proc"},
                {"destination":"/data","source":"data","options":["rbind","ro"]},
                {"destination":"/sys/fs/cgroup","type":"cgroup","source":"cgroup"},
                {"destination":"/etc/hosts","type":"bind","source":"/etc/hosts"}],
      "linux":{"rootfsPropagation":"rshared",
               "devices":[{"path":"/dev/null","type":"c","major":1,"minor":3,"fileMode":384},
                          {"path":"/dev/fuse","type":"c","major":10,"minor":229}],
               "maskedPaths":["/proc/kcore"],"readonlyPaths":["/proc/sys"]}})");
    auto plan = planRootfs(spec, "/b", false, false, true);
    CHECK(plan.rootfs == "/b/rootfs");
    CHECK(plan.readonly);
    // shared cannot be set before pivot_root: start rslave, share afterwards.
    CHECK(plan.rootPropagation == (MS_SLAVE | MS_REC));
    REQUIRE(plan.finalPropagation.has_value());
    CHECK(*plan.finalPropagation == (MS_SHARED | MS_REC));
    REQUIRE(plan.mounts.size() == 4);
    CHECK(plan.mounts[0].kind == MountKind::Proc);
    CHECK(plan.mounts[1].kind == MountKind::Bind);
    CHECK(plan.mounts[1].source == "/b/data");
    CHECK(plan.mounts[1].options.recursive);
    CHECK(plan.mounts[2].kind == MountKind::Cgroup);
    CHECK(plan.mounts[3].kind == MountKind::Bind);
    CHECK(plan.mounts[3].source == "/etc/hosts");
    // six defaults; /dev/null replaced by the spec's, /dev/fuse appended
    REQUIRE(plan.devices.size() == 7);
    CHECK(plan.devices[0].path == "/dev/null");
    CHECK(plan.devices[0].fileMode == 0600);
    CHECK(plan.devices[6].path == "/dev/fuse");
    CHECK(plan.devices[6].fileMode == 0666);
    CHECK(plan.maskedPaths == std::vector<std::string>{"/proc/kcore"});
    CHECK(plan.devSymlinks.size() == 5);

    auto abs = parseSpec(R"({"ociVersion":"1.0.2","root":{"path":"/srv/root"},
      "mounts":[{"destination":"relative","type":"tmpfs","source":"tmpfs"}]})");
    CHECK_THROWS_WITH(
        planRootfs(abs, "/b", false, false, false),
        doctest::Contains("mounts[0].destination: \"relative\" is not an absolute path"));
}

TEST_CASE("openInRoot keeps symlinks inside the rootfs and refuses escapes") {
    TempRoot t;
    // An absolute symlink means the container's /: resolves below the rootfs.
    fs::create_symlink("/etc", t.root / "abs");
    int fd = openInRoot(t.rootFd, "/abs/newdir", CreateMissing::Directory);
    CHECK(realPathOfFd(fd) == (t.root / "etc" / "newdir").string());
    ::close(fd);
    CHECK_FALSE(fs::exists("/etc/newdir"));

    // A relative symlink that climbs above the rootfs is refused, nothing is created outside.
    fs::create_symlink("../outside", t.root / "escape");
    CHECK_THROWS_WITH(openInRoot(t.rootFd, "/escape/x", CreateMissing::Directory),
                      doctest::Contains("escapes the rootfs"));
    CHECK_FALSE(fs::exists(t.base / "outside" / "x"));
    fs::create_symlink("../../../../../../../../tmp", t.root / "deep");
    CHECK_THROWS_WITH(openInRoot(t.rootFd, "/deep", CreateMissing::No),
                      doctest::Contains("escapes the rootfs"));

    // Missing components are created; the last one as a file when asked.
    fd = openInRoot(t.rootFd, "/a/b/file", CreateMissing::File);
    struct stat st {};
    REQUIRE(::fstat(fd, &st) == 0);
    CHECK(S_ISREG(st.st_mode));
    ::close(fd);
    CHECK(fs::is_directory(t.root / "a" / "b"));

    // Not created when not asked, with the path in the message.
    CHECK_THROWS_WITH(openInRoot(t.rootFd, "/missing/thing", CreateMissing::No),
                      doctest::Contains("\"/missing/thing\""));

    // A symlink loop is an error, not a hang.
    fs::create_symlink("loop", t.root / "loop");
    CHECK_THROWS_WITH(openInRoot(t.rootFd, "/loop", CreateMissing::No),
                      doctest::Contains("too many symlinks"));
}

TEST_CASE("openInRoot refuses procfs magic links and follows procfs's plain symlinks") {
    // The host's / and /proc stand in for a container's root after pivot_root.
    int root = ::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    REQUIRE(root >= 0);
    // A directory fd of this process: /proc/self/fd/N reads as a host path.
    TempRoot t;
    int dirFd = ::open(t.base.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    REQUIRE(dirFd >= 0);
    for (const std::string& magic :
         std::vector<std::string>{"/proc/self/fd/" + std::to_string(dirFd), "/proc/self/cwd",
                                  "/proc/self/root/tmp", "/proc/thread-self/fd/0"}) {
        CAPTURE(magic);
        try {
            ::close(openInRoot(root, magic, CreateMissing::No));
            FAIL("a magic link was followed");
        } catch (const Error& e) {
            std::string msg = e.what();
            CHECK(msg.find("procfs magic link") != std::string::npos);
            // Neither the fd's host path nor anything created from its readlink text.
            CHECK(msg.find(t.base.filename().string()) == std::string::npos);
        }
    }
    ::close(dirFd);
    // self, thread-self and mounts -> self/mounts are plain symlinks.
    for (const char* plain : {"/proc/self/status", "/proc/thread-self/status", "/proc/mounts"}) {
        CAPTURE(plain);
        int fd = openInRoot(root, plain, CreateMissing::No);
        CHECK(fd >= 0);
        ::close(fd);
    }
    ::close(root);
}

TEST_CASE("device paths are cleaned in planning; a path naming no file is an error") {
    CHECK(cleanAbsolutePath("/dev/mnt/", "p") == "/dev/mnt");
    CHECK(cleanAbsolutePath("//dev///fuse//", "p") == "/dev/fuse");
    CHECK(cleanAbsolutePath("/dev/./x/../y", "p") == "/dev/y");
    CHECK(cleanAbsolutePath("/../../dev/z", "p") == "/dev/z");
    auto spec = parseSpec(R"({"ociVersion":"1.0.2","root":{"path":"rootfs"},
      "linux":{"devices":[{"path":"/dev/mnt/","type":"c","major":1,"minor":3},
                          {"path":"/dev//null","type":"c","major":1,"minor":3,"fileMode":384}]}})");
    auto plan = planRootfs(spec, "/b", false, false, false);
    // /dev//null replaced the default /dev/null; /dev/mnt/ became /dev/mnt.
    REQUIRE(plan.devices.size() == 7);
    CHECK(plan.devices[0].path == "/dev/null");
    CHECK(plan.devices[0].fileMode == 0600);
    CHECK(plan.devices[6].path == "/dev/mnt");
    auto bad = [](const std::string& path) {
        return parseSpec(R"({"ociVersion":"1.0.2","root":{"path":"rootfs"},
          "linux":{"devices":[{"path":")" +
                         path + R"(","type":"c","major":1,"minor":3}]}})");
    };
    CHECK_THROWS_WITH(planRootfs(bad(""), "/b", false, false, false),
                      doctest::Contains("linux.devices[0].path: must be an absolute path"));
    CHECK_THROWS_WITH(planRootfs(bad("dev/x"), "/b", false, false, false),
                      doctest::Contains("linux.devices[0].path: must be an absolute path"));
    CHECK_THROWS_WITH(planRootfs(bad("//"), "/b", false, false, false),
                      doctest::Contains("linux.devices[0].path: \"//\" names no file"));
}

TEST_CASE("rootfs plan without a mount namespace of its own") {
    auto spec = parseSpec(R"({"ociVersion":"1.0.2","root":{"path":"rootfs"},
      "process":{"args":["/bin/true"],"cwd":"/work","user":{"uid":0,"gid":0}},
      "mounts":[{"destination":"/proc","type":"proc","source":"proc"}]})");
    auto own = planRootfs(spec, "/b", false, false, false);
    CHECK(own.ownMountNamespace);
    CHECK(own.cwd == "/work");
    auto shared = planRootfs(spec, "/b", false, false, false, false);
    CHECK_FALSE(shared.ownMountNamespace);
    CHECK(shared.mounts.size() == 1);  // mounted in the runtime's namespace, as runc does
    auto with = [](const std::string& extra) {
        return parseSpec(R"({"ociVersion":"1.0.2","root":{"path":"rootfs")" + extra + "}");
    };
    CHECK_THROWS_WITH(
        planRootfs(with(R"(,"readonly":true})"), "/b", false, false, false, false),
        doctest::Contains("root.readonly needs a mount namespace of the container's own"));
    CHECK_THROWS_WITH(planRootfs(with(R"(},"linux":{"maskedPaths":["/proc/kcore"]})"), "/b", false,
                                 false, false, false),
                      doctest::Contains("linux.maskedPaths needs a mount namespace"));
    CHECK_THROWS_WITH(planRootfs(with(R"(},"linux":{"readonlyPaths":["/proc/sys"]})"), "/b", false,
                                 false, false, false),
                      doctest::Contains("linux.readonlyPaths needs a mount namespace"));
    CHECK_THROWS_WITH(planRootfs(with(R"(},"linux":{"rootfsPropagation":"private"})"), "/b", false,
                                 false, false, false),
                      doctest::Contains("linux.rootfsPropagation needs a mount namespace"));
}

TEST_CASE("bind sources come from the runtime only in a new user namespace") {
    auto spec = parseSpec(R"({"ociVersion":"1.0.2","root":{"path":"rootfs"}})");
    CHECK(planRootfs(spec, "/b", false, true, false).sourcesFromRuntime);
    CHECK_FALSE(planRootfs(spec, "/b", false, false, false).sourcesFromRuntime);
}

TEST_CASE("a new user namespace: devpts without an unmapped gid=, sysfs bound without a netns") {
    auto specWith = [](const std::string& namespaces, const std::string& gidMappings) {
        return parseSpec(R"({"ociVersion":"1.0.2","root":{"path":"rootfs"},"mounts":[
            {"destination":"/dev/pts","type":"devpts","source":"devpts",
             "options":["nosuid","newinstance","ptmxmode=0666","mode=0620","gid=5"]},
            {"destination":"/sys","type":"sysfs","source":"sysfs",
             "options":["nosuid","noexec","nodev","ro"]}],
            "linux":{"namespaces":[)" +
                         namespaces + R"(],"gidMappings":[)" + gidMappings + "]}}");
    };
    const std::string one = R"({"containerID":0,"hostID":1000,"size":1})";
    const std::string range = R"({"containerID":0,"hostID":100000,"size":65536})";

    SUBCASE("only the caller's gid mapped, no network namespace") {
        auto plan = planRootfs(specWith(R"({"type":"user"},{"type":"mount"})", one), "/b", false,
                               true, false);
        CHECK(plan.mounts[0].options.data == "newinstance,ptmxmode=0666,mode=0620");
        CHECK(plan.mounts[1].kind == MountKind::Bind);
        CHECK(plan.mounts[1].source == "/sys");
        CHECK(plan.mounts[1].options.recursive);
        CHECK((plan.mounts[1].options.flags & MS_RDONLY) != 0);
        CHECK((plan.mounts[1].options.flags & MS_NOSUID) != 0);
        REQUIRE(plan.notes.size() == 2);
        CHECK(plan.notes[0].find("mounts[0]: gid=5 left out") == 0);
        CHECK(plan.notes[1].find("mounts[1]: sysfs needs a network namespace") == 0);
    }
    SUBCASE("gid 5 mapped and a network namespace of its own: nothing changes") {
        auto plan =
            planRootfs(specWith(R"({"type":"user"},{"type":"mount"},{"type":"network"})", range),
                       "/b", false, true, false);
        CHECK(plan.mounts[0].options.data == "newinstance,ptmxmode=0666,mode=0620,gid=5");
        CHECK(plan.mounts[1].kind == MountKind::Sysfs);
        CHECK(plan.notes.empty());
    }
    SUBCASE("a joined network namespace is not the user namespace's own") {
        auto plan = planRootfs(
            specWith(R"({"type":"user"},{"type":"network","path":"/run/netns/x"})", range), "/b",
            false, true, false);
        CHECK(plan.mounts[1].kind == MountKind::Bind);
    }
    SUBCASE("no new user namespace: the mounts are as written") {
        auto plan = planRootfs(specWith(R"({"type":"mount"})", ""), "/b", false, false, false);
        CHECK(plan.mounts[0].options.data == "newinstance,ptmxmode=0666,mode=0620,gid=5");
        CHECK(plan.mounts[1].kind == MountKind::Sysfs);
        CHECK(plan.notes.empty());
    }
}
