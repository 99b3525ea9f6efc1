// The event the BPF program sends to user space (shared by trace_eperm.bpf.c and trace.cpp).
#pragma once

#define EPERM_ 1
#define EACCES_ 13

struct eperm_event {
    unsigned long long denied;  // capabilities whose check failed inside the syscall
    long long nr;               // syscall number (native architecture)
    long long ret;              // -EPERM or -EACCES
    unsigned int pid, tid;      // host pid (thread group) and thread id
    unsigned int saw_enter;     // 0: the syscall never reached sys_enter (seccomp refused it)
    char comm[16];
};
