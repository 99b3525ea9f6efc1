// caprun start: release a created container's process.
#include "caprun/container.hpp"
#include "commands.hpp"

namespace caprun::cli {

int cmdStart(const GlobalOptions& g, const Args& args) {
    auto desc = commandOptions("start");
    auto cl = parseCommandLine("start", args, desc);
    if (printHelpIfAsked(cl, "start ID", desc)) return 0;
    expectPositionals("start", cl, 1, 1, "container id");
    startContainer(g, cl.positionals[0]);
    return 0;
}

}  // namespace caprun::cli
