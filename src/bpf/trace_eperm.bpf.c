// caprun trace: the syscalls of one container's processes that fail with EPERM or EACCES,
// with the capability checks the kernel denied inside the same syscall of the same thread.
// Filtered in the kernel to the container's cgroup (v2, descendants included); events go to
// user space through a ring buffer. CO-RE against the running kernel's BTF.
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "trace_eperm.h"

char LICENSE[] SEC("license") = "GPL";

// Slot 0: the container's cgroup (a directory fd of the unified hierarchy).
struct {
    __uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u32);
} target_cgroup SEC(".maps");

// The syscall each traced thread is in, and the capabilities denied during it. LRU: a thread
// that dies inside a syscall leaves an entry the map forgets by itself.
struct inflight {
    __u64 denied;  // bit n: a check of capability n failed
    __s64 nr;
};
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 16384);
    __type(key, __u32);
    __type(value, struct inflight);
} inflight SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 256 * 1024);
} events SEC(".maps");

static __always_inline int in_container(void) {
    return bpf_current_task_under_cgroup(&target_cgroup, 0) == 1;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(on_sys_enter, struct pt_regs* regs, long id) {
    if (!in_container()) return 0;
    __u32 tid = (__u32)bpf_get_current_pid_tgid();
    struct inflight v = {.denied = 0, .nr = id};
    bpf_map_update_elem(&inflight, &tid, &v, BPF_ANY);
    return 0;
}

SEC("tp_btf/cap_capable")
int BPF_PROG(on_cap_capable, const struct cred* cred, struct user_namespace* target_ns,
             const struct user_namespace* capable_ns, int cap, int ret) {
    if (ret == 0 || cap < 0 || cap > 63) return 0;
    __u32 tid = (__u32)bpf_get_current_pid_tgid();
    struct inflight* v = bpf_map_lookup_elem(&inflight, &tid);
    if (!v) return 0;  // not a traced thread, or not inside a syscall we saw start
    __sync_fetch_and_or(&v->denied, 1ULL << cap);
    return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(on_sys_exit, struct pt_regs* regs, long ret) {
    if (!in_container()) return 0;
    __u64 pidtgid = bpf_get_current_pid_tgid();
    __u32 tid = (__u32)pidtgid;
    struct inflight* v = bpf_map_lookup_elem(&inflight, &tid);
    if (ret != -EPERM_ && ret != -EACCES_) {
        if (v) bpf_map_delete_elem(&inflight, &tid);
        return 0;
    }
    struct eperm_event* e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
    if (e) {
        e->pid = pidtgid >> 32;
        e->tid = tid;
        e->ret = ret;
        // A syscall the seccomp filter refused never reached sys_enter: no entry.
        e->saw_enter = v ? 1 : 0;
#if defined(__TARGET_ARCH_arm64)
        e->nr = v ? v->nr : BPF_CORE_READ(regs, syscallno);
#else
        e->nr = v ? v->nr : BPF_CORE_READ(regs, orig_ax);
#endif
        e->denied = v ? v->denied : 0;
        bpf_get_current_comm(e->comm, sizeof(e->comm));
        bpf_ringbuf_submit(e, 0);
    }
    if (v) bpf_map_delete_elem(&inflight, &tid);
    return 0;
}
