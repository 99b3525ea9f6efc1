// caprun ps: the processes of a container (json: an array of host pids, as containerd reads).
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "caprun/error.hpp"
#include "caprun/lifecycle.hpp"
#include "commands.hpp"

namespace caprun::cli {

namespace po = boost::program_options;

namespace {

// "PID PPID UID CMD" from /proc; a process that exits meanwhile is skipped.
bool describeProcess(pid_t pid, std::string& line) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    if (!status) return false;
    std::string key, ppid = "?", uid = "?";
    std::string l;
    while (std::getline(status, l)) {
        std::istringstream in(l);
        in >> key;
        if (key == "PPid:") in >> ppid;
        if (key == "Uid:") in >> uid;
    }
    std::ifstream cmdline("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
    std::string cmd((std::istreambuf_iterator<char>(cmdline)), std::istreambuf_iterator<char>());
    while (!cmd.empty() && cmd.back() == '\0') cmd.pop_back();
    for (auto& c : cmd)
        if (c == '\0') c = ' ';
    if (cmd.empty()) {
        std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
        std::getline(comm, cmd);
        cmd = "[" + cmd + "]";
    }
    char buf[64];
    std::snprintf(buf, sizeof buf, "%-8d %-8s %-6s ", static_cast<int>(pid), ppid.c_str(),
                  uid.c_str());
    line = buf + cmd;
    return true;
}

}  // namespace

int cmdPs(const GlobalOptions& g, const Args& args) {
    auto desc = commandOptions("ps");
    desc.add_options()("format,f", po::value<std::string>()->default_value("table"),
                       "table or json (a JSON array of host pids)");
    auto cl = parseCommandLine("ps", args, desc);
    if (printHelpIfAsked(cl, "ps [--format table|json] ID", desc)) return 0;
    expectPositionals("ps", cl, 1, 1, "container id");
    std::string format = cl.vm["format"].as<std::string>();
    if (format != "table" && format != "json")
        throw UsageError("ps: --format: \"" + format + "\" is not table or json");
    auto pids = containerPids(g, cl.positionals[0]);
    if (format == "json") {
        std::string out = "[";
        for (std::size_t i = 0; i < pids.size(); ++i)
            out += (i ? "," : "") + std::to_string(pids[i]);
        std::cout << out << "]\n";
        return 0;
    }
    std::cout << "PID      PPID     UID    CMD\n";
    for (pid_t p : pids) {
        std::string line;
        if (describeProcess(p, line)) std::cout << line << "\n";
    }
    return 0;
}

}  // namespace caprun::cli
