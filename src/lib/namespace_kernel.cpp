#include "caprun/namespace_kernel.hpp"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "caprun/error.hpp"
#include "caprun/sys/procfs.hpp"

namespace caprun {

int LinuxNamespaceKernel::openNamespace(const std::string& path, const std::string& what) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throwErrno(what);
    return fd;
}

int LinuxNamespaceKernel::namespaceType(int fd) {
    int type = ::ioctl(fd, NS_GET_NSTYPE);
    return type < 0 ? -errno : type;
}

void LinuxNamespaceKernel::close(int fd) {
    ::close(fd);
}

void LinuxNamespaceKernel::setns(int fd, int nstype, const std::string& what) {
    if (::setns(fd, nstype) < 0) throwErrno(what);
}

void LinuxNamespaceKernel::unshare(int flags, const std::string& what) {
    if (::unshare(flags) < 0) throwErrno(what);
}

void LinuxNamespaceKernel::writeProcFile(const std::string& path, const std::string& text,
                                         const std::string& what) {
    const std::string prefix = "/proc/";
    if (path.rfind(prefix, 0) != 0) throw Error(what + ": " + path + " is not below /proc");
    UniqueFd proc(sys::openProcfs(what, "the /proc of the current root"));
    sys::writeOnProcfs(proc.fd, path.substr(prefix.size()), text, what);
}

void LinuxNamespaceKernel::bringUpInterface(const std::string& name) {
    const std::string what = "bringing up " + name + " in the container's network namespace";
    int sock = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0) throwErrno(what + ": socket");
    struct ifreq ifr {};
    std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
    int r = ::ioctl(sock, SIOCGIFFLAGS, &ifr);
    if (r == 0 && !(ifr.ifr_flags & IFF_UP)) {
        ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
        r = ::ioctl(sock, SIOCSIFFLAGS, &ifr);
    }
    int err = errno;
    ::close(sock);
    if (r < 0) throwSys(what + " (SIOCSIFFLAGS)", err);
}

void LinuxNamespaceKernel::runIdMapHelper(const std::string& program, int pid,
                                          const std::vector<std::string>& args,
                                          const std::string& what) {
    std::vector<std::string> argv{program, std::to_string(pid)};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    pid_t child = ::fork();
    if (child < 0) throwErrno(what + ": forking to run " + program);
    if (child == 0) {
        ::execvp(program.c_str(), cargv.data());
        // Only async-signal-safe calls after fork: report ENOENT as status 127.
        ::_exit(errno == ENOENT ? 127 : 126);
    }
    int status = 0;
    while (::waitpid(child, &status, 0) < 0)
        if (errno != EINTR) throwErrno(what + ": waiting for " + program);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        throw Error(what + ": " + program +
                    " is not installed (Debian package uidmap); it is needed to map more than "
                    "the caller's own id without privilege");
    throw Error(what + ": " + program + " " + std::to_string(pid) +
                (WIFEXITED(status) ? " exited with status " + std::to_string(WEXITSTATUS(status))
                                   : " was killed by signal " + std::to_string(WTERMSIG(status))) +
                " (is the range in /etc/subuid and /etc/subgid for this user?)");
}

}  // namespace caprun
