#include "caprun/console.hpp"
#include "caprun/sys/scm_rights.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "caprun/error.hpp"

namespace caprun {

PtyPair::PtyPair(PtyPair&& o) noexcept
    : master_(o.master_), slave_(o.slave_), slavePath_(std::move(o.slavePath_)) {
    o.master_ = o.slave_ = -1;
}

PtyPair& PtyPair::operator=(PtyPair&& o) noexcept {
    if (this != &o) {
        closeMaster();
        closeSlave();
        master_ = o.master_;
        slave_ = o.slave_;
        slavePath_ = std::move(o.slavePath_);
        o.master_ = o.slave_ = -1;
    }
    return *this;
}

PtyPair::~PtyPair() {
    closeMaster();
    closeSlave();
}

int PtyPair::releaseMaster() {
    int fd = master_;
    master_ = -1;
    return fd;
}

int PtyPair::releaseSlave() {
    int fd = slave_;
    slave_ = -1;
    return fd;
}

void PtyPair::closeMaster() {
    if (master_ >= 0) ::close(master_);
    master_ = -1;
}

void PtyPair::closeSlave() {
    if (slave_ >= 0) ::close(slave_);
    slave_ = -1;
}

PtyPair openPty(const std::optional<ConsoleSize>& size) {
    int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0) throwErrno("opening a pty master (/dev/ptmx)");
    PtyPair pair(master, -1, "");
    if (::unlockpt(master) != 0) throwErrno("unlocking the pty (unlockpt)");
    char name[128];
    if (::ptsname_r(master, name, sizeof name) != 0) throwErrno("finding the pty slave (ptsname)");
    // TIOCGPTPEER opens the slave through the master, immune to /dev/pts tricks.
    int slave = ::ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0) slave = ::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0) throwErrno(std::string("opening the pty slave ") + name);
    pair = PtyPair(pair.releaseMaster(), slave, name);
    if (size && (size->width != 0 || size->height != 0)) {
        winsize ws{};
        ws.ws_row = static_cast<unsigned short>(size->height);
        ws.ws_col = static_cast<unsigned short>(size->width);
        if (::ioctl(pair.master(), TIOCSWINSZ, &ws) != 0)
            throwErrno("setting the console size (TIOCSWINSZ)");
    }
    return pair;
}

int makeControllingTerminal(int slaveFd) noexcept {
    if (::setsid() < 0) return -errno;
    if (::ioctl(slaveFd, TIOCSCTTY, 0) < 0) return -errno;
    for (int fd = 0; fd < 3; ++fd)
        if (::dup2(slaveFd, fd) < 0) return -errno;
    return 0;
}

