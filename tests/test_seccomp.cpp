// Seccomp: gate resolution against granted capabilities, profile validation errors with
// JSON paths, and the compiled filter's real behaviour (argument comparisons, KILL_PROCESS,
// NOTIFY) checked in forked children that set no_new_privs, so no root is needed.
#include <doctest/doctest.h>

#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <rapidjson/document.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <functional>
#include <random>
#include <string>

#include "caprun/cap_plan.hpp"
#include "caprun/error.hpp"
#include "caprun/explain.hpp"
#include "caprun/seccomp_compile.hpp"
#include "caprun/seccomp_install.hpp"
#include "caprun/seccomp_profile.hpp"
#include "caprun/seccomp_report.hpp"
#include "caprun/seccomp_resolve.hpp"
#include "caprun/spec.hpp"

using namespace caprun;

namespace {

std::uint64_t capMask(std::initializer_list<int> caps) {
    std::uint64_t m = 0;
    for (int c : caps) m |= 1ULL << c;
    return m;
}

SelectedSeccomp profileFrom(const std::string& text, std::uint32_t nativeArch = 0) {
    SelectedSeccomp s;
    s.source.kind = SeccompSource::Kind::ProfileFile;
    s.source.path = "p.json";
    s.source.via = "--seccomp-profile";
    s.filter = parseSeccompProfile(text, "p.json", nativeArch);
    return s;
}

SelectedSeccomp builtinDefault(std::uint32_t nativeArch = 0) {
    Spec spec;
    return selectSeccomp(spec, std::string("default"), nativeArch);
}

SeccompHost hostWith(std::uint64_t mask, std::string kernel = "6.1.0") {
    SeccompHost h;
    h.grantedBounding = mask;
    h.kernelRelease = std::move(kernel);
    return h;
}

// Is `name` allowed without conditions by some rule that made it into the filter?
bool allowedOutright(const ResolvedSeccomp& r, const std::string& name) {
    for (const auto& rule : r.rules)
        if (rule.included && rule.action == "SCMP_ACT_ALLOW" && rule.args.empty() &&
            std::find(rule.names.begin(), rule.names.end(), name) != rule.names.end())
            return true;
    return false;
}

const ResolvedSeccompRule* ruleNaming(const ResolvedSeccomp& r, const std::string& name,
                                      bool included) {
    for (const auto& rule : r.rules)
        if (rule.included == included &&
            std::find(rule.names.begin(), rule.names.end(), name) != rule.names.end())
            return &rule;
    return nullptr;
}

std::string errorOf(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "(no error)";
}

std::string resolveError(const std::string& profile, bool strict = false) {
    return errorOf([&] {
        SeccompHost h = hostWith(0);
        h.strictUnknownSyscalls = strict;
        resolveSeccomp(profileFrom(profile), h);
    });
}

// Runs `body` in a forked child and returns its wait status. The child exits 0 when
// body returns true, 1 when false, 2 on an exception.
int inChild(const std::function<bool()>& body) {
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        int code = 2;
        try {
            code = body() ? 0 : 1;
        } catch (const std::exception& e) {
            fprintf(stderr, "child: %s\n", e.what());
        }
        _exit(code);
    }
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    return status;
}

bool exitedZero(int status) {
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

void installWithNoNewPrivs(const CompiledSeccomp& c) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) throwErrno("no_new_privs");
    installSeccomp(c);
}

// Result of getpriority(arg0, arg1) under a filter: true when the filter's rule (ERRNO 77)
// matched.
bool blocked(long a0, long a1 = 0) {
    errno = 0;
    long rc = syscall(SYS_getpriority, a0, a1);
    return rc == -1 && errno == 77;
}

}  // namespace

