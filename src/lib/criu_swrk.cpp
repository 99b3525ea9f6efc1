#include "caprun/criu_swrk.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "caprun/error.hpp"
#include "criu_swrk.pb-c.h"

namespace caprun {

namespace {

CriuReqType requestType(CriuRequestType t) {
    switch (t) {
        case CriuRequestType::Dump:
            return CRIU_REQ_TYPE__DUMP;
        case CriuRequestType::PreDump:
            return CRIU_REQ_TYPE__PRE_DUMP;
        case CriuRequestType::Restore:
            return CRIU_REQ_TYPE__RESTORE;
    }
    return CRIU_REQ_TYPE__EMPTY;
}

std::string pack(const CriuReq& req) {
    std::string out(criu_req__get_packed_size(&req), '\0');
    criu_req__pack(&req, reinterpret_cast<uint8_t*>(out.data()));
    return out;
}

char* cstr(const std::string& s) {
    return const_cast<char*>(s.c_str());
}

}  // namespace

CriuSwrk::CriuSwrk(const std::string& criuPath, const std::vector<int>& passFds)
    : path_(criuPath.empty() ? std::string("criu") : criuPath) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        throwErrno("creating the socket to criu swrk");
    // An exec failure comes back through a close-on-exec pipe.
    int errPipe[2];
    if (::pipe2(errPipe, O_CLOEXEC) < 0) {
        ::close(sv[0]);
        ::close(sv[1]);
        throwErrno("creating a pipe for starting criu");
    }
    std::string fdArg = std::to_string(sv[1]);
    pid_t pid = ::fork();
    if (pid < 0) {
        int e = errno;
        ::close(sv[0]);
        ::close(sv[1]);
        ::close(errPipe[0]);
        ::close(errPipe[1]);
        errno = e;
        throwErrno("forking criu swrk");
    }
    if (pid == 0) {
        ::close(sv[0]);
        ::close(errPipe[0]);
        // CRIU does not outlive caprun: a killed checkpoint leaves no dumper behind.
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        int keep[] = {sv[1]};
        for (int fd : keep) ::fcntl(fd, F_SETFD, 0);
        for (int fd : passFds) ::fcntl(fd, F_SETFD, 0);
        sigset_t none;
        ::sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        const char* argv[] = {path_.c_str(), "swrk", fdArg.c_str(), nullptr};
        ::execvp(argv[0], const_cast<char* const*>(argv));
        int e = errno;
        if (::write(errPipe[1], &e, sizeof e) < 0) {
        }
        ::_exit(127);
    }
    ::close(sv[1]);
    ::close(errPipe[1]);
    pid_ = pid;
    sock_ = sv[0];
    int e = 0;
    ssize_t n;
    do {
        n = ::read(errPipe[0], &e, sizeof e);
    } while (n < 0 && errno == EINTR);
    ::close(errPipe[0]);
    if (n == static_cast<ssize_t>(sizeof e)) {
        wait();
        throw Error("starting CRIU " + path_ + " (swrk): " + std::strerror(e) +
                    " (the global --criu PATH names the binary)");
    }
}

CriuSwrk::~CriuSwrk() {
    if (sock_ >= 0) ::close(sock_);
    if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        wait();
    }
}

