// The kernel calls the namespace executor (namespaces.hpp) makes, behind an interface so a
// unit test can record them and make one fail. Each throws caprun::Error
// "<what>: <errno text>" with the `what` the executor passes, except namespaceType, whose
// failure the executor words itself.
#pragma once

#include <string>
#include <vector>

namespace caprun {

class NamespaceKernel {
  public:
    virtual ~NamespaceKernel() = default;
    // open(path, O_RDONLY | O_CLOEXEC) of a namespace file.
    virtual int openNamespace(const std::string& path, const std::string& what) = 0;
    // ioctl(NS_GET_NSTYPE): the CLONE_NEW* flag of the namespace, or -errno.
    virtual int namespaceType(int fd) = 0;
    virtual void close(int fd) = 0;
    // setns(fd, nstype).
    virtual void setns(int fd, int nstype, const std::string& what) = 0;
    // unshare(flags).
    virtual void unshare(int flags, const std::string& what) = 0;
    // One write(2) of `text` to the procfs file `path` ("/proc/<pid>/uid_map", gid_map,
    // setgroups, "/proc/self/timens_offsets"), on the /proc of the current root checked to be
    // procfs and without crossing a link or a mount (a joined mount namespace is the
    // container's: CVE-2025-52881). Throws "<what>: opening /proc/...: ..." or
    // "<what>: writing \"text\" to /proc/...: ...".
    virtual void writeProcFile(const std::string& path, const std::string& text,
                               const std::string& what) = 0;
    // IFF_UP on the interface `name` of the current network namespace.
    virtual void bringUpInterface(const std::string& name) = 0;
    // Runs the setuid helper `program` (newuidmap, newgidmap) as "<program> <pid> <inside>
    // <outside> <count>..." and waits: "<what>: <program> exited with status N" (its own
    // message, naming /etc/subuid, is on stderr), "<what>: running <program>: <errno text>".
    virtual void runIdMapHelper(const std::string& program, int pid,
                                const std::vector<std::string>& args, const std::string& what) = 0;
};

// The real kernel.
class LinuxNamespaceKernel final : public NamespaceKernel {
  public:
    int openNamespace(const std::string& path, const std::string& what) override;
    int namespaceType(int fd) override;
    void close(int fd) override;
    void setns(int fd, int nstype, const std::string& what) override;
    void unshare(int flags, const std::string& what) override;
    void writeProcFile(const std::string& path, const std::string& text,
                       const std::string& what) override;
    void bringUpInterface(const std::string& name) override;
    void runIdMapHelper(const std::string& program, int pid, const std::vector<std::string>& args,
                        const std::string& what) override;
};

}  // namespace caprun
