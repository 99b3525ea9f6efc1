#include "caprun/cgroup_devices.hpp"

#include <cstdint>

#include "caprun/error.hpp"
#include "caprun/log.hpp"

namespace caprun {

std::vector<DeviceCgroupRule> defaultDeviceRules() {
    auto c = [](std::int64_t maj, std::optional<std::int64_t> min) {
        DeviceCgroupRule r;
        r.allow = true;
        r.type = "c";
        r.major = maj;
        r.minor = min;
        r.access = "rwm";
        return r;
    };
    // null, zero, full, random, urandom, tty, console, ptmx, pts/*: what runc allows.
    return {c(1, 3), c(1, 5), c(1, 7),
            c(1, 8), c(1, 9), c(5, 0),
            c(5, 1), c(5, 2), c(136, std::nullopt)};
}

std::vector<DeviceCgroupRule> effectiveDeviceRules(const std::vector<DeviceCgroupRule>& specRules,
                                                   const std::vector<Device>& linuxDevices) {
    std::vector<DeviceCgroupRule> out = specRules;
    for (const auto& d : linuxDevices) {
        if (d.type == "p") continue;  // FIFOs are not device-cgroup controlled
        DeviceCgroupRule r;
        r.allow = true;
        r.type = d.type == "b" ? "b" : "c";
        r.major = d.major;
        r.minor = d.minor;
        r.access = "rwm";
        out.push_back(r);
    }
    for (auto& r : defaultDeviceRules()) out.push_back(r);
    return out;
}

namespace {

void validateRule(const DeviceCgroupRule& r, std::size_t i) {
    std::string what = "device cgroup rule " + std::to_string(i);
    if (!r.type.empty() && r.type != "a" && r.type != "c" && r.type != "b")
        throw Error(what + ": type \"" + r.type + "\" is not a, c or b");
    for (char ch : r.access)
        if (ch != 'r' && ch != 'w' && ch != 'm')
            throw Error(what + ": access \"" + r.access + "\" may only contain r, w and m");
    if ((r.major && *r.major < -1) || (r.minor && *r.minor < -1))
        throw Error(what + ": negative device number");
}

std::string access(const DeviceCgroupRule& r) {
    return r.access.empty() ? "rwm" : r.access;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> v1DeviceLines(
    const std::vector<DeviceCgroupRule>& rules) {
    // Start from deny-all (the v1 list inherits the parent's otherwise), then each rule in
    // order; a later rule overrides an earlier one as in the kernel.
    std::vector<std::pair<std::string, std::string>> out = {{"devices.deny", "a"}};
    for (std::size_t i = 0; i < rules.size(); ++i) {
        const auto& r = rules[i];
        validateRule(r, i);
        std::string file = r.allow ? "devices.allow" : "devices.deny";
        std::string type = r.type.empty() ? "a" : r.type;
        auto n = [](const std::optional<std::int64_t>& v) {
            return (!v || *v == -1) ? std::string("*") : std::to_string(*v);
        };
        bool all = type == "a" && n(r.major) == "*" && n(r.minor) == "*" && access(r) == "rwm";
        if (all) {
            out.emplace_back(file, "a");
            continue;
        }
        out.emplace_back(file, type + " " + n(r.major) + ":" + n(r.minor) + " " + access(r));
    }
    return out;
}

namespace {

bpf_insn insn(std::uint8_t code, std::uint8_t dst, std::uint8_t src, std::int16_t off,
              std::int32_t imm) {
    bpf_insn i{};
    i.code = code;
    i.dst_reg = dst & 0xf;
    i.src_reg = src & 0xf;
    i.off = off;
    i.imm = imm;
    return i;
}

}  // namespace

std::vector<bpf_insn> deviceFilterProgram(const std::vector<DeviceCgroupRule>& rules) {
    // Context: struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; } with
    // access_type = (access << 16) | type. Registers: R2 type, R3 access, R4 major, R5 minor.
    std::vector<bpf_insn> prog = {
        insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_1, 0, 0),
        insn(BPF_ALU | BPF_AND | BPF_K, BPF_REG_2, 0, 0, 0xFFFF),
        insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_3, BPF_REG_1, 0, 0),
        insn(BPF_ALU | BPF_RSH | BPF_K, BPF_REG_3, 0, 0, 16),
        insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_4, BPF_REG_1, 4, 0),
        insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_5, BPF_REG_1, 8, 0),
    };
    // The last matching rule decides (like the v1 list), so blocks go from last to first
    // and the first block that matches returns.
    for (std::size_t k = rules.size(); k-- > 0;) {
        const auto& r = rules[k];
        validateRule(r, k);
        std::vector<bpf_insn> checks;  // each a conditional jump to the end of this block
        std::vector<std::size_t> jumps;
        std::string type = r.type.empty() ? "a" : r.type;
        if (type != "a") {
            jumps.push_back(checks.size());
            checks.push_back(insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_2, 0, 0,
                                  type == "b" ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR));
        }
        std::int32_t mask = 0;
        for (char ch : access(r))
            mask |= ch == 'r' ? BPF_DEVCG_ACC_READ
                              : (ch == 'w' ? BPF_DEVCG_ACC_WRITE : BPF_DEVCG_ACC_MKNOD);
        const std::int32_t allAccess =
            BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD;
        if (mask != allAccess) {
            checks.push_back(insn(BPF_ALU | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_3, 0, 0));
            checks.push_back(insn(BPF_ALU | BPF_AND | BPF_K, BPF_REG_1, 0, 0, mask));
            jumps.push_back(checks.size());
            if (r.allow)
                // Allow only when every requested access is allowed by this rule.
                checks.push_back(insn(BPF_JMP | BPF_JNE | BPF_X, BPF_REG_1, BPF_REG_3, 0, 0));
            else
                // Deny when any requested access is denied by this rule.
                checks.push_back(insn(BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_1, 0, 0, 0));
        }
        if (r.major && *r.major != -1) {
            jumps.push_back(checks.size());
            checks.push_back(insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_4, 0, 0,
                                  static_cast<std::int32_t>(*r.major)));
        }
        if (r.minor && *r.minor != -1) {
            jumps.push_back(checks.size());
            checks.push_back(insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_5, 0, 0,
                                  static_cast<std::int32_t>(*r.minor)));
        }
        checks.push_back(insn(BPF_ALU | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, r.allow ? 1 : 0));
        checks.push_back(insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
        for (std::size_t j : jumps)
            checks[j].off = static_cast<std::int16_t>(checks.size() - j - 1);
        prog.insert(prog.end(), checks.begin(), checks.end());
        // A rule matching everything decides for all earlier rules: the verifier rejects
        // the unreachable code that would follow it.
        if (jumps.empty()) return prog;
    }
    prog.push_back(insn(BPF_ALU | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0));
    prog.push_back(insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
    return prog;
}

void attachDeviceFilter(const std::string& dir, const std::vector<bpf_insn>& prog) {
    attachDeviceFilter(dir, prog, linuxCgroupKernel());
}

// Loads the device program and attaches it to `dir`, replacing the programs caprun
// attached before (update) only after the new one is in place, so there is no window
// without a filter.
void attachDeviceFilter(const std::string& dir, const std::vector<bpf_insn>& prog,
                        CgroupKernel& k) {
    struct Closer {
        CgroupKernel& k;
        int fd;
        ~Closer() { k.close(fd); }
    };
    Closer cg{k, k.openCgroup(dir, "opening cgroup " + dir + " to attach the device filter")};
    std::vector<std::uint32_t> old = k.attachedDeviceFilters(cg.fd);
    Closer progFd{k, k.loadDeviceFilter(prog)};
    k.attachDeviceFilter(cg.fd, progFd.fd, dir);
    for (std::uint32_t id : old)
        if (int err = k.detachDeviceFilter(cg.fd, id))
            log::warn("could not detach the previous device filter (id " + std::to_string(id) +
                      ") from " + dir + ": " + errnoText(err));
}

}  // namespace caprun
