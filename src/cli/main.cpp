// caprun's entry point: global options, then one subcommand.
#include <seccomp.h>
#include <sys/capability.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "caprun/build_features.hpp"
#include "caprun/error.hpp"
#include "caprun/log.hpp"
#include "caprun_config.h"
#include "commands.hpp"
#include "complete.hpp"
#include "man_page.hpp"
#include "git_commit.h"

namespace {

using caprun::cli::CommandEntry;

}  // namespace

// Every subcommand with its one-line meaning, in the order --help lists them.
const std::vector<CommandEntry>& caprun::cli::commandTable() {
    static const std::vector<CommandEntry> table = {
        {"spec", "write a default config.json into a bundle", caprun::cli::cmdSpec},
        {"check", "validate a bundle and show what would run and why (the plan)",
         caprun::cli::cmdCheck},
        {"explain", "why a syscall fails in a container (seccomp rule, capability) and the fix",
         caprun::cli::cmdExplain},
        {"trace", "stream a container's EPERM/EACCES failures with their cause (eBPF)",
         caprun::cli::cmdTrace},
        {"record",
         "run a container and write the capabilities and seccomp profile its workload used "
         "(eBPF)",
         caprun::cli::cmdRecord},
        {"run", "create and start a container, wait for it in the foreground", caprun::cli::cmdRun},
        {"create", "create a container, its process blocked before user code",
         caprun::cli::cmdCreate},
        {"start", "start a created container's process", caprun::cli::cmdStart},
        {"exec", "run a new process in a running container", caprun::cli::cmdExec},
        {"state", "print the state of a container (runtime-spec JSON)", caprun::cli::cmdState},
        {"kill", "send a signal to a container's process(es)", caprun::cli::cmdKill},
        {"delete", "delete a stopped container (--force: any)", caprun::cli::cmdDelete},
        {"ps", "list the processes of a container", caprun::cli::cmdPs},
        {"pause", "freeze every process of a container", caprun::cli::cmdPause},
        {"resume", "thaw a paused container", caprun::cli::cmdResume},
        {"update", "apply new resource limits to a container", caprun::cli::cmdUpdate},
        {"list", "list containers", caprun::cli::cmdList},
        {"features", "print the features caprun implements (runtime-spec JSON)",
         caprun::cli::cmdFeatures},
        {"checkpoint", "dump a running container with CRIU (runc's options)",
         caprun::cli::cmdCheckpoint},
        {"restore", "restore a container from a CRIU checkpoint", caprun::cli::cmdRestore},
        {"cleanup", "remove the shared caprun/ parent cgroups that no container uses",
         caprun::cli::cmdCleanup},
    };
    return table;
}

namespace {

using caprun::cli::commandTable;

void printVersion() {
    const scmp_version* sv = seccomp_version();
    std::printf("caprun version %s\ncommit: %s\nspec: %s\nlibseccomp: %u.%u.%u\nlibcap: %d.%d\n",
                CAPRUN_VERSION, CAPRUN_GIT_COMMIT, CAPRUN_SPEC_VERSION, sv->major, sv->minor,
                sv->micro, LIBCAP_MAJOR, LIBCAP_MINOR);
    std::printf("%s\n", caprun::buildFeaturesLine().c_str());
}

void printUsage() {
    std::cout << "caprun: an OCI container runtime that applies Linux capabilities right\n\n"
                 "Usage: caprun [global options] <command> [command options] [arguments]\n\n"
                 "Commands:\n";
    for (const auto& c : commandTable()) {
        std::string name = c.name;
        name.resize(12, ' ');
        std::cout << "  " << name << c.summary << "\n";
    }
    std::cout << "\n"
              << caprun::globalOptionsDescription() << "\n"
              << "Run 'caprun <command> --help' for the options of one command.\n";
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv, argv + argc);
    caprun::GlobalOptions g;
    try {
        g = caprun::parseGlobalOptions(args);
    } catch (const caprun::Error& e) {
        std::cerr << "caprun: " << e.what() << "\n";
        return 1;
    }
    if (g.version) {
        printVersion();
        return 0;
    }
    if (g.command.empty()) {
        printUsage();
        return g.help ? 0 : 1;
    }
    // Hidden commands, not in --help: the build makes the man pages with __man and the shell
    // completion scripts ask __complete.
    if (g.command == "__man") return caprun::cli::printManPage(g.commandArgs);
    if (g.command == "__complete") return caprun::cli::printCompletions(g.commandArgs);
    const CommandEntry* cmd = nullptr;
    for (const auto& c : commandTable())
        if (g.command == c.name) cmd = &c;
    if (cmd == nullptr) {
        std::vector<std::string> names;
        for (const auto& c : commandTable()) names.push_back(c.name);
        const std::string near = caprun::nearestName(g.command, names);
        std::cerr << "caprun: unknown command \"" << g.command << "\""
                  << (near.empty() ? "" : ": did you mean \"" + near + "\"?")
                  << " (see caprun --help)\n";
        return 1;
    }
    // Rootless without XDG_RUNTIME_DIR or --root: only the commands that keep no state run.
    if (!g.rootError.empty() && g.command != "spec" && g.command != "check" &&
        g.command != "features") {
        std::cerr << "caprun: " << g.rootError << "\n";
        return 1;
    }
    try {
        caprun::log::init(g);
    } catch (const caprun::Error& e) {
        std::cerr << "caprun: " << e.what() << "\n";
        return 1;
    }
    try {
        return cmd->fn(g, g.commandArgs);
    } catch (const std::exception& e) {
        // What the command printed comes first: when stdout and stderr share a pipe (bats `run`,
        // a caller's log), an unflushed report would otherwise be cut mid-line by the error.
        std::cout.flush();
        std::fflush(stdout);
        caprun::log::error(e.what());
        return 1;
    }
}
