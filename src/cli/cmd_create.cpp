// caprun create / run: option parsing shared by both; the work is in container.cpp.
#include "caprun/container.hpp"
#include "caprun/error.hpp"
#include "caprun/cap_plan.hpp"
#include "commands.hpp"

namespace caprun::cli {

namespace po = boost::program_options;

void addCreateOptions(po::options_description& desc) {
    // clang-format off
    desc.add_options()
        ("bundle,b", po::value<std::string>()->default_value("."), "bundle directory (holding config.json)")
        ("pid-file", po::value<std::string>(), "write the container process's pid here (bare digits, atomically)")
        ("console-socket", po::value<std::string>(), "unix socket that receives the pty master fd (process.terminal)")
        ("no-pivot", "switch root with MS_MOVE + chroot instead of pivot_root (for a ramfs/initramfs host; weaker)")
        ("no-new-keyring", "keep the caller's session keyring instead of a new one for the container")
        ("preserve-fds", po::value<unsigned>()->default_value(0), "pass fds 3..3+N-1 to the container process")
        ("seccomp-profile", po::value<std::string>(), "seccomp profile: a JSON file (dockerd's format), \"default\" (built in) or \"unconfined\" (no filter); replaces config.json's linux.seccomp");
    // clang-format on
}

CreateOptions createOptionsFrom(const GlobalOptions& g, const std::string& cmd,
                                const CommandLine& cl) {
    refuseHostStatusOutsideCheck(g, cmd);
    expectPositionals(cmd, cl, 1, 1, "container id");
    CreateOptions o;
    o.id = cl.positionals[0];
    o.bundle = cl.vm["bundle"].as<std::string>();
    if (cl.vm.count("pid-file")) o.pidFile = cl.vm["pid-file"].as<std::string>();
    if (cl.vm.count("console-socket")) o.consoleSocket = cl.vm["console-socket"].as<std::string>();
    o.noPivot = cl.vm.count("no-pivot") > 0;
    o.noNewKeyring = cl.vm.count("no-new-keyring") > 0;
    o.preserveFds = cl.vm["preserve-fds"].as<unsigned>();
    if (cl.vm.count("seccomp-profile"))
        o.seccompProfile = cl.vm["seccomp-profile"].as<std::string>();
    return o;
}

int cmdCreate(const GlobalOptions& g, const Args& args) {
    auto desc = commandOptions("create");
    addCreateOptions(desc);
    auto cl = parseCommandLine("create", args, desc);
    if (printHelpIfAsked(cl, "create [options] ID", desc)) return 0;
    createContainer(g, createOptionsFrom(g, "create", cl));
    return 0;
}

}  // namespace caprun::cli
