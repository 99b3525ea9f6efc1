#include "caprun/init.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/openat2.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "caprun/console.hpp"
#include "caprun/error.hpp"
#include "caprun/host_facts.hpp"
#include "caprun/keyring.hpp"
#include "caprun/rootfs.hpp"

namespace caprun {

namespace {

void writeFile(const std::string& path, const std::string& value, const std::string& what) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_TRUNC);
    if (fd < 0) throwErrno(what + ": opening " + path);
    ssize_t n = ::write(fd, value.data(), value.size());
    int err = errno;
    ::close(fd);
    if (n < 0) throwSys(what + ": writing \"" + value + "\" to " + path, err);
}

std::string rlimitName(int r) {
    for (const auto& [name, num] : rlimitNumbers())
        if (num == r) return name;
    return "rlimit " + std::to_string(r);
}

std::string envValue(const std::vector<std::string>& env, const std::string& key) {
    for (const auto& e : env)
        if (e.size() > key.size() && e.compare(0, key.size(), key) == 0 && e[key.size()] == '=')
            return e.substr(key.size() + 1);
    return {};
}

bool isExecutableFile(const std::string& path, int* err) {
    struct stat st {};
    if (::stat(path.c_str(), &st) < 0) {
        *err = errno;
        return false;
    }
    if (S_ISDIR(st.st_mode)) {
        *err = EISDIR;
        return false;
    }
    if (::access(path.c_str(), X_OK) < 0) {
        *err = errno;
        return false;
    }
    return true;
}

// /etc/passwd of the current root (the container's, after the root switch), resolved inside
// it; empty when missing, unreadable, not a regular file or implausibly large.
std::string readContainerPasswd() {
    constexpr off_t kMaxPasswd = 16 << 20;
    int root = ::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0) return {};
    open_how how{};
    how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    int fd = static_cast<int>(::syscall(SYS_openat2, root, "etc/passwd", &how, sizeof how));
    ::close(root);
    if (fd < 0) return {};
    std::string out;
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= kMaxPasswd) {
        char buf[8192];
        ssize_t n;
        while ((n = ::read(fd, buf, sizeof buf)) > 0 &&
               out.size() + static_cast<std::size_t>(n) <= static_cast<std::size_t>(kMaxPasswd))
            out.append(buf, static_cast<std::size_t>(n));
        if (n < 0) out.clear();
    }
    ::close(fd);
    return out;
}

}  // namespace

std::string homeFromPasswd(std::string_view passwd, std::uint32_t uid) {
    std::size_t pos = 0;
    while (pos < passwd.size()) {
        std::size_t end = passwd.find('\n', pos);
        if (end == std::string_view::npos) end = passwd.size();
        std::string_view line = passwd.substr(pos, end - pos);
        pos = end + 1;
        // name:password:uid:gid:gecos:home:shell
        std::string_view fields[7];
        std::size_t n = 0, start = 0;
        for (; n < 7; ++n) {
            std::size_t colon = line.find(':', start);
            fields[n] = line.substr(start, colon == std::string_view::npos ? colon : colon - start);
            if (colon == std::string_view::npos) {
                ++n;
                break;
            }
            start = colon + 1;
        }
        if (n < 6 || fields[2].empty() || fields[2].size() > 10) continue;
        std::uint64_t value = 0;
        bool digits = true;
        for (char c : fields[2]) {
            if (c < '0' || c > '9') {
                digits = false;
                break;
            }
            value = value * 10 + static_cast<std::uint64_t>(c - '0');
        }
        if (!digits || value != uid) continue;
        return fields[5].empty() ? "/" : std::string(fields[5]);
    }
    return "/";
}

std::string findExecutable(const std::vector<std::string>& args,
                           const std::vector<std::string>& env) {
    if (args.empty() || args[0].empty()) throw Error("process.args is empty: nothing to run");
    const std::string& name = args[0];
    int err = 0;
    if (name.find('/') != std::string::npos) {
        if (!isExecutableFile(name, &err)) throwSys("exec: \"" + name + "\" in the container", err);
        return name;
    }
    std::string path = envValue(env, "PATH");
    if (path.empty()) path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    std::size_t start = 0;
    while (start <= path.size()) {
        std::size_t end = path.find(':', start);
        if (end == std::string::npos) end = path.size();
        std::string dir = end > start ? path.substr(start, end - start) : std::string(1, '.');
        std::string candidate = dir + "/" + name;
        if (isExecutableFile(candidate, &err)) return candidate;
        start = end + 1;
    }
    throw Error("exec: \"" + name + "\": executable file not found in $PATH (" + path + ")");
}

