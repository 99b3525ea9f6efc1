// Replacing a file whole: the new content and mode, no temporary file left, clear errors.
#include <doctest/doctest.h>

#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "caprun/error.hpp"
#include "caprun/sys/atomic_write.hpp"

using namespace caprun;
namespace fs = std::filesystem;

TEST_CASE("writeFileAtomically replaces the file whole, with the mode asked, and cleans up") {
    char tmpl[] = "/tmp/caprun-atomic-XXXXXX";
    const std::string dir = ::mkdtemp(tmpl);
    const std::string path = dir + "/pid";
    sys::writeFileAtomically(path, "first", 0644, "writing the pid file");
    sys::writeFileAtomically(path, "12345", 0600, "writing the pid file");
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    CHECK(text.str() == "12345");
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0600);
    CHECK(std::distance(fs::directory_iterator(dir), fs::directory_iterator{}) == 1);

    CHECK_THROWS_WITH_AS(sys::writeFileAtomically(dir + "/missing/pid", "1", 0644, "writing x"),
                         ("writing x: creating a temporary file for " + dir +
                          "/missing/pid: No such file or directory")
                             .c_str(),
                         Error);
    fs::remove_all(dir);
}
