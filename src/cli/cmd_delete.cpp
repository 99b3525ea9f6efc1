// caprun delete: remove a stopped container (state, cgroup; poststop hooks run).
#include "caprun/lifecycle.hpp"
#include "commands.hpp"

namespace caprun::cli {

int cmdDelete(const GlobalOptions& g, const Args& args) {
    auto desc = commandOptions("delete");
    desc.add_options()("force,f",
                       "delete a running or paused container too (SIGKILL to all its processes); "
                       "a container that does not exist is then not an error");
    auto cl = parseCommandLine("delete", args, desc);
    if (printHelpIfAsked(cl, "delete [--force] ID", desc)) return 0;
    expectPositionals("delete", cl, 1, 1, "container id");
    deleteContainer(g, cl.positionals[0], cl.vm.count("force") > 0);
    return 0;
}

}  // namespace caprun::cli