int CriuSwrk::wait() {
    if (pid_ <= 0) return 0;
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

CriuResponse CriuSwrk::exchange(const std::string& bytes, const char* what) {
    if (::send(sock_, bytes.data(), bytes.size(), MSG_NOSIGNAL) < 0)
        throwErrno(std::string("sending the ") + what + " request to CRIU " + path_);
    std::string buf(1 << 16, '\0');
    ssize_t n;
    do {
        n = ::recv(sock_, buf.data(), buf.size(), 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) throwErrno(std::string("reading CRIU's answer to the ") + what + " request");
    if (n == 0) {
        int rc = wait();
        throw Error(std::string("CRIU ") + path_ + " exited (status " + std::to_string(rc) +
                    ") without answering the " + what + " request");
    }
    std::unique_ptr<CriuResp, void (*)(CriuResp*)> resp(
        criu_resp__unpack(nullptr, static_cast<size_t>(n),
                          reinterpret_cast<const uint8_t*>(buf.data())),
        [](CriuResp* r) { criu_resp__free_unpacked(r, nullptr); });
    if (!resp) throw Error(std::string("CRIU's answer to the ") + what + " request is not valid");
    CriuResponse out;
    out.success = resp->success;
    if (resp->has_cr_errno) out.crErrno = resp->cr_errno;
    if (resp->cr_errmsg) out.errmsg = resp->cr_errmsg;
    if (resp->restore) out.restoredPid = resp->restore->pid;
    if (resp->features && resp->features->has_mem_track) out.memTrack = resp->features->mem_track;
    return out;
}

CriuResponse CriuSwrk::featureCheckMemTrack() {
    CriuReq req = CRIU_REQ__INIT;
    req.type = CRIU_REQ_TYPE__FEATURE_CHECK;
    CriuFeatures features = CRIU_FEATURES__INIT;
    features.has_mem_track = 1;
    features.mem_track = 1;
    req.features = &features;
    return exchange(pack(req), "feature check");
}

CriuResponse CriuSwrk::send(const CriuRequest& r, const CriuFds& fds) {
    CriuOpts opts = CRIU_OPTS__INIT;
    opts.images_dir_fd = fds.imagesDir;
    if (fds.workDir >= 0) {
        opts.has_work_dir_fd = 1;
        opts.work_dir_fd = fds.workDir;
    }
    opts.has_log_level = 1;
    opts.log_level = 4;  // runc's level: callers read the log when something fails
    opts.log_file = cstr(r.logFile);
    if (r.pid > 0) {
        opts.has_pid = 1;
        opts.pid = r.pid;
    }
    opts.root = cstr(r.root);
    auto flag = [](protobuf_c_boolean& has, protobuf_c_boolean& v, bool on) {
        if (on) has = v = 1;
    };
    flag(opts.has_leave_running, opts.leave_running, r.leaveRunning);
    flag(opts.has_tcp_established, opts.tcp_established, r.tcpEstablished);
    flag(opts.has_ext_unix_sk, opts.ext_unix_sk, r.extUnixSk);
    flag(opts.has_shell_job, opts.shell_job, r.shellJob);
    flag(opts.has_file_locks, opts.file_locks, r.fileLocks);
    flag(opts.has_auto_dedup, opts.auto_dedup, r.autoDedup);
    flag(opts.has_track_mem, opts.track_mem, r.trackMem);
    flag(opts.has_rst_sibling, opts.rst_sibling, r.restoreIntoSibling);
    flag(opts.has_orphan_pts_master, opts.orphan_pts_master, r.orphanPtsMaster);
    opts.has_manage_cgroups = opts.manage_cgroups = 1;
    opts.has_manage_cgroups_mode = 1;
    opts.manage_cgroups_mode = static_cast<CriuCgMode>(static_cast<int>(r.cgroupMode));
    if (!r.parentImage.empty()) opts.parent_img = cstr(r.parentImage);
    if (!r.freezeCgroup.empty()) opts.freeze_cgroup = cstr(r.freezeCgroup);
    if (r.emptyNs) {
        opts.has_empty_ns = 1;
        opts.empty_ns = r.emptyNs;
    }
    if (!r.lsmProfile.empty()) opts.lsm_profile = cstr(r.lsmProfile);
    if (!r.lsmMountContext.empty()) opts.lsm_mount_context = cstr(r.lsmMountContext);

    std::vector<ExtMountMap> mounts(r.extMounts.size());
    std::vector<ExtMountMap*> mountPtrs;
    for (std::size_t i = 0; i < r.extMounts.size(); ++i) {
        mounts[i] = EXT_MOUNT_MAP__INIT;
        mounts[i].key = cstr(r.extMounts[i].first);
        mounts[i].val = cstr(r.extMounts[i].second);
        mountPtrs.push_back(&mounts[i]);
    }
    opts.n_ext_mnt = mountPtrs.size();
    opts.ext_mnt = mountPtrs.data();

    std::vector<char*> external;
    for (const auto& e : r.external) external.push_back(cstr(e));
    opts.n_external = external.size();
    opts.external = external.data();

    std::vector<InheritFd> inherit(fds.inherit.size());
    std::vector<InheritFd*> inheritPtrs;
    for (std::size_t i = 0; i < fds.inherit.size(); ++i) {
        inherit[i] = INHERIT_FD__INIT;
        inherit[i].key = cstr(fds.inherit[i].first);
        inherit[i].fd = fds.inherit[i].second;
        inheritPtrs.push_back(&inherit[i]);
    }
    opts.n_inherit_fd = inheritPtrs.size();
    opts.inherit_fd = inheritPtrs.data();

    std::vector<CgroupRoot> roots(r.cgroupRoots.size());
    std::vector<CgroupRoot*> rootPtrs;
    for (std::size_t i = 0; i < r.cgroupRoots.size(); ++i) {
        roots[i] = CGROUP_ROOT__INIT;
        roots[i].ctrl = cstr(r.cgroupRoots[i].first);
        roots[i].path = cstr(r.cgroupRoots[i].second);
        rootPtrs.push_back(&roots[i]);
    }
    opts.n_cg_root = rootPtrs.size();
    opts.cg_root = rootPtrs.data();

    CriuReq req = CRIU_REQ__INIT;
    req.type = requestType(r.type);
    req.opts = &opts;
    return exchange(pack(req), r.type == CriuRequestType::Restore ? "restore" : "dump");
}

}  // namespace caprun
