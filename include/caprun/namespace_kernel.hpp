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
    // One write(2) of `text` to the existing file `path` (uid_map, gid_map,
    // timens_offsets): "<what>: opening <path>: ...", "<what>: writing \"text\" to <path>:
    // ...", "<what>: short write to <path>".
    virtual void writeFile(const std::string& path, const std::string& text,
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
    void writeFile(const std::string& path, const std::string& text,
                   const std::string& what) override;
    void bringUpInterface(const std::string& name) override;
    void runIdMapHelper(const std::string& program, int pid, const std::vector<std::string>& args,
                        const std::string& what) override;
};

}  // namespace caprun
