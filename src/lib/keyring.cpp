#include "caprun/keyring.hpp"

#include <linux/keyctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "caprun/error.hpp"

namespace caprun {

namespace {
// Key permission bits (keyctl_setperm(3)).
constexpr std::uint32_t kUserSearch = 0x00080000;
constexpr std::uint32_t kOtherSearch = 0x00000008;
}  // namespace

std::string sessionKeyringName(const std::string& containerId) {
    return "_ses." + containerId;
}

std::uint32_t sessionKeyringPermission(std::uint32_t current, bool userNamespace) {
    return current | (userNamespace ? kOtherSearch : kUserSearch);
}

std::uint32_t describedKeyPermission(const std::string& description) {
    // type;uid;gid;perm;description — the description itself may contain ';'.
    std::size_t pos = 0;
    for (int field = 0; field < 3; ++field) {
        pos = description.find(';', pos);
        if (pos == std::string::npos) break;
        ++pos;
    }
    std::size_t end = pos == std::string::npos ? pos : description.find(';', pos);
    if (pos == std::string::npos || end == std::string::npos || end == pos)
        throw Error("unexpected key description \"" + description + "\"");
    std::string hex = description.substr(pos, end - pos);
    std::size_t used = 0;
    unsigned long value = 0;
    try {
        value = std::stoul(hex, &used, 16);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != hex.size() || value > 0xffffffffUL)
        throw Error("unexpected key permission \"" + hex + "\" in \"" + description + "\"");
    return static_cast<std::uint32_t>(value);
}

void joinSessionKeyring(const std::string& name, bool userNamespace, bool grantSearch) {
    long id = ::syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name.c_str(), 0, 0, 0);
    if (id < 0) {
        if (errno == ENOSYS || errno == EPERM) return;
        throwErrno("joining the session keyring " + name);
    }
    if (!grantSearch) return;
    char buf[512];
    long n = ::syscall(SYS_keyctl, KEYCTL_DESCRIBE, id, buf, sizeof buf, 0);
    if (n < 0) throwErrno("reading the permission of the session keyring " + name);
    // n counts the terminating NUL; a longer answer is cut to the buffer.
    std::size_t len =
        n > 0 ? std::min<std::size_t>(static_cast<std::size_t>(n), sizeof buf) - 1 : 0;
    std::string description(buf, len);
    std::uint32_t perm =
        sessionKeyringPermission(describedKeyPermission(description), userNamespace);
    if (::syscall(SYS_keyctl, KEYCTL_SETPERM, id, perm, 0, 0) < 0)
        throwErrno("setting the permission of the session keyring " + name);
}

}  // namespace caprun
