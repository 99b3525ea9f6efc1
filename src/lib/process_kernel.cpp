#include "caprun/process_kernel.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/openat2.h>
#include <sys/resource.h>
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
#include "caprun/seccomp_install.hpp"
#include "caprun/sys/procfs.hpp"
#include "caprun/sys/unique_fd.hpp"

namespace caprun {

namespace {

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

void LinuxProcessKernel::joinSessionKeyring(const std::string& name, bool userNamespace,
                                            bool grantSearch) {
    caprun::joinSessionKeyring(name, userNamespace, grantSearch);
}

void LinuxProcessKernel::setHostname(const std::string& name) {
    if (::sethostname(name.data(), name.size()) < 0)
        throwErrno("setting the hostname \"" + name + "\"");
}

void LinuxProcessKernel::setDomainname(const std::string& name) {
    if (::setdomainname(name.data(), name.size()) < 0)
        throwErrno("setting the domainname \"" + name + "\"");
}

void LinuxProcessKernel::useTerminal(int slave) {
    int r = makeControllingTerminal(slave);
    if (r < 0) throwSys("making the pty the controlling terminal", -r);
    if (slave > 2) ::close(slave);
}

void LinuxProcessKernel::setOomScoreAdj(int value) {
    // Through the container's procfs, verified: the rootfs or a mount must not redirect it.
    const std::string what = "setting process.oomScoreAdj";
    UniqueFd proc(sys::openContainerProcfs(what));
    sys::writeOnProcfs(proc.fd, "self/oom_score_adj", std::to_string(value), what);
}

void LinuxProcessKernel::setRlimit(const PlannedRlimit& r) {
    struct rlimit lim {};
    lim.rlim_cur = r.soft;
    lim.rlim_max = r.hard;
    if (::setrlimit(r.resource, &lim) < 0)
        throwErrno("setting " + r.type + " to soft " + std::to_string(r.soft) + " hard " +
                   std::to_string(r.hard));
}

std::string LinuxProcessKernel::readPasswd() {
    return readContainerPasswd();
}

void LinuxProcessKernel::createCwd(const std::string& cwd) {
    int root = ::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0) throwErrno("opening / to create process.cwd");
    try {
        ::close(openInRoot(root, cwd, CreateMissing::Directory));
    } catch (...) {
        ::close(root);
        throw;
    }
    ::close(root);
}

void LinuxProcessKernel::setUmask(mode_t mask) {
    ::umask(mask);
}

void LinuxProcessKernel::applyEarlyAttrs(const ProcessAttrPlan& attrs) {
    applyEarlyProcessAttrs(attrs, systemProcessAttrOps());
}

int LinuxProcessKernel::installSeccomp(const CompiledSeccomp& filter) {
    return caprun::installSeccomp(filter);
}

void LinuxProcessKernel::handOffSeccompListener(int fd) {
    ::close(fd);
}

void LinuxProcessKernel::changeDir(const std::string& cwd) {
    if (::chdir(cwd.c_str()) < 0) throwErrno("entering process.cwd " + cwd);
}

std::string LinuxProcessKernel::findExecutable(const std::vector<std::string>& args,
                                               const std::vector<std::string>& env) {
    return caprun::findExecutable(args, env);
}

void LinuxProcessKernel::closeFdsAbove(unsigned preserveFds) {
    int firstClosed = 3 + static_cast<int>(preserveFds);
    markFdsCloseOnExec(firstClosed);
    for (int fd = 3; fd < firstClosed; ++fd) {
        int flags = ::fcntl(fd, F_GETFD);
        if (flags >= 0) ::fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
    }
}

void LinuxProcessKernel::applyOnExecAttrs(const ProcessAttrPlan& attrs) {
    applyOnExecProcessAttrs(attrs, systemProcessAttrOps());
}

void LinuxProcessKernel::exec(const std::string& path, const std::vector<std::string>& args,
                              const std::vector<std::string>& env) {
    std::vector<char*> argv, envp;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    ::execve(path.c_str(), argv.data(), envp.data());
    throwErrno("exec " + path);
}

}  // namespace caprun