std::string prepareProcess(ProcessSetup& p) {
    // As runc: without HOME in process.env, the uid's home in the container's /etc/passwd.
    if (std::none_of(p.env.begin(), p.env.end(),
                     [](const std::string& e) { return e.rfind("HOME=", 0) == 0; }))
        p.env.push_back("HOME=" + homeFromPasswd(readContainerPasswd(), p.uid));
    if (!p.sessionKeyring.empty()) joinSessionKeyring(p.sessionKeyring, p.userNamespace);
    if (p.hostname && ::sethostname(p.hostname->data(), p.hostname->size()) < 0)
        throwErrno("setting the hostname \"" + *p.hostname + "\"");
    if (p.domainname && ::setdomainname(p.domainname->data(), p.domainname->size()) < 0)
        throwErrno("setting the domainname \"" + *p.domainname + "\"");
    if (p.terminalSlave >= 0) {
        int r = makeControllingTerminal(p.terminalSlave);
        if (r < 0) throwSys("making the pty the controlling terminal", -r);
        if (p.terminalSlave > 2) ::close(p.terminalSlave);
    }
    if (p.oomScoreAdj)
        writeFile("/proc/self/oom_score_adj", std::to_string(*p.oomScoreAdj),
                  "setting process.oomScoreAdj");
    for (const auto& [res, lim] : p.rlimits) {
        if (::setrlimit(res, &lim) < 0)
            throwErrno(std::string("setting ") + rlimitName(res) + " to soft " +
                       std::to_string(lim.rlim_cur) + " hard " + std::to_string(lim.rlim_max));
    }
    {
        // Created as root before the user switch; resolved inside the root.
        int root = ::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root < 0) throwErrno("opening / to create process.cwd");
        try {
            int fd = openInRoot(root, p.cwd, CreateMissing::Directory);
            ::close(fd);
        } catch (...) {
            ::close(root);
            throw;
        }
        ::close(root);
    }
    if (p.umask) ::umask(*p.umask);
    applyEarlyProcessAttrs(p.attrs, systemProcessAttrOps());
    if (p.noNewPrivileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        throwErrno("setting no_new_privileges");
    std::function<void()> earlySeccomp = [] {};
    if (p.installSeccomp && (!p.noNewPrivileges || p.seccompNotify))
        earlySeccomp = p.installSeccomp;
    if (p.applyCredentials)
        p.applyCredentials(earlySeccomp);
    else
        earlySeccomp();
    if (::chdir(p.cwd.c_str()) < 0) throwErrno("entering process.cwd " + p.cwd);
    return findExecutable(p.args, p.env);
}

