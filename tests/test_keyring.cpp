#include <doctest/doctest.h>

#include "caprun/error.hpp"
#include "caprun/keyring.hpp"

using namespace caprun;

TEST_CASE("keyring: each container's session keyring is named after it") {
    CHECK(sessionKeyringName("web-1") == "_ses.web-1");
}

TEST_CASE("keyring: the permission adds search for the owner, or for others in a user namespace") {
    // 0x3f010000: possessor all + user view (what the kernel gives a new keyring).
    CHECK(sessionKeyringPermission(0x3f010000, false) == 0x3f090000);
    CHECK(sessionKeyringPermission(0x3f010000, true) == 0x3f010008);
    CHECK(sessionKeyringPermission(0x3f090000, false) == 0x3f090000);  // already there
}

TEST_CASE("keyring: the permission is read from KEYCTL_DESCRIBE's text") {
    CHECK(describedKeyPermission("keyring;0;0;3f030000;_ses.x") == 0x3f030000);
    CHECK(describedKeyPermission("keyring;1000;1000;3f010000;a;b;c") == 0x3f010000);
    CHECK_THROWS_WITH_AS(describedKeyPermission("keyring;0;0"),
                         "unexpected key description \"keyring;0;0\"", Error);
    CHECK_THROWS_WITH_AS(describedKeyPermission("keyring;0;0;zz;x"),
                         "unexpected key permission \"zz\" in \"keyring;0;0;zz;x\"", Error);
}
