#include "caprun/sys/read_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "caprun/error.hpp"
#include "caprun/sys/unique_fd.hpp"

namespace caprun::sys {

int readFileInto(const std::string& path, std::string& out) {
    out.clear();
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.fd < 0) return errno;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(fd.fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno;
        if (n == 0) return 0;
        out.append(buf, static_cast<std::size_t>(n));
    }
}

std::string readFile(const std::string& path) {
    std::string out;
    if (int err = readFileInto(path, out)) throwSys("reading " + path, err);
    return out;
}

}  // namespace caprun::sys