void markFdsCloseOnExec(int first) {
    if (::syscall(SYS_close_range, static_cast<unsigned>(first), ~0U, CLOSE_RANGE_CLOEXEC) == 0)
        return;
    DIR* d = ::opendir("/proc/self/fd");
    if (!d) throwErrno("listing /proc/self/fd to close the runtime's fds");
    int self = ::dirfd(d);
    while (auto* e = ::readdir(d)) {
        int fd = std::atoi(e->d_name);
        if (e->d_name[0] == '.' || fd < first || fd == self) continue;
        ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    ::closedir(d);
}

void execProcess(const ProcessSetup& p, const std::string& executable) {
    if (p.installSeccomp && p.noNewPrivileges && !p.seccompNotify) p.installSeccomp();
    int firstClosed = 3 + static_cast<int>(p.preserveFds);
    markFdsCloseOnExec(firstClosed);
    for (int fd = 3; fd < firstClosed; ++fd) {
        int flags = ::fcntl(fd, F_GETFD);
        if (flags >= 0) ::fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
    }
    std::vector<char*> argv, envp;
    for (const auto& a : p.args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    for (const auto& e : p.env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    applyOnExecProcessAttrs(p.attrs, systemProcessAttrOps());
    ::execve(executable.c_str(), argv.data(), envp.data());
    throwErrno("exec " + executable);
}

}  // namespace caprun

namespace caprun {

int rlimitResource(const std::string& name, const std::string& jsonPath) {
    auto it = rlimitNumbers().find(name);
    if (it != rlimitNumbers().end()) return it->second;
    throw Error("config.json: " + jsonPath + ".type: unknown rlimit \"" + name + "\"");
}

}  // namespace caprun

#include <grp.h>

#include <memory>

#include "caprun/cap_executor.hpp"
#include "caprun/cap_plan.hpp"
#include "caprun/cap_report.hpp"
#include "caprun/explain.hpp"
#include "caprun/log.hpp"
#include "caprun/seccomp_compile.hpp"
#include "caprun/seccomp_install.hpp"

namespace caprun {

ProcessPlan planProcess(const GlobalOptions& g, const Spec& spec, const Process& process,
                        const std::optional<std::string>& seccompProfile,
                        const std::string& stateRoot, const std::string& rootfs) {
    refuseHostStatusOutsideCheck(g, g.command.empty() ? "create" : g.command);
    ProcessPlan plan;
    ProcessSetup& s = plan.setup;
    s.args = process.args;
    s.env = process.env;
    s.cwd = process.cwd.empty() ? "/" : process.cwd;
    if (s.cwd.front() != '/')
        throw Error("config.json: process.cwd: \"" + s.cwd + "\" is not an absolute path");

    // The capability plan for this process, from the whole spec as check plans it (linux
    // decides whether it runs in a user namespace); exec passes its own process.
    Spec view = spec;
    view.process = process;
    const HostFacts host = HostFacts::probe();
    auto cap = std::make_shared<const CapabilityPlan>(planForContainer(view, g, rootfs, host));
    plan.policy = capPolicyName(cap->policy.policy);
    plan.capabilities = cap;

    // Seccomp gates follow the granted bounding set, so a dropped capability also keeps
    // the syscalls it would unlock denied; the drop warning says which.
    // planSeccomp loads a cached compiled filter without parsing when it can.
    SeccompPlan sp = planSeccomp(spec, seccompProfile, seccompHostFor(*cap), stateRoot);
    const CapDropNote note = [&](const CapDrop& d) {
        return capDropNote(*cap, sp.deniedWithoutCap, d);
    };
    if (cap->refusesToStart()) throw Error(cap->shortfallMessage(note));
    if (std::string w = cap->shortfallMessage(note); !w.empty()) log::warn(w);
    for (const auto& w : sp.warnings) log::warn(w);
    for (const auto& w : cap->predictionWarnings) log::info(w);

    for (const auto& r : cap->rlimits) {
        struct rlimit lim {};
        lim.rlim_cur = r.soft;  // as decided: clamped under lenient when short
        lim.rlim_max = r.hard;
        s.rlimits.emplace_back(rlimitResource(r.type, r.jsonPath), lim);
    }
    if (cap->oomScoreAdj) s.oomScoreAdj = cap->oomScoreAdj->value;
    s.umask = process.user.umask;
    s.uid = process.user.uid;
    s.noNewPrivileges = process.noNewPrivileges;
    const bool isExec = g.command == "exec";
    s.attrs = planProcessAttrs(spec, process, PlatformFacts::probe(),
                               isExec ? "exec: process." : "config.json: process.", !isExec);

    auto compiled = std::make_shared<CompiledSeccomp>(std::move(sp.compiled));
    if (compiled->enabled) {
        s.seccompNotify = compiled->usesNotify;
        s.seccompListenerPath = compiled->listenerPath;
        s.seccompListenerMetadata = compiled->listenerMetadata;
        s.installSeccomp = [compiled, sink = s.seccompListenerSink] {
            int fd = installSeccomp(*compiled);
            if (fd < 0) return;
            if (*sink)
                (*sink)(fd);
            else
                ::close(fd);  // no agent to hand it to (exec): the filter still applies
        };
    }

    const User user = process.user;
    s.applyCredentials = [cap, user](const std::function<void()>& installFilter) {
        LinuxCapabilityKernel kernel;
        applyCapabilityPlan(*cap, user, kernel, installFilter);
    };
    return plan;
}

}  // namespace caprun
