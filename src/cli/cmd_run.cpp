// caprun run: create + start, in the foreground by default (exit status of the container
// process, 128+signal when it was killed), or --detach.
#include "caprun/container.hpp"
#include "caprun/error.hpp"
#include "caprun/trace.hpp"
#include "commands.hpp"

namespace caprun::cli {

namespace po = boost::program_options;

int cmdRun(const GlobalOptions& g, const Args& args) {
    auto desc = commandOptions("run");
    addCreateOptions(desc);
    desc.add_options()("detach,d", "return once the container is started instead of waiting")(
        "keep",
        "keep the container when it exits (stopped, for state; delete removes it) instead of "
        "deleting it")(
        "trace-eperm",
        "report the container's syscalls that fail with EPERM/EACCES, their cause and fix, "
        "when it exits (eBPF; also the annotation run.caprun.trace-eperm=true)");
    auto cl = parseCommandLine("run", args, desc);
    std::string traceWhy;
    if (printHelpIfAsked(
            cl,
            "run [options] ID" + (traceAvailable(&traceWhy)
                                      ? std::string()
                                      : "\n\n--trace-eperm: eBPF tracer: MISSING — " + traceWhy),
            desc))
        return 0;
    auto o = createOptionsFrom(g, "run", cl);
    bool detach = cl.vm.count("detach") > 0, keep = cl.vm.count("keep") > 0;
    o.traceEperm = cl.vm.count("trace-eperm") > 0;
    // A detached container is never deleted by run, so --keep would change nothing.
    if (detach && keep) throw UsageError("run: --keep and --detach cannot be used together");
    if (o.traceEperm && detach)
        throw UsageError(
            "run: --trace-eperm reports when the container exits; use caprun trace ID "
            "with --detach");
    return runContainer(g, o, detach, keep);
}

}  // namespace caprun::cli
