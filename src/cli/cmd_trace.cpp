// caprun trace: stream the syscalls of a running container that fail with EPERM/EACCES,
// each with its cause (a capability the kernel denied, the seccomp filter, something else)
// and the fix, until --duration ends, the container stops, or SIGINT/SIGTERM. With
// --report-on-exit it is the detached tracer create starts for the annotation
// run.caprun.trace-eperm=true (caprun/trace_monitor.hpp): quiet, the summary at the end.
#include <unistd.h>

#include <csignal>
#include <chrono>
#include <iostream>

#include "caprun/error.hpp"
#include "caprun/log.hpp"
#include "caprun/seccomp_profile.hpp"
#include "caprun/state.hpp"
#include "caprun/trace.hpp"
#include "commands.hpp"
#include "detached_monitor.hpp"

namespace caprun::cli {

namespace po = boost::program_options;

int cmdTrace(const GlobalOptions& g, const Args& args) {
    auto desc = commandOptions("trace");
    // clang-format off
    desc.add_options()
        ("duration", po::value<double>(), "stop after this many seconds (default: until the container stops or SIGINT/SIGTERM)")
        ("format,f", po::value<std::string>()->default_value("text"), "output format: text, or json (one object a line)")
        ("report-on-exit", "print nothing while tracing; at the end the summary to stderr and the --log (what run --trace-eperm prints)")
        ("ready-fd", po::value<int>(), "write \"ready\" and a newline to this descriptor once attached (or the reason it cannot), then close it");
    // clang-format on
    auto cl = parseCommandLine("trace", args, desc);
    std::string why;
    const bool available = traceAvailable(&why);
    if (printHelpIfAsked(cl,
                         "trace ID [--duration S] [--format text|json] [--report-on-exit]\n\n"
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
    const bool reportOnExit = cl.vm.count("report-on-exit") > 0;
    int readyFd = cl.vm.count("ready-fd") ? cl.vm["ready-fd"].as<int>() : -1;
    // Without the tracer in this build, that comes first, whatever else goes wrong.
    if (!available && readyFd < 0) std::cerr << "caprun: trace: " << why << "\n";
    StateStore store(g.root);
    ContainerState st;
    std::optional<EpermReport> report;
    try {
        st = store.load(cl.positionals[0]);
        if (liveStatus(st) != ContainerStatus::Running &&
            liveStatus(st) != ContainerStatus::Created)
            throw Error("trace: container " + st.id + " is " + statusName(liveStatus(st)));
        report.emplace(reportForContainer(g, st));
    } catch (const std::exception& e) {
        tellStarter(readyFd, std::string("trace-eperm: ") + e.what());
        throw;
    }
    auto cg = st.cgroupPaths.find("unified");
    std::unique_ptr<EpermTracer> tracer;
    std::string cannot;  // why there is no tracer
    if (!available) {
        cannot = "trace: " + why;
    } else {
        try {
            tracer = std::make_unique<EpermTracer>(cg == st.cgroupPaths.end() ? "" : cg->second);
        } catch (const Error& e) {
            cannot = e.what();
        }
    }
    if (!tracer) {
        Spec spec = loadBundleSpec(st.bundle);
        CapabilityPlan plan =
            planForContainer(spec, capPolicyFor(g.capPolicy, st), st.rootfs, HostFacts::probe());
        const std::string fallback =
            staticFallback(spec, plan, selectSeccomp(spec, st.seccompProfile));
        if (readyFd >= 0) {
            tellStarter(readyFd, cannot + "; falling back to the static explanation. " + fallback);
            return 1;
        }
        if (available)  // (a build without the tracer said why above already)
            std::cerr << "caprun: " << cannot << "; falling back to the static explanation\n";
        else
            std::cerr << "caprun: falling back to the static explanation\n";
        std::cout << fallback << "\n";
        return 1;
    }
    stopOnSignals();
    if (!reportOnExit)
        std::cerr << "caprun: tracing container " << st.id << " (cgroup " << cg->second << ")\n";
    tellStarter(readyFd, "ready");
    const auto start = std::chrono::steady_clock::now();
    const std::function<void(const TraceEvent&)> onEvent = [&](const TraceEvent& e) {
        const TraceFinding* f = report->add(e);
        if (f && !reportOnExit) {
            std::cout << (format == "json" ? traceFindingJson(*f) : traceFindingText(*f)) << "\n";
            std::cout.flush();
        }
    };
    while (!gMonitorStop) {
        tracer->poll(200, onEvent);
        if (cl.vm.count("duration") &&
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() >=
                cl.vm["duration"].as<double>())
            break;
        if (liveStatus(st) == ContainerStatus::Stopped) break;
        // Deleted under it (by a delete that does not stop tracers): nothing more to see.
        if (reportOnExit && !store.exists(st.id)) break;
    }
    while (tracer->poll(0, onEvent) > 0) {
    }
    if (reportOnExit) {
        const std::string s = report->summaryText();
        std::cerr << "caprun: " << s << "\n";
        if (!g.logFile.empty()) log::warn(s);
    } else if (format == "text") {
        std::cout << report->summaryText() << "\n";
    }
    return 0;
}

}  // namespace caprun::cli
