// Seccomp install and NOTIFY listener hand-off. See include/caprun/seccomp_install.hpp.
#include "caprun/seccomp_install.hpp"
#include "caprun/sys/scm_rights.hpp"
#include "caprun/sys/unique_fd.hpp"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cerrno>
#include <cstring>

#include "caprun/error.hpp"
#include "caprun/seccomp_names.hpp"
#include "caprun_config.h"

namespace caprun {

namespace {}  // namespace

int installSeccomp(const CompiledSeccomp& c) {
    if (!c.enabled) return -1;
    sock_fprog prog{};
    prog.len = static_cast<unsigned short>(c.bpf.size() / sizeof(sock_filter));
    prog.filter = reinterpret_cast<sock_filter*>(const_cast<std::uint8_t*>(c.bpf.data()));
    long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, c.flagBits, &prog);
    if (rc < 0) {
        int err = errno;
        const std::string flags = seccompFilterFlagsText(c.flagBits);
        std::string hint;
        if (err == EACCES)
            hint = " (loading a filter needs CAP_SYS_ADMIN or no_new_privs)";
        else if (err == EINVAL)
            hint = " (this kernel may not support one of the flags)";
        throw Error("installing the seccomp filter (" + std::to_string(prog.len) +
                    " instructions, flags " + (flags.empty() ? "none" : flags) +
                    "): " + errnoText(err) + hint);
    }
    if (c.flagBits & SECCOMP_FILTER_FLAG_NEW_LISTENER) return static_cast<int>(rc);
    if (rc > 0 && (c.flagBits & SECCOMP_FILTER_FLAG_TSYNC))
        throw Error("installing the seccomp filter: thread " + std::to_string(rc) +
                    " could not be synchronised (SECCOMP_FILTER_FLAG_TSYNC)");
    return -1;
}

// --- NOTIFY listener -----------------------------------------------------------------

std::string seccompListenerMessage(int pid, const std::string& metadata,
                                   const std::string& stateJson) {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.StartObject();
    w.Key("ociVersion");
    w.String(CAPRUN_SPEC_VERSION);
    w.Key("fds");
    w.StartArray();
    w.String("seccompFd");
    w.EndArray();
    w.Key("pid");
    w.Int(pid);
    w.Key("metadata");
    w.String(metadata.c_str(), static_cast<rapidjson::SizeType>(metadata.size()));
    w.Key("state");
    w.RawValue(stateJson.c_str(), stateJson.size(), rapidjson::kObjectType);
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize());
}

void sendSeccompListener(const std::string& listenerPath, int listenerFd,
                         const std::string& message) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (listenerPath.size() >= sizeof(addr.sun_path))
        throw Error("seccomp listenerPath " + listenerPath + ": longer than a unix socket path (" +
                    std::to_string(sizeof(addr.sun_path) - 1) + " bytes)");
    std::memcpy(addr.sun_path, listenerPath.c_str(), listenerPath.size());
    UniqueFd sock(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (sock.fd < 0) throwErrno("creating a socket for the seccomp agent");
    while (connect(sock.fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        if (errno == EINTR) continue;
        throwErrno("connecting to the seccomp agent at listenerPath " + listenerPath);
    }
    ssize_t n = sys::sendWithFd(sock.fd, message.data(), message.size(), listenerFd);
    if (n < 0) throwErrno("sending the seccomp listener fd to " + listenerPath);
    // The fd went with the first bytes; the rest of a long state follows on the stream.
    std::size_t done = static_cast<std::size_t>(n);
    while (done < message.size()) {
        n = send(sock.fd, message.data() + done, message.size() - done, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0)
            throwErrno("sending the container state to the seccomp agent at " + listenerPath);
        done += static_cast<std::size_t>(n);
    }
}

}  // namespace caprun
