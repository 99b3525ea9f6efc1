#include "global_options.hpp"

#include <algorithm>
#include <map>

namespace caprun {

namespace po = boost::program_options;

namespace {

po::options_description buildGlobalDescription() {
    po::options_description d("Global options (before the subcommand)", 110, 55);
    // clang-format off
    d.add_options()
        ("root", po::value<std::string>(), "state directory (default /run/caprun, or $XDG_RUNTIME_DIR/caprun when rootless)")
        ("log", po::value<std::string>(), "append log messages to this file (warnings go here instead of stderr; errors go to both)")
        ("log-format", po::value<std::string>(), "format of --log lines: text or json ({\"level\",\"msg\",\"time\"} per line)")
        ("debug", "also log debug messages")
        ("systemd-cgroup", "manage cgroups through systemd (an error when no systemd is running)")
        ("rootless", po::value<std::string>(), "rootless mode: true, false or auto (default auto: rootless when the euid is not 0 or when running in a user namespace that is not the initial one, as runc decides)")
        ("criu", po::value<std::string>(), "the CRIU binary checkpoint and restore run (default: criu on PATH)")
        ("cgroup-manager", po::value<std::string>(), "cgroup manager: cgroupfs, systemd or disabled (crun's option)")
        ("cap-policy", po::value<std::string>(), "what to do when the host cannot grant a requested capability: strict (fail) or lenient (drop it and warn); overrides the run.caprun.cap-policy annotation and $CAPRUN_CAP_POLICY")
        ("host-status", po::value<std::string>(), "check only: plan against the capability sets in this captured /proc/<pid>/status file instead of this host's")
        ("host-cap-last", po::value<std::string>(), "check only, with --host-status: the other host's cap_last_cap (default: highest bit set in its CapBnd)")
        ("help,h", "show this help")
        ("version,v", "print version information");
    // clang-format on
    return d;
}

// Read access to the values boost fills into an error's message template.
struct ErrorSubstitutions : po::error_with_option_name {
    static std::map<std::string, std::string> of(const po::error_with_option_name& e) {
        return e.*(&ErrorSubstitutions::m_substitutions);
    }
};

// e.what(), made safe: boost replaces each "%name%" of the template with its value and
// searches again from the start until none is left, so a value the user typed holding
// "%value%" (--preserve-fds %value%) loops forever. Its '%' are stood in for while boost
// formats and put back afterwards.
std::string optionErrorText(const po::error& e) {
    const auto* named = dynamic_cast<const po::error_with_option_name*>(&e);
    if (named == nullptr) return e.what();
    constexpr char kStandIn = '\x1f';
    po::error_with_option_name copy = *named;
    for (auto [name, value] : ErrorSubstitutions::of(copy)) {
        std::replace(value.begin(), value.end(), '%', kStandIn);
        copy.set_substitute(name, value);
    }
    std::string text = copy.what();
    std::replace(text.begin(), text.end(), kStandIn, '%');
    return text;
}

bool takesValue(const po::options_description& desc, const std::string& token) {
    // token is "--name" or "-n" (no '=' part).
    std::string key = token.rfind("--", 0) == 0 ? token.substr(2) : token;
    const po::option_description* o = desc.find_nothrow(key, false);
    return o != nullptr && o->semantic()->max_tokens() > 0;
}

std::string checkChoice(const std::string& option, const std::string& value,
                        std::initializer_list<const char*> allowed) {
    std::string list;
    for (const char* a : allowed) {
        if (value == a) return value;
        if (!list.empty()) list += ", ";
        list += a;
    }
    throw UsageError("invalid value \"" + value + "\" for --" + option + ": expected one of " +
                     list);
}

std::size_t editDistance(const std::string& a, const std::string& b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diag = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diag = up;
        }
    }
    return row[b.size()];
}

}  // namespace

std::string nearestName(const std::string& typed, const std::vector<std::string>& candidates) {
    std::string best;
    std::size_t bestDistance = 0;
    for (const auto& c : candidates) {
        const std::size_t d = editDistance(typed, c);
        if (best.empty() || d < bestDistance) {
            best = c;
            bestDistance = d;
        }
    }
    return bestDistance <= std::max<std::size_t>(2, typed.size() / 3) ? best : "";
}

std::string didYouMeanOption(const std::string& typed, const po::options_description& desc) {
    std::vector<std::string> names;
    for (const auto& o : desc.options())
        if (!o->long_name().empty()) names.push_back(o->long_name());
    std::string bare = typed;
    bare.erase(0, bare.find_first_not_of('-'));
    bare = bare.substr(0, bare.find('='));
    const std::string best = nearestName(bare, names);
    return best.empty() ? "" : ": did you mean --" + best + "?";
}

const po::options_description& globalOptionsDescription() {
    static const po::options_description d = buildGlobalDescription();
    return d;
}

void applyRootless(GlobalOptions& g, bool rootGiven, const RootlessFacts& facts) {
    const RootlessDecision d = decideRootless(g.rootless, facts);
    g.rootlessMode = d.rootless;
    g.rootlessReason = d.reason;
    if (rootGiven) return;
    try {
        g.root = defaultStateRootFor(d, facts);
    } catch (const Error& e) {
        g.root.clear();
        g.rootError = e.what();
    }
}

