#include "caprun/net_device_kernel.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "caprun/error.hpp"

namespace caprun {

std::string LinkAddress::text() const {
    char buf[INET6_ADDRSTRLEN] = "?";
    const auto& bytes = local.empty() ? address : local;
    if ((family == AF_INET && bytes.size() == 4) || (family == AF_INET6 && bytes.size() == 16))
        ::inet_ntop(family, bytes.data(), buf, sizeof buf);
    return std::string(buf) + "/" + std::to_string(prefixLength);
}

namespace {

// A netlink request: header, fixed part, then attributes, each NLMSG/RTA aligned.
class Request {
  public:
    Request(std::uint16_t type, std::uint16_t flags, const void* fixed, std::size_t size) {
        buf_.resize(NLMSG_LENGTH(size));
        auto* h = header();
        h->nlmsg_type = type;
        h->nlmsg_flags = static_cast<std::uint16_t>(NLM_F_REQUEST | flags);
        std::memcpy(NLMSG_DATA(h), fixed, size);
        h->nlmsg_len = static_cast<std::uint32_t>(buf_.size());
    }
    void attr(std::uint16_t type, const void* data, std::size_t size) {
        std::size_t at = NLMSG_ALIGN(buf_.size());
        buf_.resize(at + RTA_SPACE(size));
        auto* a = reinterpret_cast<rtattr*>(buf_.data() + at);
        a->rta_type = type;
        a->rta_len = static_cast<unsigned short>(RTA_LENGTH(size));
        std::memcpy(RTA_DATA(a), data, size);
        header()->nlmsg_len = static_cast<std::uint32_t>(buf_.size());
    }
    void attr(std::uint16_t type, const std::string& s) { attr(type, s.c_str(), s.size() + 1); }
    nlmsghdr* header() { return reinterpret_cast<nlmsghdr*>(buf_.data()); }

