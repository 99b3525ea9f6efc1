// caprun trace: stream the syscalls of a running container that fail with EPERM/EACCES,
// each with its cause (a capability the kernel denied, the seccomp filter, something else)
// and the fix, until --duration ends, the container stops, or SIGINT/SIGTERM.
#include <csignal>
#include <chrono>
#include <iostream>

#include "caprun/error.hpp"
#include "caprun/seccomp_profile.hpp"
#include "caprun/state.hpp"
#include "caprun/trace.hpp"
#include "commands.hpp"

namespace caprun::cli {

namespace po = boost::program_options;

namespace {
volatile std::sig_atomic_t gStop = 0;
void onStop(int) {
    gStop = 1;
}
}  // namespace

int cmdTrace(const GlobalOptions& g, const Args& args) {
    auto desc = commandOptions("trace");
    // clang-format off
    desc.add_options()
        ("duration", po::value<double>(), "stop after this many seconds (default: until the container stops or SIGINT/SIGTERM)")
        ("format,f", po::value<std::string>()->default_value("text"), "output format: text, or json (one object a line)");
    // clang-format on
    auto cl = parseCommandLine("trace", args, desc);
    std::string why;
    const bool available = traceAvailable(&why);
    if (printHelpIfAsked(cl,
                         "trace ID [--duration S] [--format text|json]\n\n"
                         "Reports every syscall of the container's processes that fails with "
                         "EPERM or EACCES, once per (syscall, cause), with the process name and "
                         "pid, the cause and the fix. eBPF tracer: " +
                             (available ? std::string("available") : "MISSING — " + why),
                         desc))
        return 0;
    expectPositionals("trace", cl, 1, 1, "container id");
    const std::string format = cl.vm["format"].as<std::string>();
    if (format != "text" && format != "json")
        throw UsageError("invalid value \"" + format +
                         "\" for trace --format: expected one of text, json");
    StateStore store(g.root);
    const ContainerState st = store.load(cl.positionals[0]);
    if (liveStatus(st) != ContainerStatus::Running && liveStatus(st) != ContainerStatus::Created)
        throw Error("trace: container " + st.id + " is " + statusName(liveStatus(st)));
    EpermReport report = reportForContainer(g, st);
    auto cg = st.cgroupPaths.find("unified");
    std::unique_ptr<EpermTracer> tracer;
    try {
        tracer = std::make_unique<EpermTracer>(cg == st.cgroupPaths.end() ? "" : cg->second);
    } catch (const Error& e) {
        Spec spec = loadBundleSpec(st.bundle);
        CapabilityPlan plan =
            planForContainer(spec, capPolicyFor(g.capPolicy, st), st.rootfs, HostFacts::probe());
        std::cerr << "caprun: " << e.what() << "; falling back to the static explanation\n";
        std::cout << staticFallback(spec, plan, selectSeccomp(spec, st.seccompProfile)) << "\n";
        return 1;
    }
    std::cerr << "caprun: tracing container " << st.id << " (cgroup " << cg->second << ")\n";
    std::signal(SIGINT, onStop);
    std::signal(SIGTERM, onStop);
    const auto start = std::chrono::steady_clock::now();
    const std::function<void(const TraceEvent&)> onEvent = [&](const TraceEvent& e) {
        if (const TraceFinding* f = report.add(e)) {
            std::cout << (format == "json" ? traceFindingJson(*f) : traceFindingText(*f)) << "\n";
            std::cout.flush();
        }
    };
    while (!gStop) {
        tracer->poll(200, onEvent);
        if (cl.vm.count("duration") &&
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() >=
                cl.vm["duration"].as<double>())
            break;
        if (liveStatus(st) == ContainerStatus::Stopped) break;
    }
    while (tracer->poll(0, onEvent) > 0) {
    }
    if (format == "text") std::cout << report.summaryText() << "\n";
    return 0;
}

}  // namespace caprun::cli
