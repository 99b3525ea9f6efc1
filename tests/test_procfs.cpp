// The procfs writer's resolution rules, against the real /proc of the test process: only
// "self/" and "thread-self/" may be followed, never another link, never a magic link.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "caprun/error.hpp"
#include "caprun/sys/procfs.hpp"

using namespace caprun;

TEST_CASE("procfs writer: /proc is opened and checked, files below it on that mount only") {
    UniqueFd proc = sys::openContainerProcfs("test");
    REQUIRE(proc.fd >= 0);
    SUBCASE("this process's own directory through self/ and thread-self/") {
        for (const char* rel : {"self/status", "thread-self/status"}) {
            CAPTURE(rel);
            UniqueFd f(sys::openOnProcfs(proc.fd, rel, O_RDONLY));
            CHECK(f.fd >= 0);
        }
    }
    SUBCASE("any other symlink is refused") {
        // /proc/mounts is a symlink to self/mounts.
        errno = 0;
        CHECK(sys::openOnProcfs(proc.fd, "mounts", O_RDONLY) == -1);
        CHECK(errno == ELOOP);
    }
    SUBCASE("a magic link (fd, cwd, root, exe) is refused even below self/") {
        for (const char* rel : {"self/cwd/status", "self/root/proc/self/status", "self/exe"}) {
            CAPTURE(rel);
            errno = 0;
            CHECK(sys::openOnProcfs(proc.fd, rel, O_RDONLY) == -1);
            CHECK(errno == ELOOP);
        }
    }
    SUBCASE("nothing above /proc") {
        errno = 0;
        CHECK(sys::openOnProcfs(proc.fd, "../etc/passwd", O_RDONLY) == -1);
        CHECK(errno == EXDEV);
    }
    SUBCASE("a failing write names the file, the value and the errno") {
        CHECK_THROWS_WITH_AS(
            sys::writeOnProcfs(proc.fd, "self/no-such-file", "1", "setting x"),
            "setting x: opening /proc/self/no-such-file: No such file or directory", Error);
    }
}
