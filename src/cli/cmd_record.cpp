// caprun record: runs a container like `run` (foreground, same exit status) while recording
// the capabilities its workload needed and the syscalls it made, then writes the profile
// files to --output DIR. With --merge it combines earlier recordings' events instead.
#include <unistd.h>

#include <csignal>
#include <iostream>

#include "caprun/container.hpp"
#include "caprun/error.hpp"
#include "caprun/record.hpp"
#include "caprun/container_process.hpp"
#include "caprun/state.hpp"
#include "caprun/sys/read_file.hpp"
#include "commands.hpp"
#include "detached_monitor.hpp"

namespace caprun::cli {

namespace po = boost::program_options;

namespace {

// The detached recorder of a created container: attached before create returns, it writes
// DIR once the container has stopped (or delete's SIGTERM says so).
int attachRecorder(const GlobalOptions& g, const std::string& id, const std::string& out,
                   int readyFd) {
    StateStore store(g.root);
    std::unique_ptr<RecordTracer> tracer;
    ContainerState st;
    try {
        if (std::string missing = recordPrerequisitesMissingHere(); !missing.empty())
            throw Error("record: cannot record here: " + missing);
        checkRecordOutput(out);
        st = store.load(id);
        const ContainerStatus s = liveStatus(st);
        if (s != ContainerStatus::Created && s != ContainerStatus::Running)
            throw Error("record: container " + id + " is " + statusName(s));
        auto cg = st.cgroupPaths.find("unified");
        tracer =
            std::make_unique<RecordTracer>(cg == st.cgroupPaths.end() ? std::string() : cg->second);
    } catch (const std::exception& e) {
        tellStarter(readyFd, e.what());
        throw;
    }
    stopOnSignals();
    tellStarter(readyFd, "ready");
    while (!gMonitorStop && store.exists(id) && liveStatus(st) != ContainerStatus::Stopped)
        ::usleep(100 * 1000);
    writeRecordOutput(out, tracer->collect());
    return 0;
}

}  // namespace

int cmdRecord(const GlobalOptions& g, const Args& args) {
    auto desc = commandOptions("record");
    addCreateOptions(desc);
    desc.add_options()("output,o", po::value<std::string>(),
                       "the directory to write capabilities.json, seccomp.json, "
                       "securityContext.yaml, run-flags.txt, report.txt and recording.json to")(
        "merge", "combine the recordings in the directories given instead of running")(
        "attach",
        "record the created container ID until it stops (what create starts for the "
        "annotation run.caprun.record)")(
        "ready-fd", po::value<int>(),
        "with --attach: write \"ready\" and a newline to this descriptor once attached (or "
        "why it cannot), then close it");
    auto cl = parseCommandLine("record", args, desc);
    const std::string missing = recordPrerequisitesMissingHere();
    if (printHelpIfAsked(cl,
                         "record [run's options] --output DIR ID\n"
                         "       record --merge --output DIR RECORDED_DIR...\n\n"
                         "eBPF recorder: " +
                             (missing.empty() ? std::string("available") : "MISSING — " + missing),
                         desc))
        return 0;
    if (!cl.vm.count("output")) throw UsageError("record: --output DIR is required");
    const std::string out = absolutePath(cl.vm["output"].as<std::string>());
    if (cl.vm.count("merge")) {
        expectPositionals("record", cl, 1, 1000, "recorded directories");
        checkRecordOutput(out);
        std::vector<Recording> runs;
        for (const auto& d : cl.positionals) {
            const std::string file = absolutePath(d) + "/recording.json";
            runs.push_back(parseRecordingJson(sys::readFile(file), file));
        }
        writeRecordOutput(out, mergeRecordings(runs));
        return 0;
    }
    if (cl.vm.count("attach")) {
        expectPositionals("record", cl, 1, 1, "container id");
        return attachRecorder(g, cl.positionals[0], out,
                              cl.vm.count("ready-fd") ? cl.vm["ready-fd"].as<int>() : -1);
    }
    // Before anything exists: no container, no output directory.
    if (!missing.empty()) throw Error("record: cannot record here: " + missing);
    auto o = createOptionsFrom(g, "record", cl);
    checkRecordOutput(out);
    o.recordDir = out;
    return runContainer(g, o, false, false);
}

}  // namespace caprun::cli
