// What the library needs to know about the invocation: the state root, logging, the cgroup
// manager and the capability policy the caller chose. The command line (src/cli/) fills it
// in; the library never sees how it was spelled beyond the option names errors quote.
#pragma once

#include <optional>
#include <string>

namespace caprun {

enum class LogFormat { Text, Json };

struct RuntimeContext {
    std::string root;  // state root
    std::string logFile;
    LogFormat logFormat = LogFormat::Text;
    bool debug = false;
    bool systemdCgroup = false;            // --systemd-cgroup (or --cgroup-manager systemd)
    std::string cgroupManager;             // cgroupfs | systemd | disabled; empty = not given
    std::optional<std::string> capPolicy;  // strict | lenient, validated; nullopt = not given
    std::string command;                   // the subcommand, for messages ("exec", "create")
    // Rootless mode as decided from --rootless and the process (rootless.hpp), and why.
    bool rootlessMode = false;
    std::string rootlessReason;
};

}  // namespace caprun
