// Mount options of a spec mount, split into mount(2) flags, propagation and data (pure).
#include <sys/mount.h>

#include "caprun/error.hpp"
#include "caprun/rootfs.hpp"

namespace caprun {

namespace {

struct FlagWord {
    const char* name;
    bool clear;  // "rw" clears MS_RDONLY
    unsigned long flag;
};

constexpr FlagWord kFlagWords[] = {
    {"defaults", false, 0},
    {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},
    {"suid", true, MS_NOSUID},
    {"nosuid", false, MS_NOSUID},
    {"dev", true, MS_NODEV},
    {"nodev", false, MS_NODEV},
    {"exec", true, MS_NOEXEC},
    {"noexec", false, MS_NOEXEC},
    {"sync", false, MS_SYNCHRONOUS},
    {"async", true, MS_SYNCHRONOUS},
    {"dirsync", false, MS_DIRSYNC},
    {"remount", false, MS_REMOUNT},
    {"mand", false, MS_MANDLOCK},
    {"nomand", true, MS_MANDLOCK},
    {"atime", true, MS_NOATIME},
    {"noatime", false, MS_NOATIME},
    {"diratime", true, MS_NODIRATIME},
    {"nodiratime", false, MS_NODIRATIME},
    {"relatime", false, MS_RELATIME},
    {"norelatime", true, MS_RELATIME},
    {"strictatime", false, MS_STRICTATIME},
    {"nostrictatime", true, MS_STRICTATIME},
};

struct PropWord {
    const char* name;
    unsigned long flags;
};

constexpr PropWord kPropWords[] = {
    {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
    {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
    {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
};

}  // namespace

unsigned long propagationFlags(const std::string& name, const std::string& what) {
    for (const auto& p : kPropWords)
        if (name == p.name) return p.flags;
    throw Error(what + ": unknown propagation \"" + name +
                "\" (expected private, rprivate, shared, rshared, slave, rslave, unbindable or "
                "runbindable)");
}

MountOptions parseMountOptions(const std::vector<std::string>& options) {
    MountOptions out;
    std::string data;
    for (const auto& o : options) {
        if (o == "bind") {
            out.bind = true;
            continue;
        }
        if (o == "rbind") {
            out.bind = out.recursive = true;
            continue;
        }
        if (o == "tmpcopyup") {
            out.tmpcopyup = true;
            continue;
        }
        if (o == "idmap" || o == "ridmap") {
            (o == "idmap" ? out.idmap : out.ridmap) = true;
            continue;
        }
        if (addRecursiveMountOption(o, out.recursiveAttrs)) continue;
        if (addExtraMountFlag(o, out.flags)) continue;
        bool handled = false;
        for (const auto& f : kFlagWords) {
            if (o == f.name) {
                if (f.clear)
                    out.flags &= ~f.flag;
                else
                    out.flags |= f.flag;
                handled = true;
                break;
            }
        }
        for (const auto& p : kPropWords) {
            if (!handled && o == p.name) {
                out.propagation = p.flags;
                handled = true;
            }
        }
        if (!handled) data += (data.empty() ? "" : ",") + o;
    }
    out.data = data;
    return out;
}

}  // namespace caprun