TEST_CASE("the built-in default profile loads and gates what the kernel checks") {
    SelectedSeccomp sel = builtinDefault();
    REQUIRE(sel.filter);
    CHECK(sel.source.kind == SeccompSource::Kind::BuiltinDefault);
    ResolvedSeccomp r = resolveSeccomp(sel, hostWith(0));
    CHECK(r.enabled);
    CHECK(r.defaultAction == "SCMP_ACT_ERRNO");
    CHECK(r.defaultErrnoRet == 1u);
    CHECK(allowedOutright(r, "read"));
    CHECK(allowedOutright(r, "execve"));
    CHECK(r.warnings.empty());

    // capability number, syscalls it (alone) unlocks.
    const std::vector<std::pair<int, std::vector<std::string>>> gates = {
        {CAP_SYS_ADMIN, {"mount", "umount2", "unshare", "setns", "sethostname", "setdomainname"}},
        {CAP_SYS_MODULE, {"init_module", "finit_module", "delete_module"}},
        {CAP_SYS_TIME, {"settimeofday", "clock_settime"}},
        {CAP_SYS_NICE, {"get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"}},
        {CAP_SYS_PTRACE,
         {"ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd"}},
        {CAP_SYS_BOOT, {"reboot"}},
        {CAP_SYS_CHROOT, {"chroot"}},
        {CAP_SYS_PACCT, {"acct"}},
        {CAP_SYS_RAWIO, {"iopl", "ioperm"}},
        {CAP_SYSLOG, {"syslog"}},
        {CAP_BPF, {"bpf"}},
        {CAP_PERFMON, {"perf_event_open"}},
        {CAP_DAC_READ_SEARCH, {"open_by_handle_at"}},
    };
    for (const auto& [cap, names] : gates) {
        ResolvedSeccomp with = resolveSeccomp(sel, hostWith(capMask({cap})));
        for (const auto& n : names) {
            CAPTURE(n);
            CHECK(!allowedOutright(r, n));
            CHECK(allowedOutright(with, n));
        }
    }
    // Either capability unlocks these.
    for (const auto& [cap, name] : std::vector<std::pair<int, std::string>>{
             {CAP_SYS_ADMIN, "bpf"}, {CAP_SYS_ADMIN, "perf_event_open"}, {CAP_SYS_ADMIN, "syslog"}})
        CHECK(allowedOutright(resolveSeccomp(sel, hostWith(capMask({cap}))), name));
}

TEST_CASE("default profile: clone with namespace flags and clone3 depend on CAP_SYS_ADMIN") {
    SelectedSeccomp sel = builtinDefault(SCMP_ARCH_X86_64);
    SeccompHost h = hostWith(0);
    h.nativeArch = SCMP_ARCH_X86_64;
    ResolvedSeccomp without = resolveSeccomp(sel, h);
    CHECK(!allowedOutright(without, "clone"));
    const auto* masked = ruleNaming(without, "clone", true);
    REQUIRE(masked);
    REQUIRE(masked->args.size() == 1);
    CHECK(masked->args[0].op == "SCMP_CMP_MASKED_EQ");
    CHECK(masked->args[0].index == 0);
    CHECK(masked->args[0].value == 0x7e020000u);
    const auto* clone3 = ruleNaming(without, "clone3", true);
    REQUIRE(clone3);
    CHECK(clone3->action == "SCMP_ACT_ERRNO");
    CHECK(clone3->errnoRet == 38u);  // ENOSYS: libc falls back to clone

    h.grantedBounding = capMask({CAP_SYS_ADMIN});
    ResolvedSeccomp with = resolveSeccomp(sel, h);
    CHECK(allowedOutright(with, "clone"));
    CHECK(allowedOutright(with, "clone3"));
    CHECK(ruleNaming(with, "clone3", false)->reason.find("CAP_SYS_ADMIN granted") !=
          std::string::npos);
}

TEST_CASE("gate resolution over many capability sets") {
    SelectedSeccomp sel = builtinDefault();
    // For each syscall: the capabilities any one of which allows it.
    const std::vector<std::pair<std::string, std::vector<int>>> table = {
        {"get_mempolicy", {CAP_SYS_NICE}},
        {"delete_module", {CAP_SYS_MODULE}},
        {"settimeofday", {CAP_SYS_TIME}},
        {"ptrace", {CAP_SYS_PTRACE}},
        {"mount", {CAP_SYS_ADMIN}},
        {"bpf", {CAP_BPF, CAP_SYS_ADMIN}},
        {"perf_event_open", {CAP_PERFMON, CAP_SYS_ADMIN}},
        {"syslog", {CAP_SYSLOG, CAP_SYS_ADMIN}},
        {"reboot", {CAP_SYS_BOOT}},
        {"open_by_handle_at", {CAP_DAC_READ_SEARCH}},
        {"vhangup", {CAP_SYS_TTY_CONFIG}},
    };
    std::mt19937_64 rng(20261122);
    for (int round = 0; round < 200; ++round) {
        std::uint64_t mask = rng() & ((1ULL << (CAP_LAST_CAP + 1)) - 1);
        if (round == 0) mask = 0;
        if (round == 1) mask = (1ULL << (CAP_LAST_CAP + 1)) - 1;
        ResolvedSeccomp r = resolveSeccomp(sel, hostWith(mask));
        for (const auto& [name, caps] : table) {
            bool expect =
                std::any_of(caps.begin(), caps.end(), [&](int c) { return (mask >> c) & 1; });
            CAPTURE(name);
            CAPTURE(mask);
            CHECK(allowedOutright(r, name) == expect);
            // When denied, each of its capabilities lists it as staying denied; when allowed,
            // none does.
            for (int c : caps) {
                char* capName = cap_to_name(static_cast<cap_value_t>(c));
                auto denied = syscallsDeniedWithout(r, capName);
                cap_free(capName);
                CHECK((std::find(denied.begin(), denied.end(), name) != denied.end()) == !expect);
            }
        }
    }
}

