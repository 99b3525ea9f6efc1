// The LSM executor: which attr files get which value, and that the real writer goes only to
// procfs itself, never to a file mounted over the attr file (CVE-2019-16884) nor through a
// /proc that is not procfs.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "caprun/error.hpp"
#include "caprun/lsm.hpp"
#include "test_environment.hpp"

using namespace caprun;

namespace {

// Records each write; files in `missing` do not exist.
struct RecordingAttrs {
    std::vector<std::string> writes;
    std::vector<std::string> missing;
    LsmOps ops() {
        LsmOps o;
        o.writeAttr = [this](const std::string& rel, const std::string& v, const std::string&) {
            for (const auto& m : missing)
                if (m == rel) return false;
            writes.push_back(rel + " <- " + v);
            return true;
        };
        return o;
    }
};

}  // namespace

TEST_CASE("LSM executor: AppArmor's exec command and the SELinux label go to this thread's attr") {
    RecordingAttrs k;
    applyLsm(LsmPlan{"prof", "system_u:system_r:container_t:s0"}, k.ops());
    CHECK(k.writes ==
          std::vector<std::string>{"thread-self/attr/apparmor/exec <- exec prof",
                                   "thread-self/attr/exec <- system_u:system_r:container_t:s0"});
    k.writes.clear();
    applyLsm(LsmPlan{}, k.ops());
    CHECK(k.writes.empty());
}

TEST_CASE("LSM executor: AppArmor falls back to attr/exec on kernels before 5.8, else fails") {
    RecordingAttrs k;
    k.missing = {"thread-self/attr/apparmor/exec"};
    applyLsm(LsmPlan{"prof", ""}, k.ops());
    CHECK(k.writes == std::vector<std::string>{"thread-self/attr/exec <- exec prof"});
    k.missing.push_back("thread-self/attr/exec");
    try {
        applyLsm(LsmPlan{"prof", ""}, k.ops());
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(std::string(e.what()) ==
              "applying process.apparmorProfile \"prof\": this kernel has neither "
              "/proc/thread-self/attr/apparmor/exec nor /proc/thread-self/attr/exec");
        CHECK(e.errnoValue() == ENOENT);
    }
    CHECK_THROWS_WITH(applyLsm(LsmPlan{"", "lbl"}, k.ops()),
                      "applying process.selinuxLabel \"lbl\": this kernel has no "
                      "/proc/thread-self/attr/exec");
}

TEST_CASE("LSM executor: the kernel's refusal reaches the user with the profile and the file") {
    LsmOps o;
    o.writeAttr = [](const std::string& rel, const std::string& v,
                     const std::string& what) -> bool {
        throwSys(what + ": writing \"" + v + "\" to /proc/" + rel, ENOENT);
    };
    CHECK_THROWS_WITH(applyLsm(LsmPlan{"nope", ""}, o),
                      "applying process.apparmorProfile \"nope\": writing \"exec nope\" to "
                      "/proc/thread-self/attr/apparmor/exec: No such file or directory");
}

// Root only: in a child with its own mount namespace, a file is bind-mounted over this
// thread's attr/exec, as a hostile config's mount or a propagated shared mount would. A
// writer that opens /proc/thread-self/attr/exec by path (libselinux's setexeccon,
// libapparmor's aa_change_onexec) writes that file; caprun's refuses and leaves it empty.
// Chrooted into a directory whose /proc is no procfs, caprun's writer refuses too.
TEST_CASE("LSM writer: never into a file mounted over the attr file, never through a fake /proc" *
          doctest::skip(caprun_test::notRoot())) {
    char dir[] = "/tmp/caprun-lsm-XXXXXX";
    REQUIRE(::mkdtemp(dir) != nullptr);
    // Removed even when a REQUIRE below ends the test early.
    struct RemoveDir {
        const char* path;
        ~RemoveDir() { std::filesystem::remove_all(path); }
    } removeDir{dir};
    const std::string decoy = std::string(dir) + "/decoy";
    REQUIRE(::close(::open(decoy.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600)) == 0);
    REQUIRE(::mkdir((std::string(dir) + "/fake-root").c_str(), 0700) == 0);
    REQUIRE(::mkdir((std::string(dir) + "/fake-root/proc").c_str(), 0700) == 0);
    int out[2];
    REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        std::string report;
        auto say = [&](const std::string& s) { report += s + "\n"; };
        const std::string attr = "/proc/self/task/" + std::to_string(::gettid()) + "/attr/exec";
        if (::unshare(CLONE_NEWNS) != 0 ||
            ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
            ::mount(decoy.c_str(), attr.c_str(), nullptr, MS_BIND, nullptr) != 0) {
            say(std::string("setup failed: ") + errnoText(errno));
        } else {
            // The decoy is really what the path reaches: a path-based writer would write it.
            int byPath = ::open("/proc/thread-self/attr/exec", O_RDONLY | O_CLOEXEC);
            struct stat a {
            }, b{};
            say(std::string("by path: ") + (byPath >= 0 && ::fstat(byPath, &a) == 0 &&
                                                    ::stat(decoy.c_str(), &b) == 0 &&
                                                    a.st_ino == b.st_ino
                                                ? "the decoy"
                                                : "not the decoy"));
            try {
                systemLsmOps().writeAttr("thread-self/attr/exec", "lbl", "applying x");
                say("written");
            } catch (const Error& e) {
                say(e.what());
                say(e.errnoValue() == EXDEV ? "EXDEV" : "errno " + std::to_string(e.errnoValue()));
            }
            if (::chroot((std::string(dir) + "/fake-root").c_str()) == 0 && ::chdir("/") == 0) {
                try {
                    systemLsmOps().writeAttr("thread-self/attr/exec", "lbl", "applying x");
                    say("written");
                } catch (const Error& e) {
                    say(e.what());
                }
            }
        }
        (void)!::write(out[1], report.data(), report.size());
        ::_exit(0);
    }
    ::close(out[1]);
    std::string report;
    char buf[512];
    for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) > 0;) report.append(buf, n);
    ::close(out[0]);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    struct stat st {};
    REQUIRE(::stat(decoy.c_str(), &st) == 0);
    CHECK(st.st_size == 0);
    CHECK(report ==
          "by path: the decoy\n"
          "applying x: opening /proc/thread-self/attr/exec (a mount covers it; caprun writes "
          "only to procfs itself): Invalid cross-device link\n"
          "EXDEV\n"
          "applying x: the /proc of the current root is not procfs: mount proc on /proc\n");
}
