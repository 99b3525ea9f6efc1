#include "caprun/platform_facts.hpp"

#include <sys/statfs.h>

#include <fstream>
#include <sstream>

#ifndef RESCTRL_SUPER_MAGIC
#define RESCTRL_SUPER_MAGIC 0x07655821
#endif
#ifndef SELINUX_MAGIC
#define SELINUX_MAGIC 0xf97cff8c
#endif

namespace caprun {

namespace {

bool fsIs(const char* path, unsigned long magic) {
    struct statfs st {};
    return ::statfs(path, &st) == 0 && static_cast<unsigned long>(st.f_type) == magic;
}

bool apparmorOn() {
    std::ifstream in("/sys/module/apparmor/parameters/enabled");
    std::string v;
    return in && std::getline(in, v) && !v.empty() && v[0] == 'Y';
}

// /proc/cgroups lists the v1 controllers the kernel has (v2 ones too: it lists every
// controller compiled in, enabled or not in the 4th column).
bool rdmaControllerPresent() {
    std::ifstream in("/proc/cgroups");
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream f(line);
        std::string name;
        int hierarchy = 0, groups = 0, enabled = 0;
        if (f >> name >> hierarchy >> groups >> enabled && name == "rdma") return enabled != 0;
    }
    return false;
}

}  // namespace

const PlatformFacts& PlatformFacts::probe() {
    static const PlatformFacts facts = [] {
        PlatformFacts f;
        f.apparmorEnabled = apparmorOn();
        f.selinuxEnabled = fsIs("/sys/fs/selinux", SELINUX_MAGIC);
        f.resctrlMounted = fsIs("/sys/fs/resctrl", RESCTRL_SUPER_MAGIC);
        f.rdmaController = rdmaControllerPresent();
        return f;
    }();
    return facts;
}

}  // namespace caprun