GlobalOptions parseGlobalOptions(const std::vector<std::string>& argv) {
    const auto& desc = globalOptionsDescription();
    std::vector<std::string> prefix;
    std::size_t i = 1;
    while (i < argv.size()) {
        const std::string& a = argv[i];
        if (a == "--") {
            ++i;
            break;
        }
        if (a.size() < 2 || a[0] != '-') break;
        prefix.push_back(a);
        if (a.find('=') == std::string::npos && takesValue(desc, a)) {
            if (i + 1 >= argv.size())
                throw UsageError("option " + a + " needs a value (see caprun --help)");
            prefix.push_back(argv[++i]);
        }
        ++i;
    }

    po::variables_map vm;
    try {
        po::store(
            po::command_line_parser(prefix)
                .options(desc)
                .style(po::command_line_style::unix_style & ~po::command_line_style::allow_guessing)
                .run(),
            vm);
        po::notify(vm);
    } catch (const po::unknown_option& e) {
        throw UsageError("unknown global option " + e.get_option_name() +
                         didYouMeanOption(e.get_option_name(), desc) + " (see caprun --help)");
    } catch (const po::error& e) {
        throw UsageError(optionErrorText(e) + " (see caprun --help)");
    }

    GlobalOptions g;
    g.help = vm.count("help") > 0;
    g.version = vm.count("version") > 0;
    g.debug = vm.count("debug") > 0;
    g.systemdCgroup = vm.count("systemd-cgroup") > 0;
    if (vm.count("root")) {
        g.root = vm["root"].as<std::string>();
        if (g.root.empty()) throw UsageError("--root must not be empty");
    }
    if (vm.count("log")) g.logFile = vm["log"].as<std::string>();
    if (vm.count("log-format"))
        g.logFormat = checkChoice("log-format", vm["log-format"].as<std::string>(),
                                  {"text", "json"}) == "json"
                          ? LogFormat::Json
                          : LogFormat::Text;
    if (vm.count("rootless"))
        g.rootless =
            checkChoice("rootless", vm["rootless"].as<std::string>(), {"true", "false", "auto"});
    applyRootless(g, vm.count("root") > 0, RootlessFacts::probe());
    if (vm.count("criu")) g.criu = vm["criu"].as<std::string>();
    if (vm.count("cgroup-manager")) {
        g.cgroupManager = checkChoice("cgroup-manager", vm["cgroup-manager"].as<std::string>(),
                                      {"cgroupfs", "systemd", "disabled"});
        if (g.cgroupManager == "systemd") g.systemdCgroup = true;
    }
    if (vm.count("cap-policy"))
        g.capPolicy =
            checkChoice("cap-policy", vm["cap-policy"].as<std::string>(), {"strict", "lenient"});
    if (vm.count("host-status")) g.hostStatus = vm["host-status"].as<std::string>();
    if (vm.count("host-cap-last")) {
        const std::string v = vm["host-cap-last"].as<std::string>();
        char* end = nullptr;
        long n = std::strtol(v.c_str(), &end, 10);
        if (v.empty() || *end != '\0' || n < 0 || n > 63)
            throw UsageError("invalid value \"" + v +
                             "\" for --host-cap-last: expected a number from 0 to 63");
        if (!g.hostStatus)
            throw UsageError("--host-cap-last is only meaningful with --host-status");
        g.hostCapLast = static_cast<int>(n);
    }

    if (i < argv.size()) {
        g.command = argv[i];
        g.commandArgs.assign(argv.begin() + static_cast<std::ptrdiff_t>(i) + 1, argv.end());
    }
    return g;
}

CommandLine parseCommandLine(const std::string& cmd, const std::vector<std::string>& args,
                             const po::options_description& desc, bool stopAtFirstPositionalAfter,
                             std::size_t fixedPositionals) {
    CommandLine out;
    std::vector<std::string> optionTokens;
    bool optionsEnded = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (!optionsEnded && stopAtFirstPositionalAfter &&
            out.positionals.size() >= fixedPositionals && fixedPositionals > 0) {
            optionsEnded = true;
        }
        if (optionsEnded || a.size() < 2 || a[0] != '-') {
            out.positionals.push_back(a);
            continue;
        }
        if (a == "--") {
            optionsEnded = true;
            continue;
        }
        optionTokens.push_back(a);
        if (a.find('=') == std::string::npos && takesValue(desc, a)) {
            if (i + 1 >= args.size())
                throw UsageError(cmd + ": option " + a + " needs a value (see caprun " + cmd +
                                 " --help)");
            optionTokens.push_back(args[++i]);
        }
    }
    try {
        po::store(
            po::command_line_parser(optionTokens)
                .options(desc)
                .style(po::command_line_style::unix_style & ~po::command_line_style::allow_guessing)
                .run(),
            out.vm);
        po::notify(out.vm);
    } catch (const po::unknown_option& e) {
        throw UsageError(cmd + ": unknown option " + e.get_option_name() +
                         didYouMeanOption(e.get_option_name(), desc) + " (see caprun " + cmd +
                         " --help)");
    } catch (const po::error& e) {
        throw UsageError(cmd + ": " + optionErrorText(e) + " (see caprun " + cmd + " --help)");
    }
    return out;
}

}  // namespace caprun