TEST_CASE("a dropped capability: reasons and the syscalls that stay denied") {
    SeccompHost h = hostWith(capMask({CAP_CHOWN}));
    h.capDropReasons[CAP_SYS_NICE] = "not in host bounding set";
    ResolvedSeccomp r = resolveSeccomp(builtinDefault(), h);
    const auto* rule = ruleNaming(r, "get_mempolicy", false);
    REQUIRE(rule);
    CHECK(rule->reason ==
          "allowed only with CAP_SYS_NICE — not granted (dropped: not in host bounding set)");
    REQUIRE(rule->capGates.size() == 1);
    CHECK(rule->capGates[0].cap == "CAP_SYS_NICE");
    CHECK(!rule->capGates[0].granted);
    auto denied = syscallsDeniedWithout(r, "sys_nice");
    for (const char* n : {"get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"})
        CHECK(std::find(denied.begin(), denied.end(), n) != denied.end());
    // Not requested at all reads differently.
    CHECK(ruleNaming(r, "delete_module", false)->reason ==
          "allowed only with CAP_SYS_MODULE — not granted (not requested)");
    // bpf stays denied under CAP_BPF only while CAP_SYS_ADMIN is missing too.
    CHECK(!syscallsDeniedWithout(r, "CAP_BPF").empty());
    ResolvedSeccomp admin = resolveSeccomp(builtinDefault(), hostWith(capMask({CAP_SYS_ADMIN})));
    auto bpfDenied = syscallsDeniedWithout(admin, "CAP_BPF");
    CHECK(std::find(bpfDenied.begin(), bpfDenied.end(), "bpf") == bpfDenied.end());

    std::string text = renderSeccompText(r);
    CHECK(text.find("get_mempolicy, mbind, set_mempolicy, set_mempolicy_home_node, migrate_pages, "
                    "move_pages: allowed only with CAP_SYS_NICE — not granted (dropped: not in "
                    "host bounding set)") != std::string::npos);
    CHECK(text.find("default action: SCMP_ACT_ERRNO (EPERM)") != std::string::npos);

    rapidjson::Document doc;
    std::string js = renderSeccompJson(r);
    REQUIRE(!doc.Parse(js.c_str()).HasParseError());
    CHECK(std::string(doc["defaultAction"].GetString()) == "SCMP_ACT_ERRNO");
    CHECK(doc["ruleCount"].GetUint64() == r.rules.size());
    CHECK(doc["deniedWithoutCapability"].HasMember("CAP_SYS_NICE"));
    bool found = false;
    for (const auto& rule : doc["rules"].GetArray())
        if (std::string(rule["names"][0].GetString()) == "get_mempolicy") {
            found = true;
            CHECK(!rule["included"].GetBool());
            CHECK(std::string(rule["capabilities"][0]["why"].GetString()) ==
                  "dropped: not in host bounding set");
        }
    CHECK(found);
}

