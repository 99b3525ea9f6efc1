// What the machine running the unit tests offers, for doctest::skip decorators: a case that
// needs root (or a writable cgroup v2 hierarchy) is reported skipped, never passed, where it
// cannot run. Evaluated when the cases register, before main.
#pragma once

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace caprun_test {

inline bool notRoot() {
    return ::geteuid() != 0;
}

// Whether this process lacks `cap` in its effective set (an ordinary user, or root in a
// poorer sandbox).
inline bool lacksEffective(int cap) {
    __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2]{};
    if (::syscall(SYS_capget, &hdr, data) != 0) return true;
    return (data[cap / 32].effective & (1U << (cap % 32))) == 0;
}

}  // namespace caprun_test
