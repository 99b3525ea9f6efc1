#include "caprun/cgroup_kernel.hpp"
#include "caprun/sys/read_file.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "caprun/cgroup_fs.hpp"
#include "caprun/cgroup_host.hpp"
#include "caprun/error.hpp"

namespace caprun {

namespace {

long bpfCall(int cmd, bpf_attr* attr) {
    return ::syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

}  // namespace

int LinuxCgroupKernel::readFile(const std::string& path, std::string& out) {
    return sys::readFileInto(path, out);
}

int LinuxCgroupKernel::writeFile(const std::string& path, const std::string& value) {
    return cgfs::writeFileErr(path, value);
}

bool LinuxCgroupKernel::exists(const std::string& path) {
    return cgfs::fileExists(path);
}

int LinuxCgroupKernel::mkdir(const std::string& path) {
    return ::mkdir(path.c_str(), 0755) == 0 ? 0 : errno;
}

int LinuxCgroupKernel::rmdir(const std::string& path) {
    return ::rmdir(path.c_str()) == 0 ? 0 : errno;
}

int LinuxCgroupKernel::listDirectories(const std::string& dir, std::vector<std::string>& names) {
    names.clear();
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return errno;
    while (dirent* e = ::readdir(d)) {
        std::string name = e->d_name;
        if (name != "." && name != ".." && e->d_type == DT_DIR) names.push_back(name);
    }
    ::closedir(d);
    return 0;
}

std::optional<dev_t> LinuxCgroupKernel::deviceOf(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return std::nullopt;
    return st.st_dev;
}

int LinuxCgroupKernel::lockDirectory(const std::string& dir) {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) throwErrno("opening " + dir + " to lock the cgroup tree");
    while (::flock(fd, LOCK_EX) != 0) {
        if (errno == EINTR) continue;
        int err = errno;
        ::close(fd);
        throwSys("locking the cgroup tree (flock on " + dir + ")", err);
    }
    return fd;
}

void LinuxCgroupKernel::unlock(int fd) {
    ::close(fd);
}

int LinuxCgroupKernel::kill(pid_t pid, int sig) {
    return ::kill(pid, sig) == 0 ? 0 : errno;
}

std::vector<std::string> LinuxCgroupKernel::hugepageSizes() {
    return readHugepageSizes();
}

int LinuxCgroupKernel::openCgroup(const std::string& dir, const std::string& what) {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) throwErrno(what);
    return fd;
}

void LinuxCgroupKernel::close(int fd) {
    ::close(fd);
}

std::vector<std::uint32_t> LinuxCgroupKernel::attachedDeviceFilters(int cgFd) {
    std::vector<std::uint32_t> ids(64);
    bpf_attr q{};
    q.query.target_fd = static_cast<std::uint32_t>(cgFd);
    q.query.attach_type = BPF_CGROUP_DEVICE;
    q.query.prog_ids = reinterpret_cast<std::uint64_t>(ids.data());
    q.query.prog_cnt = static_cast<std::uint32_t>(ids.size());
    if (bpfCall(BPF_PROG_QUERY, &q) != 0) return {};
    ids.resize(q.query.prog_cnt);
    return ids;
}

int LinuxCgroupKernel::loadDeviceFilter(const std::vector<bpf_insn>& prog) {
    static const char license[] = "Apache";
    auto load = [&](char* logBuf, std::uint32_t logSize) {
        bpf_attr a{};
        a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
        a.insns = reinterpret_cast<std::uint64_t>(prog.data());
        a.insn_cnt = static_cast<std::uint32_t>(prog.size());
        a.license = reinterpret_cast<std::uint64_t>(license);
        a.log_buf = reinterpret_cast<std::uint64_t>(logBuf);
        a.log_size = logSize;
        a.log_level = logBuf != nullptr ? 1 : 0;
        return static_cast<int>(bpfCall(BPF_PROG_LOAD, &a));
    };
    // Without a log first: the verifier's log of a program of some size (a caller's usual
    // device list) outgrows any small buffer, and a full log buffer fails the load with
    // ENOSPC. Only a failed load is repeated with the log, for its reason.
    int progFd = load(nullptr, 0);
    if (progFd >= 0) return progFd;
    int err = errno;
    std::vector<char> logBuf(1 << 20, '\0');
    progFd = load(logBuf.data(), static_cast<std::uint32_t>(logBuf.size() - 1));
    if (progFd >= 0) return progFd;  // a passing condition (memory pressure): loaded now
    std::string log = cgfs::trim(std::string(logBuf.data()));
    // The reason is at the end of the log.
    if (log.size() > 600) log = "..." + log.substr(log.size() - 600);
    throwSys("loading the cgroup v2 device filter (BPF_PROG_LOAD, " + std::to_string(prog.size()) +
                 " instructions; verifier: " + log + ")",
             err);
}

void LinuxCgroupKernel::attachDeviceFilter(int cgFd, int progFd, const std::string& dir) {
    bpf_attr at{};
    at.target_fd = static_cast<std::uint32_t>(cgFd);
    at.attach_bpf_fd = static_cast<std::uint32_t>(progFd);
    at.attach_type = BPF_CGROUP_DEVICE;
    at.attach_flags = BPF_F_ALLOW_MULTI;
    if (bpfCall(BPF_PROG_ATTACH, &at) != 0)
        throwErrno("attaching the device filter to " + dir + " (BPF_PROG_ATTACH)");
}

int LinuxCgroupKernel::detachDeviceFilter(int cgFd, std::uint32_t progId) {
    bpf_attr g{};
    g.prog_id = progId;
    int oldFd = static_cast<int>(bpfCall(BPF_PROG_GET_FD_BY_ID, &g));
    if (oldFd < 0) return 0;  // gone meanwhile
    bpf_attr d{};
    d.target_fd = static_cast<std::uint32_t>(cgFd);
    d.attach_bpf_fd = static_cast<std::uint32_t>(oldFd);
    d.attach_type = BPF_CGROUP_DEVICE;
    int err = bpfCall(BPF_PROG_DETACH, &d) == 0 ? 0 : errno;
    ::close(oldFd);
    return err;
}

CgroupKernel& linuxCgroupKernel() {
    static LinuxCgroupKernel kernel;
    return kernel;
}

}  // namespace caprun
