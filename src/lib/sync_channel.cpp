#include "caprun/sync_channel.hpp"

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

void sendMsgWithFd(int fd, Msg type, int passFd) {
    char byte = static_cast<char>(type);
    struct iovec iov {
        &byte, 1
    };
    alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    struct msghdr mh {};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = control;
    mh.msg_controllen = sizeof control;
    struct cmsghdr* cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(cm), &passFd, sizeof(int));
    ssize_t n;
    do {
        n = ::sendmsg(fd, &mh, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) throwErrno("passing an fd to the runtime (sync socket)");
}

bool recvMsg(int fd, Msg& type, std::string& payload, int* passedFd) {
    // The message's size first (MSG_TRUNC reports it), so the buffer fits it exactly.
    ssize_t size;
    do {
        size = ::recv(fd, nullptr, 0, MSG_PEEK | MSG_TRUNC);
    } while (size < 0 && errno == EINTR);
    if (size < 0) throwErrno("talking to the container process (sync socket)");
    std::string buf(static_cast<size_t>(size > 0 ? size : 1), '\0');
    struct iovec iov {
        buf.data(), buf.size()
    };
    alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    struct msghdr mh {};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = control;
    mh.msg_controllen = sizeof control;
    ssize_t n;
    do {
        n = ::recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0) throwErrno("talking to the container process (sync socket)");
    if (n == 0) return false;
    for (struct cmsghdr* cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
            int got;
            std::memcpy(&got, CMSG_DATA(cm), sizeof(int));
            if (passedFd)
                *passedFd = got;
            else
                ::close(got);
        }
    }
    type = static_cast<Msg>(buf[0]);
    payload.assign(buf.data() + 1, static_cast<size_t>(n - 1));
    return true;
}

}  // namespace caprun
