#include "caprun/sys/atomic_write.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "caprun/error.hpp"
#include "caprun/sys/unique_fd.hpp"

namespace caprun::sys {

void writeFileAtomically(const std::string& path, std::string_view content, mode_t mode,
                         const std::string& what) {
    const auto slash = path.rfind('/');
    std::string tmp =
        (slash == std::string::npos ? std::string(".") : path.substr(0, slash)) + "/.tmp-XXXXXX";
    UniqueFd fd(::mkostemp(tmp.data(), O_CLOEXEC));
    if (fd.fd < 0) throwErrno(what + ": creating a temporary file for " + path);
    auto fail = [&](const std::string& step, int err) {
        ::unlink(tmp.c_str());
        throwSys(what + ": " + step, err);
    };
    if (::fchmod(fd.fd, mode) != 0) fail("setting the mode of " + tmp, errno);
    std::size_t off = 0;
    while (off < content.size()) {
        ssize_t n = ::write(fd.fd, content.data() + off, content.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) fail("writing " + tmp, n < 0 ? errno : EIO);
        off += static_cast<std::size_t>(n);
    }
    // No fsync: rename is atomic for every other process without it, which is all a reader
    // needs. fsync only matters across a crash of the machine, after which no container's
    // state is of use (the state root is /run, a tmpfs) and a cached seccomp filter is
    // verified before it is loaded. It cost up to 0.7 ms a save, three saves a run.
    fd.reset();
    if (::rename(tmp.c_str(), path.c_str()) != 0) fail("renaming " + tmp + " to " + path, errno);
}

}  // namespace caprun::sys
