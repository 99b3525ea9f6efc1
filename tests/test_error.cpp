// Errors carry their context and, from a failed system call, the errno.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "caprun/error.hpp"

using namespace caprun;

TEST_CASE("an Error from a failed system call keeps the errno and says it in words") {
    errno = 0;
    int fd = ::open("/nonexistent-caprun-dir/x", O_RDONLY | O_CLOEXEC);
    REQUIRE(fd < 0);
    try {
        throwErrno("opening /nonexistent-caprun-dir/x");
        FAIL("throwErrno returned");
    } catch (const Error& e) {
        CHECK(e.errnoValue() == ENOENT);
        CHECK(std::string(e.what()) ==
              "opening /nonexistent-caprun-dir/x: No such file or directory");
    }
    try {
        throwSys("dropping CAP_SYS_ADMIN (PR_CAPBSET_DROP)", EPERM);
    } catch (const Error& e) {
        CHECK(e.errnoValue() == EPERM);
        CHECK(std::string(e.what()).find(": Operation not permitted") != std::string::npos);
    }
    CHECK(Error("config.json: process: required").errnoValue() == 0);
}
