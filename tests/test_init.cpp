// The process kernel's helpers: the HOME default from the container's /etc/passwd and
// the executable lookup.
#include <doctest/doctest.h>

#include <linux/capability.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "caprun/cap_plan.hpp"
#include "caprun/process_kernel.hpp"

using namespace caprun;
namespace fs = std::filesystem;

namespace {

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/caprun-init-test-XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() { fs::remove_all(path); }
};

}  // namespace

TEST_CASE("HOME: the uid's home in passwd, / when there is no entry") {
    const std::string passwd =
        "root:x:0:0:root:/root:/bin/sh\n"
        "# a comment line\n"
        "\n"
        "broken line without fields\n"
        "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
        "nohome:x:7:7:gecos::/bin/sh\n"
        "twice:x:1000:1000::/home/first:/bin/sh\n"
        "twice2:x:1000:1000::/home/second:/bin/sh\n"
        "big:x:4294967295:1::/home/big:/bin/sh\n"
        "notnum:x:12a:1::/home/notnum:/bin/sh\n"
        "short:x:42:42:/home/short\n"
        "last:x:65534:65534:nobody:/nonexistent";  // no final newline
    CHECK(homeFromPasswd(passwd, 0) == "/root");
    CHECK(homeFromPasswd(passwd, 1) == "/usr/sbin");
    CHECK(homeFromPasswd(passwd, 1000) == "/home/first");  // the first entry wins
    CHECK(homeFromPasswd(passwd, 4294967295U) == "/home/big");
    CHECK(homeFromPasswd(passwd, 65534) == "/nonexistent");
    CHECK(homeFromPasswd(passwd, 7) == "/");   // empty home field
    CHECK(homeFromPasswd(passwd, 12) == "/");  // "12a" is not uid 12
    CHECK(homeFromPasswd(passwd, 42) == "/");  // too few fields
    CHECK(homeFromPasswd(passwd, 5) == "/");   // no entry
    CHECK(homeFromPasswd("", 0) == "/");
}
