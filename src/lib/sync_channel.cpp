#include "caprun/sync_channel.hpp"
#include "caprun/sys/scm_rights.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "caprun/error.hpp"

namespace caprun {

void sendMsg(int fd, Msg type, const std::string& payload) {
    std::string buf(1, static_cast<char>(type));
    buf += payload;
    ssize_t n;
    do {
        n = ::send(fd, buf.data(), buf.size(), MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) throwErrno("talking to the container process (sync socket)");
}

void sendMsgWithFd(int fd, Msg type, int passFd, const std::string& payload) {
    std::string buf(1, static_cast<char>(type));
    buf += payload;
    if (sys::sendWithFd(fd, buf.data(), buf.size(), passFd) < 0)
        throwErrno("passing an fd to the runtime (sync socket)");
}

bool recvMsg(int fd, Msg& type, std::string& payload, int* passedFd) {
    // The message's size first (MSG_TRUNC reports it), so the buffer fits it exactly.
    ssize_t size;
    do {
        size = ::recv(fd, nullptr, 0, MSG_PEEK | MSG_TRUNC);
    } while (size < 0 && errno == EINTR);
    if (size < 0) throwErrno("talking to the container process (sync socket)");
    std::string buf(static_cast<size_t>(size > 0 ? size : 1), '\0');
    std::vector<int> fds;
    ssize_t n = sys::receiveWithFds(fd, buf.data(), buf.size(), fds);
    if (n < 0) throwErrno("talking to the container process (sync socket)");
    // One fd per message at most; any other is closed rather than leaked.
    for (std::size_t i = 0; i < fds.size(); ++i) {
        if (i == 0 && passedFd)
            *passedFd = fds[0];
        else
            ::close(fds[i]);
    }
    if (n == 0) return false;
    type = static_cast<Msg>(buf[0]);
    payload.assign(buf.data() + 1, static_cast<size_t>(n - 1));
    return true;
}

bool trySendMsg(int fd, Msg type) {
    try {
        sendMsg(fd, type);
        return true;
    } catch (const Error&) {
        return false;
    }
}

void throwIfChildFailed(int fd) {
    struct pollfd p {
        fd, POLLIN, 0
    };
    if (::poll(&p, 1, 0) != 1 || !(p.revents & POLLIN)) return;
    Msg type{};
    std::string payload;
    int passed = -1;
    if (recvMsg(fd, type, payload, &passed) && type == Msg::Failed) {
        if (passed >= 0) ::close(passed);
        throw Error(payload);
    }
    if (passed >= 0) ::close(passed);
}

}  // namespace caprun
