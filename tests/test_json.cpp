#include <doctest/doctest.h>

#include "caprun/error.hpp"
#include "caprun/json.hpp"

using caprun::json::Node;

TEST_CASE("json: malformed input reports line and column") {
    CHECK_THROWS_WITH(caprun::json::parse("{\n  \"a\": 1,\n  \"b\" 2\n}", "x.json"),
                      "x.json: invalid JSON at line 3, column 7: Missing a colon after a name of "
                      "object member.");
    CHECK_THROWS_WITH(caprun::json::parse("{} []", "x.json"),
                      "x.json: invalid JSON at line 1, column 4: The document root must not be "
                      "followed by other values.");
    CHECK_THROWS_WITH(caprun::json::parse("", "x.json"),
                      "x.json: invalid JSON at line 1, column 1: The document is empty.");
}

TEST_CASE("json: typed reads name the path and both types") {
    auto doc = caprun::json::parse(R"({"a":{"b":[1,"x",-3,1.5,true,4294967296]}})", "t");
    auto b = Node::root(doc).require("a").require("b").items();
    REQUIRE(b.size() == 6);
    CHECK(b[0].asUint32() == 1);
    CHECK_THROWS_WITH(b[1].asInt64(), "t: a.b[1]: expected an integer, got a string");
    CHECK_THROWS_WITH(b[0].asString(), "t: a.b[0]: expected a string, got a number");
    CHECK_THROWS_WITH(b[2].asUint64(),
                      "t: a.b[2]: expected an unsigned integer, got a negative number");
    CHECK_THROWS_WITH(b[3].asInt64(), "t: a.b[3]: expected an integer, got a fractional number");
    CHECK_THROWS_WITH(b[4].asUint32(), "t: a.b[4]: expected an unsigned integer, got a boolean");
    CHECK_THROWS_WITH(b[5].asUint32(),
                      "t: a.b[5]: expected a 32-bit unsigned integer, got 4294967296");
    CHECK(b[5].asUint64() == 4294967296ULL);
    CHECK_THROWS_WITH(Node::root(doc).require("a").require("c"), "t: a.c: required");
    CHECK_THROWS_WITH(b[0].get("x"), "t: a.b[0]: expected an object, got a number");
}

TEST_CASE("json: null counts as absent") {
    auto doc = caprun::json::parse(R"({"a":null})", "t");
    CHECK_FALSE(Node::root(doc).get("a").has_value());
    CHECK_THROWS_WITH(Node::root(doc).require("a"), "t: a: required");
}

TEST_CASE("json: quote escapes control characters and quotes") {
    CHECK(caprun::json::quote("a\"b\\c\n") == R"("a\"b\\c\n")");
}
