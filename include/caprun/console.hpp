// Terminals for containers with process.terminal: a pty pair, handing the master to the
// caller's --console-socket, and the foreground copy loop `run` uses when it keeps the
// terminal itself.
#pragma once

#include <termios.h>

#include <optional>
#include <string>

#include "caprun/spec.hpp"

namespace caprun {

// A pty pair. Both fds are O_CLOEXEC and owned by this value (closed by the destructor
// unless released).
class PtyPair {
  public:
    PtyPair() = default;
    PtyPair(int master, int slave, std::string slavePath)
        : master_(master), slave_(slave), slavePath_(std::move(slavePath)) {}
    PtyPair(PtyPair&& o) noexcept;
    PtyPair& operator=(PtyPair&& o) noexcept;
    PtyPair(const PtyPair&) = delete;
    PtyPair& operator=(const PtyPair&) = delete;
    ~PtyPair();

    int master() const { return master_; }
    int slave() const { return slave_; }
    const std::string& slavePath() const { return slavePath_; }  // /dev/pts/N (host's)
    int releaseMaster();                                         // caller owns the fd now
    int releaseSlave();
    void closeMaster();
    void closeSlave();

  private:
    int master_ = -1;
    int slave_ = -1;
    std::string slavePath_;
};

// Opens /dev/ptmx (O_RDWR|O_NOCTTY|O_CLOEXEC), unlocks it, opens the slave, and sets the
// window size when given. Errors name the step.
PtyPair openPty(const std::optional<ConsoleSize>& size);

// In the child that owns the slave: new session, slave as controlling terminal and as
// fds 0, 1, 2. Async-signal-safe (for use between fork and exec); returns -errno or 0.
int makeControllingTerminal(int slaveFd) noexcept;

// Connects to the unix SOCK_STREAM socket at `socketPath` and sends one message carrying
// exactly one SCM_RIGHTS fd (`masterFd`) and the pty's name as payload, like runc.
void sendConsoleFd(const std::string& socketPath, int masterFd);

// Receives one SCM_RIGHTS fd from a connected socket (tests, and callers of the library).
int receiveFd(int socketFd);

// Foreground terminal for `run`: while alive, puts the caller's stdin in raw mode (when it
// is a tty, restoring it on destruction), copies stdin -> master and master -> stdout,
// and forwards the caller's window size to the pty on start and on SIGWINCH.
class ForegroundConsole {
  public:
    explicit ForegroundConsole(int masterFd);
    ~ForegroundConsole();
    ForegroundConsole(const ForegroundConsole&) = delete;
    ForegroundConsole& operator=(const ForegroundConsole&) = delete;

    // Copies until the master reports hang-up (every slave holder is gone) or `stopFd`
    // (e.g. a pidfd of the container init, -1 for none) becomes readable, then drains
    // what the master still has. Stdin EOF stops copying input only.
    void pump(int stopFd);

  private:
    int master_;
    bool restoreTermios_ = false;
    struct termios savedTermios_ {};
    int signalFd_ = -1;
};

}  // namespace caprun
