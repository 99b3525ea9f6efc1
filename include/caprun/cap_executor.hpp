// Applies a CapabilityPlan in the container's init just before execve, in the order of
// docs/architecture.md, through a narrow kernel interface so a unit test can record the calls.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "caprun/cap_plan.hpp"
#include "caprun/capabilities.hpp"
#include "caprun/spec.hpp"

namespace caprun {

// The kernel calls the executor makes. Each throws caprun::Error naming the step (and the
// capability) on failure.
class CapabilityKernel {
  public:
    virtual ~CapabilityKernel() = default;
    virtual void dropBounding(int cap) = 0;                        // PR_CAPBSET_DROP
    virtual void setKeepCaps(bool on) = 0;                         // PR_SET_KEEPCAPS
    virtual void setGroups(const std::vector<gid_t>& groups) = 0;  // setgroups
    virtual void setGid(gid_t gid) = 0;                            // setresgid
    virtual void setUid(uid_t uid) = 0;                            // setresuid
    virtual void setCaps(CapMask effective, CapMask permitted, CapMask inheritable) = 0;  // capset
    virtual void clearAmbient() = 0;         // PR_CAP_AMBIENT_CLEAR_ALL
    virtual void raiseAmbient(int cap) = 0;  // PR_CAP_AMBIENT_RAISE
    virtual void setNoNewPrivileges() = 0;   // PR_SET_NO_NEW_PRIVS
};

// The real kernel.
class LinuxCapabilityKernel final : public CapabilityKernel {
  public:
    void dropBounding(int cap) override;
    void setKeepCaps(bool on) override;
    void setGroups(const std::vector<gid_t>& groups) override;
    void setGid(gid_t gid) override;
    void setUid(uid_t uid) override;
    void setCaps(CapMask effective, CapMask permitted, CapMask inheritable) override;
    void clearAmbient() override;
    void raiseAmbient(int cap) override;
    void setNoNewPrivileges() override;
};

// The credential steps: bounding drop (exactly plan.boundingDrop, the planner's decision),
// keep-caps, groups, gid, uid, capset, ambient. no_new_privs and seccomp are the process
// executor's (process_executor.hpp), which calls this at their place in the order.
void applyCapabilityPlan(const CapabilityPlan& plan, const User& user, CapabilityKernel& kernel);

}  // namespace caprun
