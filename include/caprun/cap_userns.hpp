// Capabilities inside a user namespace that is not the initial one. The kernel checks some
// capabilities with capable(), which asks about the initial user namespace, instead of
// ns_capable(ns, ...), which asks about the namespace owning the object: holding those in a
// container's user namespace grants nothing. `check` and `explain` say so for each granted
// one, so that a rootless user does not take a granted CAP_SYS_TIME for a working one.
#pragma once

#include <string>
#include <vector>

#include "caprun/cap_plan.hpp"
#include "caprun/capabilities.hpp"
#include "caprun/host_facts.hpp"
#include "caprun/spec.hpp"

namespace caprun {

struct InitNamespaceOnlyCap {
    int cap;
    const char* why;  // what the kernel checks against the initial namespace
};

// The list, with the kernel check each comes from.
const std::vector<InitNamespaceOnlyCap>& initNamespaceOnlyCaps();

// One note per capability of `granted` (any set the process ends with) in the list:
// "CAP_SYS_TIME is granted but has no effect outside the user namespace: ...".
std::vector<std::string> userNamespaceCapNotes(CapMask granted);

// The end of planCapabilities: plan.userNamespaceNotes for what the process ends with, when
// it runs in a user namespace other than the initial one, and plan.setgroupsDenied for a new
// user namespace whose gid map the runtime writes without CAP_SETGID (planIdMapWrite).
// Throws Error for process.user.additionalGids with setgroups denied (runc refuses them
// rootless too: setgroups(2) would fail with EPERM).
void planUserNamespaceCaps(const Spec& spec, const HostFacts& host, CapabilityPlan& plan);

}  // namespace caprun