TEST_CASE("includes/excludes: arches, minKernel and caps") {
    const std::string p = R"({"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
      {"names":["arch_prctl"],"action":"SCMP_ACT_ALLOW","includes":{"arches":["amd64"]}},
      {"names":["set_tls"],"action":"SCMP_ACT_ALLOW","includes":{"arches":["arm64"]}},
      {"names":["getcpu"],"action":"SCMP_ACT_ALLOW","excludes":{"arches":["x86_64"]}},
      {"names":["getpid"],"action":"SCMP_ACT_ALLOW","includes":{"minKernel":"5.10"}},
      {"names":["gettid"],"action":"SCMP_ACT_ALLOW","excludes":{"minKernel":"5.10"}},
      {"names":["mount"],"action":"SCMP_ACT_ALLOW","includes":{"caps":["CAP_SYS_ADMIN","CAP_NET_ADMIN"]}},
      {"names":["uname"],"action":"SCMP_ACT_ALLOW","excludes":{"caps":["CAP_SYS_ADMIN","CAP_NET_ADMIN"]}}
    ]})";
    auto resolve = [&](std::uint32_t arch, const std::string& kernel, std::uint64_t mask) {
        SeccompHost h = hostWith(mask, kernel);
        h.nativeArch = arch;
        return resolveSeccomp(profileFrom(p, arch), h);
    };
    ResolvedSeccomp x = resolve(SCMP_ARCH_X86_64, "5.4.0-150-generic", 0);
    CHECK(x.rules[0].included);
    CHECK(!x.rules[1].included);
    CHECK(x.rules[1].reason == "only on arm64 (this is x86_64)");
    CHECK(!x.rules[2].included);
    CHECK(!x.rules[3].included);
    CHECK(x.rules[3].reason == "only on kernel 5.10 or later (running 5.4.0-150-generic)");
    CHECK(x.rules[4].included);
    CHECK(!x.rules[5].included);
    CHECK(x.rules[6].included);

    ResolvedSeccomp a = resolve(SCMP_ARCH_AARCH64, "6.6.0", capMask({CAP_SYS_ADMIN}));
    CHECK(!a.rules[0].included);
    CHECK(a.rules[1].included);
    CHECK(a.rules[2].included);
    CHECK(a.rules[3].included);
    CHECK(!a.rules[4].included);
    CHECK(!a.rules[5].included);  // includes.caps: all must be granted
    CHECK(a.rules[5].reason.find("CAP_NET_ADMIN not granted (not requested)") != std::string::npos);
    CHECK(!a.rules[6].included);  // excludes.caps: any granted drops it
    CHECK(a.architectures == std::vector<std::string>{"SCMP_ARCH_AARCH64"});

    ResolvedSeccomp both =
        resolve(SCMP_ARCH_AARCH64, "6.6.0", capMask({CAP_SYS_ADMIN, CAP_NET_ADMIN}));
    CHECK(both.rules[5].included);
}

