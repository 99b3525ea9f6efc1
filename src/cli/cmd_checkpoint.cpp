// caprun checkpoint / restore: runc's options (callers such as podman and containerd send
// them as runc spells them, single-dash long options included); the work is in checkpoint.cpp.
#include <algorithm>

#include "caprun/checkpoint.hpp"
#include "commands.hpp"

namespace caprun::cli {

namespace po = boost::program_options;

namespace {

// runc (Go's flag syntax) takes a long option with one dash too: podman and containerd's shim
// send `-no-subreaper`. Such a token naming one of `desc`'s long options gets its second dash;
// a value-taking option given last without a value is refused the way runc words it, which
// podman matches to learn that --lsm-mount-context exists.
Args runcStyleArgs(const std::string& cmd, const Args& args, const po::options_description& desc) {
    Args out;
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string a = args[i];
        if (a == "--") {
            out.insert(out.end(), args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
            break;
        }
        if (a.size() > 2 && a[0] == '-' && a[1] != '-') {
            std::string name = a.substr(1, a.find('=') - 1);
            if (desc.find_nothrow(name, false) != nullptr && name.size() > 1) a = "-" + a;
        }
        if (a.rfind("--", 0) == 0 && a.find('=') == std::string::npos && i + 1 == args.size()) {
            const auto* opt = desc.find_nothrow(a.substr(2), false);
            if (opt != nullptr && opt->semantic()->max_tokens() > 0)
                throw UsageError(cmd + ": flag needs an argument: " + a);
        }
        out.push_back(a);
    }
    return out;
}

std::string helpUsage(const std::string& usage) {
    std::string why = checkpointMissingReason();
    return why.empty() ? usage : usage + "\n\nMISSING: " + why;
}

std::vector<std::string> strings(const CommandLine& cl, const char* name) {
    return cl.vm.count(name) ? cl.vm[name].as<std::vector<std::string>>()
                             : std::vector<std::string>{};
}

std::string text(const CommandLine& cl, const char* name) {
    return cl.vm.count(name) ? cl.vm[name].as<std::string>() : std::string();
}

void addCommonOptions(po::options_description& desc) {
    // clang-format off
    desc.add_options()
        ("image-path", po::value<std::string>(), "CRIU image directory (default: ./checkpoint)")
        ("work-path", po::value<std::string>(), "directory for CRIU's work files and its log (default: the image path)")
        ("tcp-established", "allow open TCP connections")
        ("file-locks", "handle file locks")
        ("manage-cgroups-mode", po::value<std::string>(), "CRIU's cgroup mode: soft (default), full, strict, ignore")
        ("empty-ns", po::value<std::vector<std::string>>()->composing(), "leave this namespace's contents out (network)");
    // clang-format on
}

}  // namespace

int cmdCheckpoint(const GlobalOptions& g, const Args& args) {
    auto desc = commandOptions("checkpoint");
    addCommonOptions(desc);
    // clang-format off
    desc.add_options()
        ("leave-running", "keep the container running after the dump")
        ("ext-unix-sk", "allow external unix sockets")
        ("shell-job", "allow a shell job (a controlling terminal outside the container)")
        ("pre-dump", "dump memory only, leaving the container running (needs soft-dirty tracking)")
        ("parent-path", po::value<std::string>(), "the previous (pre-)dump, relative to the image path")
        ("auto-dedup", "deduplicate the images against the parent's");
    // clang-format on
    auto cl = parseCommandLine("checkpoint", runcStyleArgs("checkpoint", args, desc), desc);
    if (printHelpIfAsked(cl, helpUsage("checkpoint [options] ID"), desc)) return 0;
    refuseHostStatusOutsideCheck(g, "checkpoint");
    expectPositionals("checkpoint", cl, 1, 1, "container id");
    CheckpointOptions o;
    o.id = cl.positionals[0];
    o.imagePath = text(cl, "image-path");
    o.workPath = text(cl, "work-path");
    o.leaveRunning = cl.vm.count("leave-running") > 0;
    o.tcpEstablished = cl.vm.count("tcp-established") > 0;
    o.extUnixSk = cl.vm.count("ext-unix-sk") > 0;
    o.shellJob = cl.vm.count("shell-job") > 0;
    o.fileLocks = cl.vm.count("file-locks") > 0;
    o.preDump = cl.vm.count("pre-dump") > 0;
    o.parentPath = text(cl, "parent-path");
    o.manageCgroupsMode = text(cl, "manage-cgroups-mode");
    o.emptyNs = strings(cl, "empty-ns");
    o.autoDedup = cl.vm.count("auto-dedup") > 0;
    checkpointContainer(g, g.criu, o);
    return 0;
}

int cmdRestore(const GlobalOptions& g, const Args& args) {
    auto desc = commandOptions("restore");
    addCommonOptions(desc);
    // clang-format off
    desc.add_options()
        ("bundle,b", po::value<std::string>()->default_value("."), "bundle directory (holding config.json)")
        ("detach,d", "return once the container runs")
        ("pid-file", po::value<std::string>(), "write the restored init's pid here")
        ("console-socket", po::value<std::string>(), "unix socket that receives the pty master fd (process.terminal)")
        ("no-pivot", "refused: CRIU always pivot_root()s into the restored root")
        ("no-subreaper", "foreground: do not make caprun the subreaper of the container's orphans")
        ("lsm-profile", po::value<std::string>(), "LSM profile for the restored processes (apparmor:NAME or selinux:LABEL)")
        ("lsm-mount-context", po::value<std::string>(), "SELinux mount context for the restored mounts");
    // clang-format on
    auto cl = parseCommandLine("restore", runcStyleArgs("restore", args, desc), desc);
    if (printHelpIfAsked(cl, helpUsage("restore [options] ID"), desc)) return 0;
    refuseHostStatusOutsideCheck(g, "restore");
    expectPositionals("restore", cl, 1, 1, "container id");
    RestoreOptions o;
    o.id = cl.positionals[0];
    o.imagePath = text(cl, "image-path");
    o.workPath = text(cl, "work-path");
    o.bundle = cl.vm["bundle"].as<std::string>();
    o.detach = cl.vm.count("detach") > 0;
    o.pidFile = text(cl, "pid-file");
    o.consoleSocket = text(cl, "console-socket");
    o.noPivot = cl.vm.count("no-pivot") > 0;
    o.noSubreaper = cl.vm.count("no-subreaper") > 0;
    o.tcpEstablished = cl.vm.count("tcp-established") > 0;
    o.fileLocks = cl.vm.count("file-locks") > 0;
    o.lsmProfile = text(cl, "lsm-profile");
    o.lsmMountContext = text(cl, "lsm-mount-context");
    o.emptyNs = strings(cl, "empty-ns");
    o.manageCgroupsMode = text(cl, "manage-cgroups-mode");
    return restoreContainer(g, g.criu, o);
}

}  // namespace caprun::cli
