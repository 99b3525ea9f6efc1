#include <doctest/doctest.h>

#include "global_options.hpp"

using caprun::GlobalOptions;
using caprun::parseGlobalOptions;

namespace {
GlobalOptions parse(std::vector<std::string> args) {
    args.insert(args.begin(), "caprun");
    return parseGlobalOptions(args);
}
}  // namespace

TEST_CASE("global options: both --flag value and --flag=value") {
    auto a = parse({"--root", "/r", "--log", "/l.json", "--log-format", "json", "--cap-policy",
                    "strict", "state", "x"});
    auto b = parse(
        {"--root=/r", "--log=/l.json", "--log-format=json", "--cap-policy=strict", "state", "x"});
    for (const auto& g : {a, b}) {
        CHECK(g.root == "/r");
        CHECK(g.logFile == "/l.json");
        CHECK(g.logFormat == caprun::LogFormat::Json);
        REQUIRE(g.capPolicy.has_value());
        CHECK(*g.capPolicy == "strict");
        CHECK(g.command == "state");
        CHECK(g.commandArgs == std::vector<std::string>{"x"});
    }
}

TEST_CASE("global options: containerd's exact invocation") {
    auto g = parse({"--root", "/run/containerd/runc/default", "--log", "/b/log.json",
                    "--log-format", "json", "--systemd-cgroup", "create", "--bundle", "/b",
                    "--pid-file", "/b/init.pid", "id1"});
    CHECK(g.root == "/run/containerd/runc/default");
    CHECK(g.systemdCgroup);
    CHECK(g.command == "create");
    CHECK(g.commandArgs ==
          std::vector<std::string>{"--bundle", "/b", "--pid-file", "/b/init.pid", "id1"});
}

TEST_CASE("global options: flags, defaults and ignored criu") {
    auto g = parse({"--debug", "--rootless=false", "--criu", "/usr/sbin/criu", "--cgroup-manager",
                    "cgroupfs", "list"});
    CHECK(g.debug);
    CHECK(g.rootless == "false");
    CHECK(g.criu == "/usr/sbin/criu");
    CHECK(g.cgroupManager == "cgroupfs");
    CHECK_FALSE(g.capPolicy.has_value());
    CHECK(g.root == "/run/caprun");  // --rootless false: the system default
    CHECK_FALSE(g.rootlessMode);
    CHECK(parse({"--cgroup-manager=systemd", "list"}).systemdCgroup);
}

TEST_CASE("global options: bad values name the option and the allowed values") {
    CHECK_THROWS_WITH(parse({"--log-format", "xml", "list"}),
                      "invalid value \"xml\" for --log-format: expected one of text, json");
    CHECK_THROWS_WITH(parse({"--cap-policy=maybe", "run"}),
                      "invalid value \"maybe\" for --cap-policy: expected one of strict, lenient");
    CHECK_THROWS_WITH(parse({"--rootless", "yes", "list"}),
                      "invalid value \"yes\" for --rootless: expected one of true, false, auto");
    CHECK_THROWS_WITH(parse({"--cgroup-manager", "x", "list"}),
                      "invalid value \"x\" for --cgroup-manager: expected one of cgroupfs, "
                      "systemd, disabled");
    CHECK_THROWS_WITH(parse({"--host-status", "/s", "--host-cap-last", "x", "check"}),
                      "invalid value \"x\" for --host-cap-last: expected a number from 0 to 63");
}

TEST_CASE("global options: unknown options and missing values") {
    CHECK_THROWS_WITH(parse({"--frobnicate", "list"}),
                      "unknown global option --frobnicate (see caprun --help)");
    CHECK_THROWS_WITH(parse({"--root"}), "option --root needs a value (see caprun --help)");
    CHECK_THROWS_AS(parse({"--ro", "/x", "list"}), caprun::UsageError);  // no guessing
}

TEST_CASE("global options: --help and --version without a command") {
    CHECK(parse({"--help"}).help);
    CHECK(parse({"-v"}).version);
    CHECK(parse({"--version"}).command.empty());
}

TEST_CASE("an invalid value holding boost's own placeholders is reported, not looped on") {
    // Found by fuzz_cli (scripts/fuzz.sh --long): boost's what() replaced "%value%" with a
    // value holding "%value%" forever.
    namespace po = boost::program_options;
    po::options_description d("t");
    d.add_options()("preserve-fds", po::value<unsigned>(), "");
    CHECK_THROWS_WITH(caprun::parseCommandLine("run", {"--preserve-fds", "%value%", "id"}, d),
                      "run: the argument ('%value%') for option '--preserve-fds' is invalid "
                      "(see caprun run --help)");
    CHECK_THROWS_WITH(caprun::parseCommandLine("run", {"--preserve-fds=%option%%%", "id"}, d),
                      "run: the argument ('%option%%%') for option '--preserve-fds' is invalid "
                      "(see caprun run --help)");
}