TEST_CASE("archMap picks the native architecture and its sub-architectures") {
    const std::string p = R"({"defaultAction":"SCMP_ACT_ERRNO","archMap":[
      {"architecture":"SCMP_ARCH_X86_64","subArchitectures":["SCMP_ARCH_X86","SCMP_ARCH_X32"]},
      {"architecture":"SCMP_ARCH_AARCH64","subArchitectures":["SCMP_ARCH_ARM"]}],"syscalls":[]})";
    CHECK(parseSeccompProfile(p, "p", SCMP_ARCH_X86_64).architectures ==
          std::vector<std::string>{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"});
    CHECK(parseSeccompProfile(p, "p", SCMP_ARCH_AARCH64).architectures ==
          std::vector<std::string>{"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"});
    CHECK(
        errorOf([] {
            parseSeccompProfile(
                R"({"defaultAction":"SCMP_ACT_ALLOW","archMap":[{"architecture":"SCMP_ARCH_VAX"}]})",
                "p.json");
        }) == "p.json: archMap[0].architecture: unknown architecture \"SCMP_ARCH_VAX\"");
}

TEST_CASE("profile and filter errors name the JSON path") {
    CHECK(
        resolveError(R"({"defaultAction":"SCMP_ACT_DENY"})")
            .find(
                "p.json: defaultAction: unknown seccomp action \"SCMP_ACT_DENY\"; expected one of "
                "SCMP_ACT_KILL, ") == 0);
    CHECK(resolveError(R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
        {"names":["read"],"action":"SCMP_ACT_ERRNO"},{"names":["mount"],"action":"SCMP_ACT_BLOCK"}]})")
              .find("p.json: syscalls[1].action: unknown seccomp action \"SCMP_ACT_BLOCK\"") == 0);
    CHECK(resolveError(R"({"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
        {"names":["read","write"],"action":"SCMP_ACT_ALLOW","errnoRet":5}]})") ==
          "p.json: syscalls[0].action: errnoRet 5 is set on rule syscalls[0] (read, write) whose "
          "action SCMP_ACT_ALLOW takes no errno (only SCMP_ACT_ERRNO and SCMP_ACT_TRACE do)");
    CHECK(resolveError(R"({"defaultAction":"SCMP_ACT_KILL","defaultErrnoRet":1})")
              .find("p.json: defaultAction: defaultErrnoRet 1 is set on the default action") == 0);
    CHECK(
        resolveError(
            R"({"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_Z80"]})")
            .find("p.json: architectures[1]: unknown architecture \"SCMP_ARCH_Z80\"") == 0);
    CHECK(
        resolveError(
            R"({"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_LOG","SECCOMP_FILTER_FLAG_FAST"]})")
            .find("p.json: flags[1]: unknown seccomp flag \"SECCOMP_FILTER_FLAG_FAST\"") == 0);
    CHECK(
        resolveError(
            R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO",
        "args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ"},{"index":6,"value":1,"op":"SCMP_CMP_EQ"}]}]})") ==
        "p.json: syscalls[0].args[1].index: argument index 6 is out of range; syscalls have "
        "arguments 0 to 5");
    CHECK(
        resolveError(
            R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO",
        "args":[{"index":0,"value":1,"op":"SCMP_CMP_APPROX"}]}]})")
            .find("p.json: syscalls[0].args[0].op: unknown comparison \"SCMP_CMP_APPROX\"") == 0);
    CHECK(resolveError(R"({"defaultAction":"SCMP_ACT_NOTIFY","listenerPath":"/run/a.sock"})")
              .find("p.json: defaultAction: SCMP_ACT_NOTIFY cannot be the default action") == 0);
    CHECK(
        resolveError(R"({"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"/run/a.sock","syscalls":[
        {"names":["read"],"action":"SCMP_ACT_ERRNO"},{"names":["openat","write"],"action":"SCMP_ACT_NOTIFY"}]})")
            .find("p.json: syscalls[1].names: SCMP_ACT_NOTIFY on write is refused") == 0);
    CHECK(
        resolveError(
            R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["openat"],"action":"SCMP_ACT_NOTIFY"}]})") ==
        "p.json: syscalls[0].action: SCMP_ACT_NOTIFY needs listenerPath (the unix socket of "
        "the seccomp agent)");
    CHECK(
        resolveError(
            R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO",
        "includes":{"minKernel":"new"}}]})")
            .find("p.json: syscalls[0].includes.minKernel: minKernel \"new\" is not of the form "
                  "X.Y") == 0);
    // Malformed JSON types come from the shared parser, with the path.
    CHECK(
        resolveError(
            R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO",
        "args":[{"index":"zero","value":1,"op":"SCMP_CMP_EQ"}]}]})")
            .find("syscalls[0].args[0].index") != std::string::npos);
}

TEST_CASE("config.json's linux.seccomp: paths, includes on rules, and a profile replacing it") {
    Spec spec = parseSpec(R"({"ociVersion":"1.1.0","root":{"path":"rootfs"},
      "linux":{"seccomp":{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
        {"names":["mount"],"action":"SCMP_ACT_ERRNO","excludes":{"caps":["CAP_SYS_ADMIN"]}},
        {"names":["read"],"action":"SCMP_ACT_KILL","errnoRet":3}]}}})");
    SelectedSeccomp sel = selectSeccomp(spec, std::nullopt);
    CHECK(sel.source.kind == SeccompSource::Kind::ConfigJson);
    CHECK(errorOf([&] { resolveSeccomp(sel, hostWith(0)); })
              .find("config.json: linux.seccomp.syscalls[1].action: errnoRet 3 is set on rule "
                    "linux.seccomp.syscalls[1] (read)") == 0);

    spec.linux->seccomp->syscalls.pop_back();
    sel = selectSeccomp(spec, std::nullopt);
    CHECK(resolveSeccomp(sel, hostWith(0)).rules[0].included);
    CHECK(!resolveSeccomp(sel, hostWith(capMask({CAP_SYS_ADMIN}))).rules[0].included);

    // The annotation selects a profile; the option wins over the annotation.
    spec.annotations[kSeccompProfileAnnotation] = "default";
    sel = selectSeccomp(spec, std::nullopt);
    CHECK(sel.source.kind == SeccompSource::Kind::BuiltinDefault);
    CHECK(sel.source.via == "annotation run.caprun.seccomp-profile");
    CHECK(sel.filter->defaultAction == "SCMP_ACT_ERRNO");
    sel = selectSeccomp(spec, std::string("unconfined"));
    CHECK(sel.source.kind == SeccompSource::Kind::None);
    CHECK(!sel.filter);
    CHECK(!resolveSeccomp(sel, hostWith(0)).enabled);
    CHECK(errorOf([&] {
              selectSeccomp(spec, std::string("/nonexistent/profile.json"));
          }).find("loading the seccomp profile from --seccomp-profile: ") == 0);
}

