// The eBPF side of `caprun trace` (built only with libbpf, clang and bpftool): loads the
// CO-RE program from the generated skeleton, points it at the container's cgroup and reads
// its ring buffer.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdarg>
#include <cstdio>
#include <fstream>

#include "caprun/error.hpp"
#include "caprun/trace.hpp"
#include "trace_eperm.h"
#include "trace_eperm.skel.h"

namespace caprun {

namespace {

// libbpf's own messages, kept for the error when loading fails.
thread_local std::string gLibbpfLog;

int collectLibbpfLog(enum libbpf_print_level level, const char* fmt, va_list args) {
    if (level == LIBBPF_DEBUG) return 0;
    char buf[1024];
    int n = std::vsnprintf(buf, sizeof buf, fmt, args);
    if (gLibbpfLog.size() < 8192) gLibbpfLog += buf;
    return n;
}

std::string lockdownState() {
    std::ifstream in("/sys/kernel/security/lockdown");
    std::string s;
    std::getline(in, s);
    return s;
}

// Why a load failed, in words: the errno and what usually causes it.
std::string loadFailure(int err) {
    std::string why = errnoText(err);
    const std::string lock = lockdownState();
    if (lock.find("[integrity]") != std::string::npos ||
        lock.find("[confidentiality]") != std::string::npos)
        why += "; the kernel is in lockdown (" + lock + "), which forbids tracing programs";
    else if (err == EPERM || err == EACCES)
        why +=
            "; loading tracing programs needs CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN) in "
            "the initial user namespace, which this process lacks";
    std::string log = gLibbpfLog;
    while (!log.empty() && log.back() == '\n') log.pop_back();
    if (!log.empty()) why += " (libbpf: " + log.substr(0, 600) + ")";
    return why;
}

}  // namespace

bool traceBuilt() {
    return true;
}

bool traceAvailable(std::string* why) {
    struct stat st {};
    if (::stat("/sys/kernel/btf/vmlinux", &st) != 0) {
        if (why)
            *why =
                "this kernel exposes no BTF (/sys/kernel/btf/vmlinux is missing: "
                "CONFIG_DEBUG_INFO_BTF is off), which the CO-RE program needs";
        return false;
    }
    return true;
}

struct EpermTracer::Impl {
    trace_eperm* skel = nullptr;
    ring_buffer* rb = nullptr;
    int cgroupFd = -1;
    int wakeFd = -1;   // eventfd: wake() ends a poll at once
    int epollFd = -1;  // the ring buffer's epoll fd and wakeFd
    const std::function<void(const TraceEvent&)>* onEvent = nullptr;
    ~Impl() {
        if (epollFd >= 0) ::close(epollFd);
        if (wakeFd >= 0) ::close(wakeFd);
        if (rb) ring_buffer__free(rb);
        if (skel) trace_eperm__destroy(skel);
        if (cgroupFd >= 0) ::close(cgroupFd);
    }
};

namespace {

int handleEvent(void* ctx, void* data, size_t size) {
    auto* impl = static_cast<EpermTracer::Impl*>(ctx);
    if (size < sizeof(eperm_event) || !impl->onEvent) return 0;
    const auto* e = static_cast<const eperm_event*>(data);
    TraceEvent t;
    t.pid = e->pid;
    t.tid = e->tid;
    t.comm.assign(e->comm, strnlen(e->comm, sizeof e->comm));
    t.syscallNr = static_cast<long>(e->nr);
    t.error = static_cast<int>(-e->ret);
    t.deniedCaps = e->denied;
    t.sawEnter = e->saw_enter != 0;
    (*impl->onEvent)(t);
    return 0;
}

}  // namespace

EpermTracer::EpermTracer(const std::string& cgroupDir) : impl_(std::make_unique<Impl>()) {
    std::string why;
    if (!traceAvailable(&why)) throw Error("trace: cannot load the eBPF program: " + why);
    if (cgroupDir.empty())
        throw Error("trace: the container has no cgroup v2 (unified) directory to filter on");
    impl_->cgroupFd = ::open(cgroupDir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (impl_->cgroupFd < 0) throwErrno("trace: opening the container's cgroup " + cgroupDir);
    gLibbpfLog.clear();
    libbpf_set_print(collectLibbpfLog);
    impl_->skel = trace_eperm__open();
    if (!impl_->skel) throw Error("trace: cannot open the eBPF program: " + loadFailure(errno));
    if (int rc = trace_eperm__load(impl_->skel); rc != 0)
        throw Error("trace: cannot load the eBPF program: " + loadFailure(-rc));
    const __u32 zero = 0;
    if (bpf_map_update_elem(bpf_map__fd(impl_->skel->maps.target_cgroup), &zero, &impl_->cgroupFd,
                            BPF_ANY) != 0)
        throwErrno("trace: filtering on the cgroup " + cgroupDir);
    if (int rc = trace_eperm__attach(impl_->skel); rc != 0)
        throw Error(
            "trace: cannot attach to the cap_capable and sys_enter/sys_exit "
            "tracepoints: " +
            loadFailure(-rc));
    impl_->rb =
        ring_buffer__new(bpf_map__fd(impl_->skel->maps.events), handleEvent, impl_.get(), nullptr);
    if (!impl_->rb) throwErrno("trace: opening the eBPF ring buffer");
    impl_->wakeFd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (impl_->wakeFd < 0) throwErrno("trace: creating the poller's eventfd");
    impl_->epollFd = ::epoll_create1(EPOLL_CLOEXEC);
    if (impl_->epollFd < 0) throwErrno("trace: creating the poller's epoll set");
    for (int fd : {ring_buffer__epoll_fd(impl_->rb), impl_->wakeFd}) {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.fd = fd;
        if (::epoll_ctl(impl_->epollFd, EPOLL_CTL_ADD, fd, &ev) != 0)
            throwErrno("trace: adding to the poller's epoll set");
    }
}

EpermTracer::~EpermTracer() = default;

int EpermTracer::poll(int timeoutMs, const std::function<void(const TraceEvent&)>& onEvent) {
    // Our own epoll set (libbpf's holds only its rings): ring data or wake(), whichever first.
    epoll_event evs[2];
    if (::epoll_wait(impl_->epollFd, evs, 2, timeoutMs) < 0 && errno != EINTR)
        throwErrno("trace: waiting for the eBPF ring buffer");
    impl_->onEvent = &onEvent;
    int n = ring_buffer__consume(impl_->rb);
    impl_->onEvent = nullptr;
    if (n < 0 && n != -EINTR) throwSys("trace: reading the eBPF ring buffer", -n);
    return n < 0 ? 0 : n;
}

void EpermTracer::wake() {
    const std::uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(impl_->wakeFd, &one, sizeof one);
}

}  // namespace caprun
