// The maps the recorder's BPF program fills and `caprun record` reads once the workload ended
// (shared by record.bpf.c and record_bpf.cpp).
#pragma once

// The syscall ABI of a recorded thread: its architecture's native one, the 32-bit compat one
// (ia32 on x86_64, arm32 on arm64), or x32.
#define REC_ABI_NATIVE 0
#define REC_ABI_COMPAT 1
#define REC_ABI_X32 2

#define REC_CHECK_GRANTED 1u  // the capability check succeeded
#define REC_CHECK_AMBIENT 2u  // granted to a non-root euid whose ambient set holds it

struct rec_syscall_key {
    unsigned int abi;
    unsigned int nr;
};

struct rec_cap_key {
    unsigned int cap;
    unsigned int abi;
    int nr;  // the syscall the check happened in, -1 outside any syscall
    unsigned int flags;
};

// The code of the kernel's no-audit capability check functions, [lo, hi) each.
#define REC_NOAUDIT_RANGES 8
struct rec_noaudit_ranges {
    unsigned long long lo[REC_NOAUDIT_RANGES];
    unsigned long long hi[REC_NOAUDIT_RANGES];
};
