// caprun kill: send a signal to a container's init (or, with --all, all its processes).
#include <signal.h>

#include "caprun/lifecycle.hpp"
#include "commands.hpp"

namespace caprun::cli {

int cmdKill(const GlobalOptions& g, const Args& args) {
    auto desc = commandOptions("kill");
    desc.add_options()("all,a", "send the signal to every process in the container's cgroup");
    auto cl = parseCommandLine("kill", args, desc);
    if (printHelpIfAsked(cl,
                         "kill [--all] ID [SIGNAL]\n\nSIGNAL: a number (9) or a name (KILL, "
                         "SIGKILL); default SIGTERM.",
                         desc))
        return 0;
    expectPositionals("kill", cl, 1, 2, "container id");
    int sig = cl.positionals.size() > 1 ? parseSignal(cl.positionals[1]) : SIGTERM;
    killContainer(g, cl.positionals[0], sig, cl.vm.count("all") > 0);
    return 0;
}

}  // namespace caprun::cli
