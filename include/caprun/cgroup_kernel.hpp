// The kernel calls the cgroup executor (cgroups.hpp, cgroup_controllers.hpp,
// cgroup_devices.hpp) makes, behind an interface so a unit test can record them and make
// one fail. File and directory calls return 0 or the errno, and the executor words the
// error ("reading <path>: ...", "creating cgroup <dir>: ..."), since several of those
// errnos are decisions (ENOENT: try the parent; EBUSY: retry; EEXIST: made meanwhile). The
// lock and the BPF calls throw caprun::Error naming the directory and the errno text.
#pragma once

#include <linux/bpf.h>
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace caprun {

class CgroupKernel {
  public:
    virtual ~CgroupKernel() = default;

    // The whole file into `out`: 0 or the errno of open/read.
    virtual int readFile(const std::string& path, std::string& out) = 0;
    // One write of `value` (retried on EINTR): 0 or the errno of open/write.
    virtual int writeFile(const std::string& path, const std::string& value) = 0;
    virtual bool exists(const std::string& path) = 0;
    // mkdir(path, 0755) / rmdir(path): 0 or errno.
    virtual int mkdir(const std::string& path) = 0;
    virtual int rmdir(const std::string& path) = 0;
    // The subdirectories of `dir` (names, in directory order): 0 or the errno of opendir.
    virtual int listDirectories(const std::string& dir, std::vector<std::string>& names) = 0;
    // The device of the filesystem holding `path` (stat's st_dev); nullopt when it cannot
    // be stat'ed.
    virtual std::optional<dev_t> deviceOf(const std::string& path) = 0;
    // An exclusive flock on the directory `dir`, held until unlock(fd).
    virtual int lockDirectory(const std::string& dir) = 0;
    virtual void unlock(int fd) = 0;
    // kill(pid, sig): 0 or errno.
    virtual int kill(pid_t pid, int sig) = 0;
    // The huge page sizes the kernel offers ("2MB", "1GB"; readHugepageSizes).
    virtual std::vector<std::string> hugepageSizes() = 0;

    // cgroup v2 device filter (BPF_PROG_TYPE_CGROUP_DEVICE).
    // An O_RDONLY|O_DIRECTORY fd of the cgroup `dir`.
    virtual int openCgroup(const std::string& dir, const std::string& what) = 0;
    virtual void close(int fd) = 0;
    // BPF_PROG_QUERY: the ids of the device programs attached to cgFd (none on failure).
    virtual std::vector<std::uint32_t> attachedDeviceFilters(int cgFd) = 0;
    // BPF_PROG_LOAD; the error carries the verifier's log.
    virtual int loadDeviceFilter(const std::vector<bpf_insn>& prog) = 0;
    // BPF_PROG_ATTACH with BPF_F_ALLOW_MULTI; `dir` names the cgroup in the error.
    virtual void attachDeviceFilter(int cgFd, int progFd, const std::string& dir) = 0;
    // BPF_PROG_GET_FD_BY_ID then BPF_PROG_DETACH: 0 (also when the program is gone
    // already) or the errno of the detach.
    virtual int detachDeviceFilter(int cgFd, std::uint32_t progId) = 0;
};

// The real kernel.
class LinuxCgroupKernel final : public CgroupKernel {
  public:
    int readFile(const std::string& path, std::string& out) override;
    int writeFile(const std::string& path, const std::string& value) override;
    bool exists(const std::string& path) override;
    int mkdir(const std::string& path) override;
    int rmdir(const std::string& path) override;
    int listDirectories(const std::string& dir, std::vector<std::string>& names) override;
    std::optional<dev_t> deviceOf(const std::string& path) override;
    int lockDirectory(const std::string& dir) override;
    void unlock(int fd) override;
    int kill(pid_t pid, int sig) override;
    std::vector<std::string> hugepageSizes() override;
    int openCgroup(const std::string& dir, const std::string& what) override;
    void close(int fd) override;
    std::vector<std::uint32_t> attachedDeviceFilters(int cgFd) override;
    int loadDeviceFilter(const std::vector<bpf_insn>& prog) override;
    void attachDeviceFilter(int cgFd, int progFd, const std::string& dir) override;
    int detachDeviceFilter(int cgFd, std::uint32_t progId) override;
};

// The process-wide LinuxCgroupKernel (it holds no state), the default of Cgroup.
CgroupKernel& linuxCgroupKernel();

}  // namespace caprun