TEST_CASE("unknown syscall names: warning under lenient policy, error under strict") {
    const std::string p = R"({"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
      {"names":["read","no_such_call"],"action":"SCMP_ACT_ALLOW"},
      {"names":["also_not_a_syscall"],"action":"SCMP_ACT_ALLOW"}]})";
    ResolvedSeccomp r = resolveSeccomp(profileFrom(p), hostWith(0));
    REQUIRE(r.warnings.size() == 1);
    CHECK(r.warnings[0].find("no_such_call (syscalls[0]), also_not_a_syscall (syscalls[1])") !=
          std::string::npos);
    CHECK(r.rules[0].unknownNames == std::vector<std::string>{"no_such_call"});
    CompiledSeccomp c = compileSeccomp(r);  // the known names still compile
    CHECK(!c.bpf.empty());
    std::string strict = resolveError(p, true);
    CHECK(strict.find("p.json: syscall names unknown to libseccomp") == 0);
    CHECK(strict.find("no_such_call (syscalls[0])") != std::string::npos);
}

TEST_CASE("rules equal to the default action are skipped; WAIT_KILLABLE_RECV needs NOTIFY") {
    ResolvedSeccomp r = resolveSeccomp(profileFrom(R"({"defaultAction":"SCMP_ACT_ERRNO",
      "defaultErrnoRet":1,"flags":["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV","SECCOMP_FILTER_FLAG_LOG"],
      "syscalls":[{"names":["mount"],"action":"SCMP_ACT_ERRNO","errnoRet":1},
                  {"names":["umount2"],"action":"SCMP_ACT_ERRNO","errnoRet":2},
                  {"names":["read"],"action":"SCMP_ACT_ALLOW"}]})"),
                                       hostWith(0));
    CHECK(!r.rules[0].included);
    CHECK(r.rules[0].reason.find("same action as the default") == 0);
    CHECK(r.rules[1].included);
    CHECK(r.flagBits == SECCOMP_FILTER_FLAG_LOG);
    REQUIRE(r.warnings.size() == 1);
    CHECK(r.warnings[0].find("WAIT_KILLABLE_RECV") != std::string::npos);
    CHECK(!compileSeccomp(r).bpf.empty());  // libseccomp would refuse the duplicate-default rule
}

TEST_CASE("argument comparisons behave as written in the installed filter") {
    // getpriority(a0, a1) fails with errno 77 when the rule matches; otherwise it runs.
    auto filterWith = [](const std::string& args) {
        return compileSeccomp(resolveSeccomp(
            profileFrom(R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getpriority"],
                "action":"SCMP_ACT_ERRNO","errnoRet":77,"args":[)" +
                        args + "]}]}"),
            hostWith(0)));
    };
    struct Case {
        const char* args;
        std::vector<std::pair<long, bool>> expect;  // a0 -> blocked
    };
    const std::vector<Case> cases = {
        {R"({"index":0,"value":5,"op":"SCMP_CMP_EQ"})", {{5, true}, {4, false}, {6, false}}},
        {R"({"index":0,"value":5,"op":"SCMP_CMP_NE"})", {{5, false}, {4, true}, {6, true}}},
        {R"({"index":0,"value":5,"op":"SCMP_CMP_LT"})", {{4, true}, {5, false}, {6, false}}},
        {R"({"index":0,"value":5,"op":"SCMP_CMP_LE"})", {{4, true}, {5, true}, {6, false}}},
        {R"({"index":0,"value":5,"op":"SCMP_CMP_GT"})", {{4, false}, {5, false}, {6, true}}},
        {R"({"index":0,"value":5,"op":"SCMP_CMP_GE"})", {{4, false}, {5, true}, {6, true}}},
        // (a0 & 0xf0) == 0x20
        {R"({"index":0,"value":240,"valueTwo":32,"op":"SCMP_CMP_MASKED_EQ"})",
         {{0x20, true}, {0x2f, true}, {0x30, false}, {0x120, true}}},
        // two conditions on the same argument: either one applies the rule
        {R"({"index":0,"value":3,"op":"SCMP_CMP_EQ"},{"index":0,"value":9,"op":"SCMP_CMP_EQ"})",
         {{3, true}, {9, true}, {4, false}}},
    };
    for (const auto& c : cases) {
        CAPTURE(c.args);
        CompiledSeccomp f = filterWith(c.args);
        int status = inChild([&] {
            installWithNoNewPrivs(f);
            for (const auto& [a0, want] : c.expect)
                if (blocked(a0) != want) return false;
            return true;
        });
        CHECK(exitedZero(status));
    }
    // Conditions on different arguments must all hold.
    CompiledSeccomp both = filterWith(
        R"({"index":0,"value":1,"op":"SCMP_CMP_EQ"},{"index":1,"value":2,"op":"SCMP_CMP_EQ"})");
    CHECK(exitedZero(inChild([&] {
        installWithNoNewPrivs(both);
        return blocked(1, 2) && !blocked(1, 3) && !blocked(0, 2);
    })));
}

