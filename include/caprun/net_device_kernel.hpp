// The kernel seam of linux.netDevices: route netlink (rtnetlink(7)) on sockets opened in a
// given network namespace, and the bind mount that keeps a container's network namespace
// alive until delete has moved its devices back. LinuxNetDeviceKernel makes the calls;
// tests use a recording double.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace caprun {

// One address of a link as RTM_GETADDR reports it.
struct LinkAddress {
    int family = 0;  // AF_INET, AF_INET6
    unsigned prefixLength = 0;
    unsigned scope = 0;                 // RT_SCOPE_*
    std::uint32_t flags = 0;            // IFA_F_* (IFA_FLAGS when present)
    std::vector<std::uint8_t> local;    // IFA_LOCAL (may be empty)
    std::vector<std::uint8_t> address;  // IFA_ADDRESS
    std::string text() const;           // "192.0.2.10/24"
};

class NetDeviceKernel {
  public:
    virtual ~NetDeviceKernel() = default;
    // An fd of the network namespace at `path` (/proc/<pid>/ns/net, a pin, a spec path).
    virtual int openNamespace(const std::string& path) = 0;
    // A route netlink socket in the namespace `nsFd` (-1: the caller's own).
    virtual int routeSocket(int nsFd) = 0;
    virtual void closeFd(int fd) = 0;
    // The index of the link called `name`, 0 when there is none.
    virtual int linkIndex(int sock, const std::string& name) = 0;
    virtual std::vector<LinkAddress> linkAddresses(int sock, int index) = 0;
    virtual void setLinkUp(int sock, int index, bool up) = 0;
    // Moves the link into the namespace `targetNsFd`, named `newName` there, in one request
    // (IFLA_NET_NS_FD + IFLA_IFNAME): no moment with a clashing name in either namespace.
    virtual void moveLink(int sock, int index, int targetNsFd, const std::string& newName) = 0;
    virtual void addAddress(int sock, int index, const LinkAddress& a) = 0;
    // Bind-mounts the namespace file `nsPath` on `pinPath` (created), as `ip netns add` does.
    virtual void pinNamespace(const std::string& nsPath, const std::string& pinPath) = 0;
    virtual void unpinNamespace(const std::string& pinPath) = 0;
};

class LinuxNetDeviceKernel final : public NetDeviceKernel {
  public:
    int openNamespace(const std::string& path) override;
    int routeSocket(int nsFd) override;
    void closeFd(int fd) override;
    int linkIndex(int sock, const std::string& name) override;
    std::vector<LinkAddress> linkAddresses(int sock, int index) override;
    void setLinkUp(int sock, int index, bool up) override;
    void moveLink(int sock, int index, int targetNsFd, const std::string& newName) override;
    void addAddress(int sock, int index, const LinkAddress& a) override;
    void pinNamespace(const std::string& nsPath, const std::string& pinPath) override;
    void unpinNamespace(const std::string& pinPath) override;
};

}  // namespace caprun
