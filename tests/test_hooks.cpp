#include <doctest/doctest.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "caprun/error.hpp"
#include "caprun/hooks.hpp"

namespace fs = std::filesystem;
using namespace caprun;

namespace {

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/caprun-hooks-test-XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() { fs::remove_all(path); }
};

Hook sh(const std::string& script, std::optional<std::vector<std::string>> env = {},
        std::optional<int> timeout = {}) {
    return Hook{"/bin/sh", {"sh", "-c", script}, std::move(env), timeout};
}

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace

TEST_CASE("a hook gets the state JSON on stdin, its args and only its env") {
    TempDir tmp;
    const std::string state = R"({"ociVersion":"1.1.0","id":"c1","status":"creating","pid":7})";
    Hook h{
        "/bin/sh",
        {"sh", "-c", "cat > " + tmp.path + "/stdin; echo \"$0 $1 [$FOO] [$HOME]\"", "zero", "one"},
        std::vector<std::string>{"FOO=bar"},
        std::nullopt};
    HookResult r = runHook(h, state);
    CHECK(r.exited);
    CHECK(r.status == 0);
    CHECK_FALSE(r.timedOut);
    CHECK(slurp(tmp.path + "/stdin") == state);
    CHECK(r.output == "zero one [bar] []\n");

    HookResult env = runHook(
        Hook{"/usr/bin/env", {"env"}, std::vector<std::string>{"A=1", "B=2"}, std::nullopt}, "");
    CHECK(env.output == "A=1\nB=2\n");
    // No args: argv is just the path.
    HookResult noArgs = runHook(Hook{"/bin/echo", {}, {}, std::nullopt}, "{}");
    CHECK(noArgs.output == "\n");
}

TEST_CASE("a hook without env gets the runtime's environment; env [] gives an empty one") {
    REQUIRE(::setenv("CAPRUN_HOOK_TEST_VAR", "from-runtime", 1) == 0);
    HookResult inherited = runHook(Hook{"/bin/sh",
                                        {"sh", "-c", "echo \"[$CAPRUN_HOOK_TEST_VAR]\""},
                                        std::nullopt,
                                        std::nullopt},
                                   "");
    HookResult empty =
        runHook(Hook{"/usr/bin/env", {"env"}, std::vector<std::string>{}, std::nullopt}, "");
    HookResult own = runHook(Hook{"/bin/sh",
                                  {"sh", "-c", "echo \"[$CAPRUN_HOOK_TEST_VAR]\""},
                                  std::vector<std::string>{"X=1"},
                                  std::nullopt},
                             "");
    ::unsetenv("CAPRUN_HOOK_TEST_VAR");
    CHECK(inherited.output == "[from-runtime]\n");
    CHECK(empty.output == "");
    CHECK(own.output == "[]\n");
}

TEST_CASE("a hook that ignores a large stdin does not take the runtime down") {
    std::string big(1 << 20, 'x');
    HookResult r = runHook(sh("exit 0"), big);
    CHECK(r.exited);
    CHECK(r.status == 0);
}

TEST_CASE("failures name the hook kind, the path and what happened") {
    CHECK_THROWS_WITH_AS(runHooks(HookKind::CreateRuntime, {sh("echo boom >&2; exit 3")}, "{}"),
                         "createRuntime hook /bin/sh failed with exit status 3: boom", Error);
    CHECK_THROWS_WITH_AS(runHooks(HookKind::Prestart, {sh("kill -9 $$")}, "{}"),
                         doctest::Contains("prestart hook /bin/sh was killed by signal 9"), Error);
    CHECK_THROWS_WITH_AS(
        runHooks(HookKind::Poststart, {Hook{"/nonexistent/hook", {}, {}, std::nullopt}}, "{}"),
        doctest::Contains("/nonexistent/hook"), Error);
    CHECK_THROWS_WITH_AS(
        runHooks(HookKind::Poststart, {Hook{"relative", {}, {}, std::nullopt}}, "{}"),
        doctest::Contains("must be absolute"), Error);
}

// The pids a hook script wrote to `file`, one a line.
std::vector<pid_t> pidsIn(const std::string& file) {
    std::vector<pid_t> out;
    std::ifstream in(file);
    for (long p; in >> p;) out.push_back(static_cast<pid_t>(p));
    return out;
}

// True while `pid` exists and is not a zombie.
bool running(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) return false;
    auto close = line.rfind(')');
    return close != std::string::npos && close + 2 < line.size() && line[close + 2] != 'Z';
}

TEST_CASE("a hook past its timeout is killed and reported, with everything it forked") {
    TempDir tmp;
    std::string pids = tmp.path + "/pids";
    // The hook would sleep far longer than its 1 s timeout, in a background and a foreground
    // child (sleep N & sleep N; wait); each writes its pid so that the test can look for it
    // (and remove it even when failing).
    HookResult r = runHook(sh("echo $$ >" + pids + "; sleep 600 & echo $! >>" + pids +
                                  "; sh -c 'echo $$ >>" + pids + "; exec sleep 600'; wait",
                              {}, 1),
                           "{}");
    std::vector<pid_t> started = pidsIn(pids);
    REQUIRE(started.size() == 3);
    for (pid_t p : started) {
        CHECK_FALSE(running(p));
        if (running(p)) ::kill(p, SIGKILL);  // leave nothing behind even when failing
    }
    CHECK(r.timedOut);
    CHECK_FALSE(r.exited);
    CHECK(r.status == 9);
    CHECK_THROWS_WITH_AS(runHooks(HookKind::StartContainer, {sh("exec sleep 600", {}, 1)}, "{}"),
                         doctest::Contains("startContainer hook /bin/sh did not finish within its "
                                           "timeout of 1s and was killed"),
                         Error);
}

TEST_CASE("a failing hook takes what it forked with it; a succeeding one keeps it") {
    TempDir tmp;
    std::string pids = tmp.path + "/pids";
    HookResult failed = runHook(sh("sleep 600 & echo $! >" + pids + "; exit 3"), "{}");
    CHECK(failed.exited);
    CHECK(failed.status == 3);
    std::vector<pid_t> left = pidsIn(pids);
    REQUIRE(left.size() == 1);
    CHECK_FALSE(running(left[0]));
    if (running(left[0])) ::kill(left[0], SIGKILL);

    // A hook may start a helper that outlives it (runc and crun leave those alone too).
    std::string kept = tmp.path + "/kept";
    HookResult ok = runHook(sh("sleep 600 & echo $! >" + kept + "; exit 0"), "{}");
    CHECK(ok.exited);
    CHECK(ok.status == 0);
    std::vector<pid_t> helper = pidsIn(kept);
    REQUIRE(helper.size() == 1);
    CHECK(running(helper[0]));
    ::kill(helper[0], SIGKILL);
}

TEST_CASE("the first failing hook stops the others; poststop runs them all") {
    TempDir tmp;
    std::string marker = tmp.path + "/second-ran";
    std::vector<Hook> hooks = {sh("exit 1"), sh("touch " + marker)};
    CHECK_THROWS_AS(runHooks(HookKind::CreateContainer, hooks, "{}"), Error);
    CHECK_FALSE(fs::exists(marker));

    CHECK(runHooksLoggingFailures(HookKind::Poststop, hooks, "{}") == 1);
    CHECK(fs::exists(marker));
    CHECK(runHooksLoggingFailures(HookKind::Poststop, {sh("true")}, "{}") == 0);
    CHECK(hookKindName(HookKind::CreateRuntime) == "createRuntime");
}