TEST_CASE("the default profile denies gated syscalls in a real process") {
    auto compiled = [](std::uint64_t mask) {
        return compileSeccomp(resolveSeccomp(builtinDefault(), hostWith(mask)));
    };
    CompiledSeccomp none = compiled(0);
    CompiledSeccomp nice = compiled(capMask({CAP_SYS_NICE}));
    auto mempolicyErrno = [](const CompiledSeccomp& c) {
        return inChild([&] {
            installWithNoNewPrivs(c);
            int mode = 0;
            errno = 0;
            long rc = syscall(SYS_get_mempolicy, &mode, nullptr, 0, nullptr, 0);
            // Exit status reports the outcome: 0 = worked, 1 = EPERM.
            if (rc == 0) return true;
            if (errno == EPERM) return false;
            throw Error("get_mempolicy: " + errnoText(errno));
        });
    };
    int s = mempolicyErrno(none);
    CHECK((WIFEXITED(s) && WEXITSTATUS(s) == 1));
    CHECK(exitedZero(mempolicyErrno(nice)));
    // Ordinary work still runs under the filter: fork, pipes, files.
    CHECK(exitedZero(inChild([&] {
        installWithNoNewPrivs(none);
        int p[2];
        if (pipe2(p, O_CLOEXEC) != 0) return false;
        pid_t pid = fork();
        if (pid == 0) _exit(write(p[1], "x", 1) == 1 ? 0 : 1);
        int st = 0;
        char ch = 0;
        return waitpid(pid, &st, 0) == pid && exitedZero(st) && read(p[0], &ch, 1) == 1 &&
               syscall(SYS_delete_module, "nothing", 0) == -1 && errno == EPERM;
    })));
}

TEST_CASE("SCMP_ACT_KILL_PROCESS kills with SIGSYS") {
    CompiledSeccomp c = compileSeccomp(resolveSeccomp(
        profileFrom(
            R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getppid"],"action":"SCMP_ACT_KILL_PROCESS"}]})"),
        hostWith(0)));
    int status = inChild([&] {
        installWithNoNewPrivs(c);
        syscall(SYS_getppid);
        return true;
    });
    CHECK(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGSYS);
}

