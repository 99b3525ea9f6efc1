#include "caprun/cgroup_fs.hpp"
#include "caprun/sys/read_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "caprun/error.hpp"

namespace caprun::cgfs {

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::string cur;
    for (char c : s) {
        if (c == sep) {
            out.push_back(cur);
            cur.clear();
        } else {
            cur += c;
        }
    }
    out.push_back(cur);
    return out;
}

std::string joinPath(const std::string& a, const std::string& b) {
    if (b.empty()) return a;
    if (a.empty()) return b;
    std::string out = a;
    while (out.size() > 1 && out.back() == '/') out.pop_back();
    std::size_t i = 0;
    while (i < b.size() && b[i] == '/') ++i;
    if (i == b.size()) return out;
    if (out != "/") out += '/';
    return out + b.substr(i);
}

bool fileExists(const std::string& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0;
}

std::string readFile(const std::string& path) {
    return sys::readFile(path);
}

std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
}

int writeFileErr(const std::string& path, const std::string& value) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return errno;
    ssize_t n;
    do {
        n = ::write(fd, value.data(), value.size());
    } while (n < 0 && errno == EINTR);
    int err = n < 0 ? errno : 0;
    ::close(fd);
    return err;
}

void writeFile(const std::string& path, const std::string& value, const std::string& what) {
    if (int err = writeFileErr(path, value); err != 0)
        throwSys(
            (what.empty() ? std::string() : what + ": ") + "writing \"" + value + "\" to " + path,
            err);
}

}  // namespace caprun::cgfs
