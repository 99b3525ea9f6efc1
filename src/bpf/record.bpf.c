// caprun record: the syscalls and the capability checks of a workload, from its first
// execve until it exits. Filtered in the kernel to the container's cgroup (v2, descendants
// included) and to threads that have exec'd there (or descend from one): none of caprun's
// own set-up before the container process's execve is seen. Counts are aggregated in hash
// maps the runtime reads once, so a busy workload costs no ring-buffer traffic.
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "record.h"

char LICENSE[] SEC("license") = "GPL";

struct {
    __uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u32);
} target_cgroup SEC(".maps");

// Threads of the workload: set at execve in the cgroup, inherited by fork and clone.
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 65536);
    __type(key, __u32);
    __type(value, __u8);
} started SEC(".maps");

struct inflight {
    __s32 nr;
    __u32 abi;
};
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 65536);
    __type(key, __u32);
    __type(value, struct inflight);
} inflight SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 8192);
    __type(key, struct rec_syscall_key);
    __type(value, __u64);
} syscalls SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 8192);
    __type(key, struct rec_cap_key);
    __type(value, __u64);
} caps SEC(".maps");

static __always_inline int in_container(void) {
    return bpf_current_task_under_cgroup(&target_cgroup, 0) == 1;
}

static __always_inline void count(void* map, const void* key) {
    __u64 one = 1;
    __u64* v = bpf_map_lookup_elem(map, key);
    if (v)
        __sync_fetch_and_add(v, 1);
    else
        bpf_map_update_elem(map, key, &one, BPF_NOEXIST);
}

static __always_inline __u32 current_abi(long id) {
#if defined(__TARGET_ARCH_x86)
    struct task_struct* t = (struct task_struct*)bpf_get_current_task_btf();
    if (BPF_CORE_READ(t, thread_info.status) & 0x0002) return REC_ABI_COMPAT;  // TS_COMPAT
    if (id & 0x40000000) return REC_ABI_X32;                                   // __X32_SYSCALL_BIT
#elif defined(__TARGET_ARCH_arm64)
    struct task_struct* t = (struct task_struct*)bpf_get_current_task_btf();
    if (BPF_CORE_READ(t, thread_info.flags) & (1UL << 22)) return REC_ABI_COMPAT;  // TIF_32BIT
#endif
    return REC_ABI_NATIVE;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct* p) {
    if (!in_container()) return 0;
    __u32 tid = (__u32)bpf_get_current_pid_tgid();
    __u8 one = 1;
    bpf_map_update_elem(&started, &tid, &one, BPF_ANY);
    return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct* parent, struct task_struct* child) {
    __u32 tid = (__u32)bpf_get_current_pid_tgid();
    if (!bpf_map_lookup_elem(&started, &tid)) return 0;
    __u32 ctid = BPF_CORE_READ(child, pid);
    __u8 one = 1;
    bpf_map_update_elem(&started, &ctid, &one, BPF_ANY);
    return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct* p) {
    __u32 tid = (__u32)bpf_get_current_pid_tgid();
    bpf_map_delete_elem(&started, &tid);
    bpf_map_delete_elem(&inflight, &tid);
    return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(on_sys_enter, struct pt_regs* regs, long id) {
    __u32 tid = (__u32)bpf_get_current_pid_tgid();
    if (!bpf_map_lookup_elem(&started, &tid)) return 0;
    // A thread that left the cgroup (moved elsewhere) is no longer the container's.
    if (!in_container()) return 0;
    struct inflight v = {.nr = (__s32)id, .abi = current_abi(id)};
    bpf_map_update_elem(&inflight, &tid, &v, BPF_ANY);
    struct rec_syscall_key k = {.abi = v.abi, .nr = (__u32)id};
    count(&syscalls, &k);
    return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(on_sys_exit, struct pt_regs* regs, long ret) {
    __u32 tid = (__u32)bpf_get_current_pid_tgid();
    bpf_map_delete_elem(&inflight, &tid);
    return 0;
}

// The kernel's no-audit capability checks (CAP_OPT_NOAUDIT: the CAP_SYS_ADMIN of every mmap's
// vm_enough_memory, ptrace_may_access's probes) decide nothing the workload asked for. The
// capability:cap_capable tracepoint does not carry `opts`, and fexit on cap_capable is not
// allowed everywhere, so a check is no-audit when one of the kernel functions that make them
// (ns_capable_noaudit, has_ns_capability_noaudit, has_capability_noaudit,
// cap_vm_enough_memory, security_vm_enough_memory_mm: [lo, hi) from /proc/kallsyms) is on
// its stack.
#define REC_STACK_DEPTH 12
// Filled by user space after load (while libbpf parsed the kernel's BTF, it read
// /proc/kallsyms), before attach.
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct rec_noaudit_ranges);
} noaudit SEC(".maps");

struct stack_buf {
    __u64 ip[REC_STACK_DEPTH];
};
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct stack_buf);
} stack_scratch SEC(".maps");

static __always_inline int from_noaudit_caller(void* ctx) {
    __u32 zero = 0;
    struct stack_buf* b = bpf_map_lookup_elem(&stack_scratch, &zero);
    if (!b) return 0;
    struct rec_noaudit_ranges* nr = bpf_map_lookup_elem(&noaudit, &zero);
    if (!nr) return 0;
    long n = bpf_get_stack(ctx, b->ip, sizeof(b->ip), 0);
    if (n <= 0) return 0;
    for (int i = 0; i < REC_STACK_DEPTH; i++) {
        if (i * 8 >= n) break;
        __u64 ip = b->ip[i];
        for (int r = 0; r < REC_NOAUDIT_RANGES; r++)
            if (ip >= nr->lo[r] && ip < nr->hi[r]) return 1;
    }
    return 0;
}

SEC("tp_btf/cap_capable")
int BPF_PROG(on_cap_capable, const struct cred* cred, struct user_namespace* target_ns,
             const struct user_namespace* capable_ns, int cap, int ret) {
    if (cap < 0 || cap > 63) return 0;
    __u32 tid = (__u32)bpf_get_current_pid_tgid();
    if (!bpf_map_lookup_elem(&started, &tid)) return 0;
    if (from_noaudit_caller(ctx)) return 0;
    struct rec_cap_key k = {.cap = (__u32)cap, .abi = REC_ABI_NATIVE, .nr = -1, .flags = 0};
    struct inflight* v = bpf_map_lookup_elem(&inflight, &tid);
    if (v) {
        k.nr = v->nr;
        k.abi = v->abi;
    }
    if (ret == 0) {
        k.flags |= REC_CHECK_GRANTED;
        __u64 ambient = BPF_CORE_READ(cred, cap_ambient.val);
        __u32 euid = BPF_CORE_READ(cred, euid.val);
        if (euid != 0 && (ambient & (1ULL << cap))) k.flags |= REC_CHECK_AMBIENT;
    }
    count(&caps, &k);
    return 0;
}
