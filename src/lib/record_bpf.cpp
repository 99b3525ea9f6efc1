// The eBPF side of `caprun record` (built only with libbpf, clang and bpftool): loads the
// CO-RE program from its skeleton, points it at the container's cgroup and reads its maps.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <seccomp.h>
#include <unistd.h>

#include <cerrno>
#include <future>

#include "caprun/error.hpp"
#include "caprun/record.hpp"
#include "caprun/sys/read_file.hpp"
#include "record.h"
#include "record.skel.h"

namespace caprun {

bool recordBuiltWithTracer() {
    return true;
}

namespace {

std::uint32_t archOfAbi(unsigned abi) {
    const std::uint32_t native = seccomp_arch_native();
    if (abi == REC_ABI_X32) return SCMP_ARCH_X32;
    if (abi == REC_ABI_COMPAT) {
        if (native == SCMP_ARCH_X86_64) return SCMP_ARCH_X86;
        if (native == SCMP_ARCH_AARCH64) return SCMP_ARCH_ARM;
    }
    return native;
}

// Every key of a hash map with its u64 value.
template <typename Key, typename F>
void forEachEntry(int fd, F&& f) {
    Key key{}, next{};
    const Key* prev = nullptr;
    while (bpf_map_get_next_key(fd, prev, &next) == 0) {
        unsigned long long v = 0;
        if (bpf_map_lookup_elem(fd, &next, &v) == 0) f(next, v);
        key = next;
        prev = &key;
    }
}

}  // namespace

struct RecordTracer::Impl {
    record* skel = nullptr;
    int cgroupFd = -1;
    ~Impl() {
        if (skel) record__destroy(skel);
        if (cgroupFd >= 0) ::close(cgroupFd);
    }
};

RecordTracer::RecordTracer(const std::string& cgroupDir) : impl_(std::make_unique<Impl>()) {
    if (cgroupDir.empty())
        throw Error("record: the container has no cgroup v2 (unified) directory to filter on");
    impl_->cgroupFd = ::open(cgroupDir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (impl_->cgroupFd < 0) throwErrno("record: opening the container's cgroup " + cgroupDir);
    libbpf_set_print(nullptr);
    impl_->skel = record__open();
    if (!impl_->skel) throwErrno("record: opening the eBPF program");
    // /proc/kallsyms takes the kernel ~40 ms to list: read while libbpf parses the BTF.
    auto ranges = std::async(std::launch::async,
                             [] { return noauditCheckRanges(sys::readFile("/proc/kallsyms")); });
    if (int rc = record__load(impl_->skel); rc != 0)
        throwSys(
            "record: loading the eBPF program (fexit on cap_capable, sys_enter/sys_exit, "
            "sched_process_exec/fork/exit)",
            -rc);
    const __u32 zero = 0;
    if (bpf_map_update_elem(bpf_map__fd(impl_->skel->maps.target_cgroup), &zero, &impl_->cgroupFd,
                            BPF_ANY) != 0)
        throwErrno("record: filtering on the cgroup " + cgroupDir);
    const std::vector<AddressRange> noaudit = ranges.get();
    rec_noaudit_ranges v{};
    constexpr std::size_t slots = sizeof v.lo / sizeof v.lo[0];
    if (noaudit.size() > slots)
        throw Error("record: " + std::to_string(noaudit.size()) +
                    " code ranges of no-audit capability checks, more than the program's " +
                    std::to_string(slots));
    for (std::size_t i = 0; i < noaudit.size(); ++i) {
        v.lo[i] = noaudit[i].lo;
        v.hi[i] = noaudit[i].hi;
    }
    if (bpf_map_update_elem(bpf_map__fd(impl_->skel->maps.noaudit), &zero, &v, BPF_ANY) != 0)
        throwErrno("record: handing the no-audit check ranges to the eBPF program");
    if (int rc = record__attach(impl_->skel); rc != 0)
        throwSys("record: attaching the eBPF program", -rc);
}

RecordTracer::~RecordTracer() = default;

Recording RecordTracer::collect() const {
    Recording r;
    forEachEntry<rec_syscall_key>(
        bpf_map__fd(impl_->skel->maps.syscalls),
        [&](const rec_syscall_key& k, unsigned long long n) {
            r.syscalls.push_back({archOfAbi(k.abi), static_cast<long>(k.nr), n});
        });
    forEachEntry<rec_cap_key>(
        bpf_map__fd(impl_->skel->maps.caps), [&](const rec_cap_key& k, unsigned long long n) {
            r.capChecks.push_back({static_cast<int>(k.cap), archOfAbi(k.abi),
                                   static_cast<long>(k.nr), (k.flags & REC_CHECK_GRANTED) != 0,
                                   (k.flags & REC_CHECK_AMBIENT) != 0, n});
        });
    // Map order is the kernel's hash order: merged (and so sorted) for a stable recording.
    return mergeRecordings({r});
}

}  // namespace caprun
