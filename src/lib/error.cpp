#include "caprun/error.hpp"

#include <cerrno>
#include <cstring>

namespace caprun {

std::string errnoText(int err) {
    char buf[256];
    // GNU strerror_r returns the message pointer, which may not be buf.
    return ::strerror_r(err, buf, sizeof buf);
}

void throwSys(std::string_view context, int err) {
    throw Error(std::string(context) + ": " + errnoText(err), err);
}

void throwErrno(std::string_view context) {
    throwSys(context, errno);
}

}  // namespace caprun
