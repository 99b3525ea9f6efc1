// caprun pause / resume: freeze and thaw every process of a container (cgroup freezer).
#include "caprun/lifecycle.hpp"
#include "commands.hpp"

namespace caprun::cli {

int cmdPause(const GlobalOptions& g, const Args& args) {
    auto desc = commandOptions("pause");
    auto cl = parseCommandLine("pause", args, desc);
    if (printHelpIfAsked(cl, "pause ID", desc)) return 0;
    expectPositionals("pause", cl, 1, 1, "container id");
    pauseContainer(g, cl.positionals[0]);
    return 0;
}

int cmdResume(const GlobalOptions& g, const Args& args) {
    auto desc = commandOptions("resume");
    auto cl = parseCommandLine("resume", args, desc);
    if (printHelpIfAsked(cl, "resume ID", desc)) return 0;
    expectPositionals("resume", cl, 1, 1, "container id");
    resumeContainer(g, cl.positionals[0]);
    return 0;
}

}  // namespace caprun::cli
