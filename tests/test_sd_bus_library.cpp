// The systemd driver's loader of libsystemd: what a host without it, or with one too old,
// is told. Real dlopen of names that are not libsystemd.
#ifdef CAPRUN_HAVE_LIBSYSTEMD
#include <doctest/doctest.h>

#include "caprun/error.hpp"
#include "caprun/sd_bus_library.hpp"

using namespace caprun;

TEST_CASE("libsystemd missing: the error says what was being done and what to install") {
    CHECK_THROWS_WITH_AS(
        loadSdBusLibrary("libcaprun-no-such-library.so.0", "starting unit caprun-t1.scope"),
        doctest::Contains("starting unit caprun-t1.scope: the systemd cgroup driver needs "
                          "libcaprun-no-such-library.so.0 (Debian: apt-get install libsystemd0): "
                          "libcaprun-no-such-library.so.0: cannot open shared object file"),
        Error);
}

TEST_CASE("a library without sd-bus: every missing function is named") {
    try {
        loadSdBusLibrary("libc.so.6", "stopping unit caprun-t1.scope");
        FAIL("libc.so.6 loaded as libsystemd");
    } catch (const Error& e) {
        std::string m = e.what();
        CHECK(m.find("stopping unit caprun-t1.scope: libc.so.6 lacks sd_bus_open_user, "
                     "sd_bus_open_system,") == 0);
        CHECK(m.find("sd_bus_match_signal (caprun needs libsystemd 237 or later)") !=
              std::string::npos);
    }
}

TEST_CASE("the real libsystemd.so.0 has every function the driver uses") {
    const SdBusLibrary lib = loadSdBusLibrary("libsystemd.so.0", "loading");
    CHECK(bool(lib.open_system));
    CHECK(bool(lib.match_signal));
    CHECK(&sdBusLibrary("loading") == &sdBusLibrary("again"));  // loaded once
}
#endif
