// caprun exec: run a new process in a running container, from --process FILE (a
// runtime-spec Process JSON, as containerd and podman pass it) or from a command line.
#include "caprun/container.hpp"
#include "caprun/error.hpp"
#include "commands.hpp"

namespace caprun::cli {

namespace {

// A uid or gid: decimal digits, below 2^32 - 1 (which means "no id" to the kernel).
std::optional<std::uint32_t> parseId(const std::string& text) {
    if (text.empty() || text.size() > 10 ||
        text.find_first_not_of("0123456789") != std::string::npos)
        return std::nullopt;
    const unsigned long long v = std::stoull(text);
    if (v >= 0xffffffffULL) return std::nullopt;
    return static_cast<std::uint32_t>(v);
}

}  // namespace

namespace po = boost::program_options;

int cmdExec(const GlobalOptions& g, const Args& args) {
    auto desc = commandOptions("exec");
    // clang-format off
    desc.add_options()
        ("process,p", po::value<std::string>(), "runtime-spec Process JSON file describing the process")
        ("detach,d", "return once the process runs instead of waiting for it")
        ("pid-file", po::value<std::string>(), "write the process's pid here (bare digits, atomically)")
        ("console-socket", po::value<std::string>(), "unix socket that receives the pty master fd")
        ("tty,t", "allocate a pty for the process")
        ("env,e", po::value<std::vector<std::string>>()->composing(), "KEY=VALUE added to (or replacing in) the environment; repeatable")
        ("cwd", po::value<std::string>(), "working directory inside the container")
        ("user,u", po::value<std::string>(), "UID[:GID] to run as")
        ("additional-gids,g", po::value<std::vector<std::string>>()->composing(), "supplementary group id; repeatable")
        ("cap,c", po::value<std::vector<std::string>>()->composing(), "capability added to the bounding, effective and permitted sets (never inheritable or ambient); repeatable")
        ("apparmor", po::value<std::string>(), "AppArmor profile for the process (refused where AppArmor is not enabled)")
        ("process-label", po::value<std::string>(), "SELinux label for the process (refused where SELinux is not enabled)")
        ("no-new-privs", "set no_new_privileges for the process")
        ("preserve-fds", po::value<unsigned>()->default_value(0), "pass fds 3..3+N-1 to the process");
    // clang-format on
    auto cl = parseCommandLine("exec", args, desc, true, 1);
    if (printHelpIfAsked(cl, "exec [options] ID [COMMAND [ARG...]]", desc)) return 0;
    refuseHostStatusOutsideCheck(g, "exec");
    expectPositionals("exec", cl, 1, static_cast<std::size_t>(-1), "container id");
    ExecOptions o;
    o.id = cl.positionals[0];
    o.args.assign(cl.positionals.begin() + 1, cl.positionals.end());
    if (cl.vm.count("process")) o.processFile = cl.vm["process"].as<std::string>();
    if (!o.processFile.empty() && !o.args.empty())
        throw UsageError("exec: give either --process FILE or a command, not both");
    o.detach = cl.vm.count("detach") > 0;
    if (cl.vm.count("pid-file")) o.pidFile = cl.vm["pid-file"].as<std::string>();
    if (cl.vm.count("console-socket")) o.consoleSocket = cl.vm["console-socket"].as<std::string>();
    o.tty = cl.vm.count("tty") > 0;
    if (cl.vm.count("env")) o.env = cl.vm["env"].as<std::vector<std::string>>();
    for (const auto& e : o.env)
        if (e.find('=') == std::string::npos)
            throw UsageError("exec: --env \"" + e + "\": expected KEY=VALUE");
    if (cl.vm.count("cwd")) o.cwd = cl.vm["cwd"].as<std::string>();
    if (cl.vm.count("user")) {
        const std::string user = cl.vm["user"].as<std::string>();
        const auto colon = user.find(':');
        auto uid = parseId(user.substr(0, colon));
        auto gid = colon == std::string::npos ? std::optional<std::uint32_t>(0)
                                              : parseId(user.substr(colon + 1));
        if (!uid || !gid)
            throw UsageError("exec: --user \"" + user + "\": expected UID[:GID] as numbers");
        o.uid = uid;
        if (colon != std::string::npos) o.gid = gid;
    }
    if (cl.vm.count("additional-gids"))
        for (const auto& text : cl.vm["additional-gids"].as<std::vector<std::string>>()) {
            auto gid = parseId(text);
            if (!gid)
                throw UsageError("exec: --additional-gids \"" + text + "\": expected a number");
            o.additionalGids.push_back(*gid);
        }
    if (cl.vm.count("cap")) o.capAdd = cl.vm["cap"].as<std::vector<std::string>>();
    o.noNewPrivileges = cl.vm.count("no-new-privs") > 0;
    if (cl.vm.count("apparmor")) o.apparmorProfile = cl.vm["apparmor"].as<std::string>();
    if (cl.vm.count("process-label")) o.processLabel = cl.vm["process-label"].as<std::string>();
    o.preserveFds = cl.vm["preserve-fds"].as<unsigned>();
    if (o.processFile.empty() && o.args.empty())
        throw UsageError("exec: no command given (exec ID CMD... or --process FILE)");
    return execInContainer(g, o);
}

}  // namespace caprun::cli
