// caprun record: runs a container like `run` (foreground, same exit status) while recording
// the capabilities its workload needed and the syscalls it made, then writes the profile
// files to --output DIR. With --merge it combines earlier recordings' events instead.
#include <iostream>

#include "caprun/container.hpp"
#include "caprun/error.hpp"
#include "caprun/record.hpp"
#include "caprun/container_process.hpp"
#include "caprun/sys/read_file.hpp"
#include "commands.hpp"

namespace caprun::cli {

namespace po = boost::program_options;

int cmdRecord(const GlobalOptions& g, const Args& args) {
    auto desc = commandOptions("record");
    addCreateOptions(desc);
    desc.add_options()("output,o", po::value<std::string>(),
                       "the directory to write capabilities.json, seccomp.json, "
                       "securityContext.yaml, run-flags.txt, report.txt and recording.json to")(
        "merge", "combine the recordings in the directories given instead of running");
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
    // Before anything exists: no container, no output directory.
    if (!missing.empty()) throw Error("record: cannot record here: " + missing);
    auto o = createOptionsFrom(g, "record", cl);
    checkRecordOutput(out);
    o.recordDir = out;
    return runContainer(g, o, false, false);
}

}  // namespace caprun::cli