  private:
    std::vector<char> buf_;
};

std::uint32_t nextSequence() {
    static std::uint32_t seq = 1;
    return seq++;
}

// The kernel's reason from an NLMSG_ERROR: the extended ack message when there is one.
std::string errorText(const nlmsghdr* h, int err) {
    std::string text = std::strerror(err);
    if (!(h->nlmsg_flags & NLM_F_ACK_TLVS)) return text;
    const auto* e = static_cast<const nlmsgerr*>(NLMSG_DATA(h));
    std::size_t offset = sizeof(nlmsgerr);
    if (!(h->nlmsg_flags & NLM_F_CAPPED)) offset += e->msg.nlmsg_len - NLMSG_HDRLEN;
    const char* p = static_cast<const char*>(NLMSG_DATA(h)) + NLMSG_ALIGN(offset);
    const char* end = reinterpret_cast<const char*>(h) + h->nlmsg_len;
    while (p + sizeof(nlattr) <= end) {
        const auto* a = reinterpret_cast<const nlattr*>(p);
        if (a->nla_len < sizeof(nlattr) || p + a->nla_len > end) break;
        if ((a->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG)
            return text + " (" +
                   std::string(p + NLA_HDRLEN, strnlen(p + NLA_HDRLEN, a->nla_len - NLA_HDRLEN)) +
                   ")";
        p += NLA_ALIGN(a->nla_len);
    }
    return text;
}

// Sends `r` and reads until its ack (or, for a dump, NLMSG_DONE), handing every other
// message to `each`. A negative ack throws with `what`, or returns its errno when it is
// one of `tolerated`.
template <typename F>
int exchange(int sock, Request& r, const std::string& what, F each, int tolerated = 0) {
    nlmsghdr* h = r.header();
    h->nlmsg_seq = nextSequence();
    const std::uint32_t seq = h->nlmsg_seq;
    if (::send(sock, h, h->nlmsg_len, 0) < 0) throwErrno(what + ": sending the netlink request");
    std::vector<char> buf(32768);
    for (;;) {
        ssize_t n = ::recv(sock, buf.data(), buf.size(), 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throwErrno(what + ": reading the netlink reply");
        if (n == 0) throw Error(what + ": the netlink socket closed");
        int len = static_cast<int>(n);
        for (auto* m = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(m, len);
             m = NLMSG_NEXT(m, len)) {
            if (m->nlmsg_seq != seq) continue;
            if (m->nlmsg_type == NLMSG_DONE) return 0;
            if (m->nlmsg_type == NLMSG_ERROR) {
                int err = -static_cast<const nlmsgerr*>(NLMSG_DATA(m))->error;
                if (err == 0) return 0;
                if (err == tolerated) return err;
                throw Error(what + ": " + errorText(m, err));
            }
            each(m);
        }
    }
}

}  // namespace

int LinuxNetDeviceKernel::openNamespace(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throwErrno("opening the network namespace " + path);
    return fd;
}

int LinuxNetDeviceKernel::routeSocket(int nsFd) {
    // A socket belongs to the namespace it was made in: enter, make it, come back. Only
    // this thread moves, and only for the one call.
    int back = -1;
    if (nsFd >= 0) {
        back = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (back < 0) throwErrno("opening the runtime's network namespace");
        if (::setns(nsFd, CLONE_NEWNET) < 0) {
            int err = errno;
            ::close(back);
            throwSys("entering the container's network namespace", err);
        }
    }
    int sock = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    int err = errno;
    if (back >= 0) {
        if (::setns(back, CLONE_NEWNET) < 0) {
            // Staying in the container's namespace would make every later step wrong.
            std::perror("caprun: returning to the runtime's network namespace");
            ::_exit(125);
        }
        ::close(back);
    }
    if (sock < 0) throwSys("opening a route netlink socket", err);
    int one = 1;
    ::setsockopt(sock, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
    return sock;
}

void LinuxNetDeviceKernel::closeFd(int fd) {
    ::close(fd);
}

int LinuxNetDeviceKernel::linkIndex(int sock, const std::string& name) {
    ifinfomsg m{};
    m.ifi_family = AF_UNSPEC;
    Request r(RTM_GETLINK, NLM_F_ACK, &m, sizeof m);
    r.attr(IFLA_IFNAME, name);
    int index = 0;
    int err = exchange(
        sock, r, "looking up the network device " + name,
        [&](const nlmsghdr* h) {
            if (h->nlmsg_type == RTM_NEWLINK)
                index = static_cast<const ifinfomsg*>(NLMSG_DATA(h))->ifi_index;
        },
        ENODEV);
    return err == ENODEV ? 0 : index;
}

std::vector<LinkAddress> LinuxNetDeviceKernel::linkAddresses(int sock, int index) {
    ifaddrmsg m{};
    m.ifa_family = AF_UNSPEC;
    Request r(RTM_GETADDR, NLM_F_DUMP, &m, sizeof m);
    std::vector<LinkAddress> out;
    exchange(sock, r, "listing the addresses of network device #" + std::to_string(index),
             [&](const nlmsghdr* h) {
                 if (h->nlmsg_type != RTM_NEWADDR) return;
                 const auto* a = static_cast<const ifaddrmsg*>(NLMSG_DATA(h));
                 if (static_cast<int>(a->ifa_index) != index) return;
                 LinkAddress la;
                 la.family = a->ifa_family;
                 la.prefixLength = a->ifa_prefixlen;
                 la.scope = a->ifa_scope;
                 la.flags = a->ifa_flags;
                 int len = static_cast<int>(IFA_PAYLOAD(h));
                 for (auto* rta = IFA_RTA(a); RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
                     const auto* d = static_cast<const std::uint8_t*>(RTA_DATA(rta));
                     std::vector<std::uint8_t> bytes(d, d + RTA_PAYLOAD(rta));
                     if (rta->rta_type == IFA_LOCAL) la.local = bytes;
                     if (rta->rta_type == IFA_ADDRESS) la.address = bytes;
                     if (rta->rta_type == IFA_FLAGS && bytes.size() == 4)
                         std::memcpy(&la.flags, d, 4);
                 }
                 out.push_back(std::move(la));
             });
    return out;
}

void LinuxNetDeviceKernel::setLinkUp(int sock, int index, bool up) {
    ifinfomsg m{};
    m.ifi_family = AF_UNSPEC;
    m.ifi_index = index;
    m.ifi_flags = up ? IFF_UP : 0;
    m.ifi_change = IFF_UP;
    Request r(RTM_NEWLINK, NLM_F_ACK, &m, sizeof m);
    exchange(
        sock, r,
        std::string("setting network device #") + std::to_string(index) + (up ? " up" : " down"),
        [](const nlmsghdr*) {});
}

void LinuxNetDeviceKernel::moveLink(int sock, int index, int targetNsFd,
                                    const std::string& newName) {
    ifinfomsg m{};
    m.ifi_family = AF_UNSPEC;
    m.ifi_index = index;
    Request r(RTM_NEWLINK, NLM_F_ACK, &m, sizeof m);
    std::uint32_t fd = static_cast<std::uint32_t>(targetNsFd);
    r.attr(IFLA_NET_NS_FD, &fd, sizeof fd);
    r.attr(IFLA_IFNAME, newName);
    exchange(sock, r, "moving network device #" + std::to_string(index) + " as " + newName,
             [](const nlmsghdr*) {});
}

void LinuxNetDeviceKernel::addAddress(int sock, int index, const LinkAddress& a) {
    ifaddrmsg m{};
    m.ifa_family = static_cast<unsigned char>(a.family);
    m.ifa_prefixlen = static_cast<unsigned char>(a.prefixLength);
    m.ifa_scope = static_cast<unsigned char>(a.scope);
    m.ifa_index = static_cast<unsigned>(index);
    Request r(RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, &m, sizeof m);
    if (!a.local.empty()) r.attr(IFA_LOCAL, a.local.data(), a.local.size());
    if (!a.address.empty()) r.attr(IFA_ADDRESS, a.address.data(), a.address.size());
    exchange(sock, r, "adding the address " + a.text(), [](const nlmsghdr*) {});
}

void LinuxNetDeviceKernel::pinNamespace(const std::string& nsPath, const std::string& pinPath) {
    int fd = ::open(pinPath.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0400);
    if (fd < 0) throwErrno("creating " + pinPath + " to keep the network namespace in");
    ::close(fd);
    if (::mount(nsPath.c_str(), pinPath.c_str(), nullptr, MS_BIND, nullptr) < 0) {
        int err = errno;
        ::unlink(pinPath.c_str());
        throwSys("bind-mounting the network namespace " + nsPath + " on " + pinPath, err);
    }
}

void LinuxNetDeviceKernel::unpinNamespace(const std::string& pinPath) {
    if (::umount2(pinPath.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL &&
        errno != ENOENT)
        throwErrno("unmounting the network namespace pin " + pinPath);
    if (::unlink(pinPath.c_str()) < 0 && errno != ENOENT) throwErrno("removing " + pinPath);
}

}  // namespace caprun