TEST_CASE("subcommand options: both forms, positionals, unknown option") {
    namespace po = boost::program_options;
    po::options_description d("t");
    d.add_options()("bundle,b", po::value<std::string>(), "")("detach,d", "")("tty,t", "")(
        "env,e", po::value<std::vector<std::string>>(), "");
    auto cl = caprun::parseCommandLine("run", {"-b", "/x", "--detach", "id"}, d);
    CHECK(cl.vm["bundle"].as<std::string>() == "/x");
    CHECK(cl.vm.count("detach") == 1);
    CHECK(cl.positionals == std::vector<std::string>{"id"});
    auto cl2 = caprun::parseCommandLine("run", {"id", "--bundle=/y"}, d);
    CHECK(cl2.vm["bundle"].as<std::string>() == "/y");
    CHECK(cl2.positionals == std::vector<std::string>{"id"});
    CHECK_THROWS_WITH(caprun::parseCommandLine("run", {"--nope", "id"}, d),
                      "run: unknown option --nope (see caprun run --help)");
    CHECK_THROWS_WITH(caprun::parseCommandLine("run", {"id", "--bundle"}, d),
                      "run: option --bundle needs a value (see caprun run --help)");
    // exec ID CMD...: after the id everything belongs to the command, dashes included.
    auto ex =
        caprun::parseCommandLine("exec", {"-t", "id", "ls", "-l", "--bundle", "x"}, d, true, 1);
    CHECK(ex.vm.count("tty") == 1);
    CHECK(ex.positionals == std::vector<std::string>{"id", "ls", "-l", "--bundle", "x"});
    auto env = caprun::parseCommandLine("exec", {"-e", "A=1", "--env=B=2", "id"}, d);
    CHECK(env.vm["env"].as<std::vector<std::string>>() == std::vector<std::string>{"A=1", "B=2"});
}

TEST_CASE("global options: --rootless routes the default state root, --root wins") {
    caprun::RootlessFacts root{0, "         0          0 4294967295\n", "/run/user/0"};
    caprun::RootlessFacts user{1000, "         0          0 4294967295\n", "/run/user/1000"};
    caprun::RootlessFacts noXdg{1000, "         0          0 4294967295\n", std::nullopt};

    GlobalOptions g;
    caprun::applyRootless(g, false, root);
    CHECK(g.root == "/run/caprun");
    CHECK(g.rootError.empty());

    g = GlobalOptions{};
    caprun::applyRootless(g, false, user);
    CHECK(g.rootlessMode);
    CHECK(g.root == "/run/user/1000/caprun");

    g = GlobalOptions{};
    caprun::applyRootless(g, false, noXdg);
    CHECK(g.root.empty());
    CHECK(g.rootError.find("XDG_RUNTIME_DIR is not set") != std::string::npos);
    CHECK(g.rootError.find("--root") != std::string::npos);

    g = GlobalOptions{};
    g.root = "/given";
    caprun::applyRootless(g, true, noXdg);
    CHECK(g.root == "/given");
    CHECK(g.rootError.empty());

    g = GlobalOptions{};
    g.rootless = "true";
    caprun::applyRootless(g, false, root);
    CHECK(g.rootlessMode);
    CHECK(g.root == "/run/user/0/caprun");
}

TEST_CASE("an unknown option or command: the nearest name is suggested when it is a likely typo") {
    CHECK_THROWS_WITH(parse({"--cap-polcy", "strict", "list"}),
                      "unknown global option --cap-polcy: did you mean --cap-policy? (see caprun "
                      "--help)");
    namespace po = boost::program_options;
    po::options_description d("t");
    d.add_options()("bundle", po::value<std::string>(), "")("format", po::value<std::string>(), "");
    CHECK_THROWS_WITH(caprun::parseCommandLine("check", {"--bundel", "x"}, d),
                      "check: unknown option --bundel: did you mean --bundle? (see caprun check "
                      "--help)");
    CHECK(caprun::didYouMeanOption("--fromat=json", d) == ": did you mean --format?");
    CHECK(caprun::didYouMeanOption("--frobnicate", d).empty());
    const std::vector<std::string> commands = {"check", "create", "exec", "spec"};
    CHECK(caprun::nearestName("chek", commands) == "check");
    CHECK(caprun::nearestName("crate", commands) == "create");
    CHECK(caprun::nearestName("exce", commands) == "exec");  // two edits, short name
    CHECK(caprun::nearestName("frobnicate", commands).empty());
    CHECK(caprun::nearestName("x", {}).empty());
}