TEST_CASE("SCMP_ACT_NOTIFY: the listener fd and the state reach the agent") {
    std::string dir =
        std::filesystem::temp_directory_path() / ("caprun-notify-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    std::string sockPath = dir + "/agent.sock";
    int agent = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(agent >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, sockPath.c_str(), sizeof(addr.sun_path) - 1);
    REQUIRE(bind(agent, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    REQUIRE(listen(agent, 1) == 0);

    ResolvedSeccomp r = resolveSeccomp(
        profileFrom(R"({"defaultAction":"SCMP_ACT_ALLOW","listenerPath":")" + sockPath +
                    R"(","listenerMetadata":"meta=1","flags":["SECCOMP_FILTER_FLAG_TSYNC"],
          "syscalls":[{"names":["getppid"],"action":"SCMP_ACT_NOTIFY"}]})"),
        hostWith(0));
    CHECK(r.usesNotify);
    CompiledSeccomp c = compileSeccomp(r);
    CHECK((c.flagBits & SECCOMP_FILTER_FLAG_NEW_LISTENER) != 0);

    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        int code = 3;
        try {
            if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(4);
            int fd = installSeccomp(c);
            if (fd < 0) _exit(5);
            sendSeccompListener(
                c.listenerPath, fd,
                seccompListenerMessage(getpid(), c.listenerMetadata, R"({"status":"creating"})"));
            close(fd);
            // The agent answers this one with 4242.
            code = syscall(SYS_getppid) == 4242 ? 0 : 1;
        } catch (const std::exception& e) {
            fprintf(stderr, "child: %s\n", e.what());
        }
        _exit(code);
    }
    int conn = accept4(agent, nullptr, nullptr, SOCK_CLOEXEC);
    REQUIRE(conn >= 0);
    char buf[4096] = {};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    iovec iov{buf, sizeof(buf) - 1};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    ssize_t n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
    REQUIRE(n > 0);
    cmsghdr* cm = CMSG_FIRSTHDR(&msg);
    REQUIRE(cm);
    CHECK(cm->cmsg_type == SCM_RIGHTS);
    int listener = -1;
    std::memcpy(&listener, CMSG_DATA(cm), sizeof(int));
    rapidjson::Document doc;
    REQUIRE(!doc.Parse(buf).HasParseError());
    CHECK(std::string(doc["fds"][0].GetString()) == "seccompFd");
    CHECK(doc["pid"].GetInt() == pid);
    CHECK(std::string(doc["metadata"].GetString()) == "meta=1");
    CHECK(std::string(doc["state"]["status"].GetString()) == "creating");
    CHECK(doc.HasMember("ociVersion"));

    // Act as the agent: receive the notification and make getppid return 4242.
    seccomp_notif req{};
    REQUIRE(ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req) == 0);
    CHECK(req.pid == static_cast<__u32>(pid));
    seccomp_notif_resp resp{};
    resp.id = req.id;
    resp.val = 4242;
    REQUIRE(ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) == 0);
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(exitedZero(status));
    close(listener);
    close(conn);
    close(agent);
    std::filesystem::remove_all(dir);
}

TEST_CASE(
    "lenient drop of CAP_SYS_NICE: the plan's bounding set gates the filter and the warning names "
    "the syscalls") {
    Spec spec = parseSpec(R"({"ociVersion":"1.1.0","root":{"path":"rootfs"},
      "process":{"user":{"uid":0,"gid":0},"args":["/probe"],"cwd":"/",
        "capabilities":{"bounding":["CAP_KILL","CAP_SYS_NICE"],"effective":["CAP_KILL","CAP_SYS_NICE"],
                        "permitted":["CAP_KILL","CAP_SYS_NICE"]}}})");
    HostFacts host;
    host.capLastCap = 40;
    host.kernelRelease = "6.1.0";
    const CapMask all = capsUpTo(40);
    host.caps.bounding = host.caps.permitted = host.caps.effective = all & ~capBit(CAP_SYS_NICE);
    PolicyChoice lenient;
    CapabilityPlan plan = planCapabilities(spec, host, lenient, ExecutableInfo{});
    REQUIRE(plan.dropped.size() == 1);

    SeccompHost sh = seccompHostFor(plan);
    CHECK(sh.grantedBounding == capBit(CAP_KILL));
    CHECK(sh.capDropReasons.at(CAP_SYS_NICE) == "not in host bounding set");
    CHECK(sh.kernelRelease == "6.1.0");
    CHECK(!sh.strictUnknownSyscalls);
    SeccompPlan sp = planSeccomp(spec, std::string("default"), sh, "");
    std::string warning = plan.shortfallMessage(
        [&](const CapDrop& d) { return capDropNote(plan, sp.deniedWithoutCap, d); });
    CHECK(warning.find("CAP_SYS_NICE") != std::string::npos);
    CHECK(warning.find("seccomp keeps get_mempolicy, mbind, set_mempolicy, "
                       "set_mempolicy_home_node, migrate_pages, move_pages denied without it") !=
          std::string::npos);
    ResolvedSeccomp r = resolveSeccomp(selectSeccomp(spec, std::string("default")), sh);
    CHECK(ruleNaming(r, "get_mempolicy", false)->reason ==
          "allowed only with CAP_SYS_NICE — not granted (dropped: not in host bounding set)");

    // Strict policy carries over to unknown syscall names.
    PolicyChoice strict;
    strict.policy = CapPolicy::Strict;
    CHECK(seccompHostFor(planCapabilities(spec, host, strict, ExecutableInfo{}))
              .strictUnknownSyscalls);
}
