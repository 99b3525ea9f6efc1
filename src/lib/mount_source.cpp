#include "caprun/mount_source.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "caprun/container_process.hpp"
#include "caprun/error.hpp"
#include "caprun/sync_channel.hpp"

namespace caprun {

// In the init: asks the runtime for the source of mounts[index] (see sendMountSource).
int receiveMountSource(int sync, std::size_t index) {
    sendMsg(sync, Msg::MountSource, std::to_string(index));
    Msg type;
    std::string payload;
    int fd = -1;
    if (!recvMsg(sync, type, payload, &fd) || type != Msg::MountSource || fd < 0) {
        if (fd >= 0) ::close(fd);
        throw Error("mounts[" + std::to_string(index) +
                    "]: the runtime did not pass the bind mount's source");
    }
    return fd;
}

// Runtime side of receiveMountSource: a forked helper (setns would move the runtime
// itself) joins the init's mount namespace through its pidfd and opens the bind source
// there as host root, as runc's mount source thread does: the fd is of the container's
// mount namespace (a bind from another namespace is refused) and the path was resolved
// with the host's permissions, not the container's mapped ids.
void sendMountSource(int sync, int initPidfd, const PlannedMount& m) {
    std::string what = "opening the source " + m.source + " of " + m.jsonPath;
    int pipefd[2];
    if (::pipe2(pipefd, O_CLOEXEC) < 0) throwErrno(what + ": pipe");
    pid_t helper = ::fork();
    if (helper < 0) {
        int err = errno;
        ::close(pipefd[0]);
        ::close(pipefd[1]);
        throwSys(what + ": fork", err);
    }
    if (helper == 0) {
        std::string failure;
        try {
            if (::setns(initPidfd, CLONE_NEWNS) < 0)
                throwErrno(what + ": joining the container's mount namespace");
            int fd = ::open(m.source.c_str(), O_PATH | O_CLOEXEC);
            if (fd < 0) throwErrno(what);
            sendMsgWithFd(sync, Msg::MountSource, fd);
        } catch (const std::exception& e) {
            failure = e.what();
        }
        if (!failure.empty() && ::write(pipefd[1], failure.data(), failure.size()) < 0) {
        }
        ::_exit(failure.empty() ? 0 : 1);
    }
    ::close(pipefd[1]);
    std::string failure;
    char buf[512];
    ssize_t n;
    while ((n = ::read(pipefd[0], buf, sizeof buf)) != 0) {
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) break;
        failure.append(buf, static_cast<size_t>(n));
    }
    ::close(pipefd[0]);
    int status = 0;
    while (::waitpid(helper, &status, 0) < 0 && errno == EINTR) {
    }
    if (!failure.empty()) throw Error(failure);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        throw Error(what + ": the helper process failed (status " +
                    std::to_string(waitStatusToExitCode(status)) + ")");
}

}  // namespace caprun