void sendConsoleFd(const std::string& socketPath, int masterFd) {
    int sock = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (sock < 0) throwErrno("creating a socket for --console-socket");
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{sock};
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (socketPath.size() >= sizeof addr.sun_path)
        throw Error("--console-socket " + socketPath + ": path longer than " +
                    std::to_string(sizeof addr.sun_path - 1) + " bytes");
    std::memcpy(addr.sun_path, socketPath.c_str(), socketPath.size() + 1);
    if (::connect(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
        throwErrno("connecting to --console-socket " + socketPath);

    // Payload: the pty's name, as runc sends it (some callers log it).
    char name[128] = "/dev/ptmx";
    ::ptsname_r(masterFd, name, sizeof name);
    if (sys::sendWithFd(sock, name, std::strlen(name), masterFd) < 0)
        throwErrno("sending the pty master to --console-socket " + socketPath);
}

int receiveFd(int socketFd) {
    char buf[256];
    std::vector<int> fds;
    if (sys::receiveWithFds(socketFd, buf, sizeof buf, fds) < 0)
        throwErrno("receiving a file descriptor");
    if (fds.empty()) throw Error("the message carried no file descriptor");
    if (fds.size() != 1) {
        for (int fd : fds) ::close(fd);
        throw Error("expected exactly one file descriptor, received " + std::to_string(fds.size()));
    }
    return fds[0];
}

ForegroundConsole::ForegroundConsole(int masterFd) : master_(masterFd) {
    if (::isatty(STDIN_FILENO) != 0 && ::tcgetattr(STDIN_FILENO, &savedTermios_) == 0) {
        termios raw = savedTermios_;
        ::cfmakeraw(&raw);
        if (::tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0) restoreTermios_ = true;
    }
    // SIGWINCH through a signalfd: blocked here so it is only seen by the loop.
    sigset_t set;
    ::sigemptyset(&set);
    ::sigaddset(&set, SIGWINCH);
    ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
    signalFd_ = ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    winsize ws{};
    if (::ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0) ::ioctl(master_, TIOCSWINSZ, &ws);
}

ForegroundConsole::~ForegroundConsole() {
    if (restoreTermios_) ::tcsetattr(STDIN_FILENO, TCSANOW, &savedTermios_);
    if (signalFd_ >= 0) ::close(signalFd_);
    sigset_t set;
    ::sigemptyset(&set);
    ::sigaddset(&set, SIGWINCH);
    ::pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

namespace {

// Writes all of buf; false when the destination is gone.
bool writeAll(int fd, const char* buf, std::size_t len) {
    while (len > 0) {
        ssize_t n = ::write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) {
                pollfd p{fd, POLLOUT, 0};
                ::poll(&p, 1, -1);
                continue;
            }
            return false;
        }
        buf += n;
        len -= static_cast<std::size_t>(n);
    }
    return true;
}

}  // namespace

void ForegroundConsole::pump(int stopFd) {
    bool stdinOpen = true, running = true;
    char buf[8192];
    while (running) {
        pollfd fds[4];
        int n = 0;
        int mIdx = n++;
        fds[mIdx] = {master_, POLLIN, 0};
        int iIdx = -1, sIdx = -1, wIdx = -1;
        if (stdinOpen) fds[iIdx = n++] = {STDIN_FILENO, POLLIN, 0};
        if (stopFd >= 0) fds[sIdx = n++] = {stopFd, POLLIN, 0};
        if (signalFd_ >= 0) fds[wIdx = n++] = {signalFd_, POLLIN, 0};
        if (::poll(fds, static_cast<nfds_t>(n), -1) < 0) {
            if (errno == EINTR) continue;
            throwErrno("waiting on the container's terminal");
        }
        if (fds[mIdx].revents & POLLIN) {
            ssize_t r = ::read(master_, buf, sizeof buf);
            if (r > 0)
                writeAll(STDOUT_FILENO, buf, static_cast<std::size_t>(r));
            else if (r == 0 || (errno != EINTR && errno != EAGAIN))
                running = false;  // EIO: every slave holder is gone
        } else if (fds[mIdx].revents & (POLLHUP | POLLERR)) {
            running = false;
        }
        if (iIdx >= 0 && fds[iIdx].revents != 0) {
            ssize_t r = ::read(STDIN_FILENO, buf, sizeof buf);
            if (r > 0) {
                if (!writeAll(master_, buf, static_cast<std::size_t>(r))) stdinOpen = false;
            } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
                stdinOpen = false;
            }
        }
        if (wIdx >= 0 && fds[wIdx].revents != 0) {
            signalfd_siginfo si;
            while (::read(signalFd_, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
            }
            winsize ws{};
            if (::ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0) ::ioctl(master_, TIOCSWINSZ, &ws);
        }
        if (sIdx >= 0 && fds[sIdx].revents != 0) running = false;
    }
    // Drain what the container wrote before it went away.
    int flags = ::fcntl(master_, F_GETFL);
    ::fcntl(master_, F_SETFL, flags | O_NONBLOCK);
    for (;;) {
        ssize_t r = ::read(master_, buf, sizeof buf);
        if (r <= 0) break;
        writeAll(STDOUT_FILENO, buf, static_cast<std::size_t>(r));
    }
    ::fcntl(master_, F_SETFL, flags);
}

}  // namespace caprun
