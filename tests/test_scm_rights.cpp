// Passing fds over a socketpair: the fd arrives (close-on-exec) with the bytes.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "caprun/sys/scm_rights.hpp"
#include "caprun/sys/unique_fd.hpp"

using namespace caprun;

TEST_CASE("sendWithFd / receiveWithFds: bytes and one close-on-exec fd of the same file") {
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
    UniqueFd a(sv[0]), b(sv[1]);
    UniqueFd file(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
    REQUIRE(file.fd >= 0);
    CHECK(sys::sendWithFd(a.fd, "hi", 2, file.fd) == 2);
    char buf[8] = {};
    std::vector<int> fds;
    CHECK(sys::receiveWithFds(b.fd, buf, sizeof buf, fds) == 2);
    CHECK(std::string(buf, 2) == "hi");
    REQUIRE(fds.size() == 1);
    UniqueFd got(fds[0]);
    CHECK(got.fd != file.fd);
    CHECK((::fcntl(got.fd, F_GETFD) & FD_CLOEXEC) != 0);
    struct stat s1 {
    }, s2{};
    REQUIRE(::fstat(file.fd, &s1) == 0);
    REQUIRE(::fstat(got.fd, &s2) == 0);
    CHECK(s1.st_ino == s2.st_ino);
    CHECK(s1.st_dev == s2.st_dev);

    // The peer gone: 0 bytes, no fd.
    a.reset();
    fds.clear();
    CHECK(sys::receiveWithFds(b.fd, buf, sizeof buf, fds) == 0);
    CHECK(fds.empty());
}
