// The device cgroup: the effective rule list, v1 devices.allow/deny lines, and the v2 eBPF
// device filter (built as a pure function, loaded and attached by attachDeviceFilter).
#pragma once

#include <linux/bpf.h>

#include <string>
#include <utility>
#include <vector>

#include "caprun/cgroup_kernel.hpp"
#include "caprun/spec.hpp"

namespace caprun {

// The default devices every container may use (null, zero, full, random, urandom, tty,
// console, ptmx, pts/*), as runc and crun allow them, appended after the spec's rules.
std::vector<DeviceCgroupRule> defaultDeviceRules();

// The effective rule list: spec rules, then allow rules for the spec's linux.devices,
// then defaultDeviceRules(). Later rules win (as in the kernel's v1 list and runc).
std::vector<DeviceCgroupRule> effectiveDeviceRules(const std::vector<DeviceCgroupRule>& specRules,
                                                   const std::vector<Device>& linuxDevices);

// Pure, v1: (file, line) pairs in order: ("devices.deny","a") / ("devices.allow",
// "c 1:3 rwm") ... Throws Error on a bad type or access string.
std::vector<std::pair<std::string, std::string>> v1DeviceLines(
    const std::vector<DeviceCgroupRule>& rules);

// Pure, v2: a BPF_PROG_TYPE_CGROUP_DEVICE program that evaluates the rules like the v1
// list (the last matching rule decides; nothing matched: deny). Same approach as runc's
// devicefilter: rules are checked from last to first, each a block that jumps to the next
// block on mismatch and returns the rule's verdict on a match.
std::vector<bpf_insn> deviceFilterProgram(const std::vector<DeviceCgroupRule>& rules);

// Loads `prog` and attaches it to the v2 cgroup `dir`, then detaches the programs attached
// before (update), so there is no window without a filter.
// Through `kernel`; the first overload uses linuxCgroupKernel().
void attachDeviceFilter(const std::string& dir, const std::vector<bpf_insn>& prog);
void attachDeviceFilter(const std::string& dir, const std::vector<bpf_insn>& prog,
                        CgroupKernel& kernel);

}  // namespace caprun
