// The process executor: performs a ProcessPlan in the freshly cloned process, in the one
// order docs/architecture.md explains, through a narrow kernel interface so unit tests can
// record the exact sequence of calls.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <string>
#include <vector>

#include "caprun/cap_executor.hpp"
#include "caprun/process_plan.hpp"

namespace caprun {

// The calls the executor makes beyond the capability ones. Each throws caprun::Error naming
// the step (and the path or value) on failure.
class ProcessKernel : public CapabilityKernel {
  public:
    // grantSearch: the init's keyring, made usable by every process of the container
    // (keyring.hpp); exec joins it as it is.
    virtual void joinSessionKeyring(const std::string& name, bool userNamespace,
                                    bool grantSearch) = 0;
    virtual void setHostname(const std::string& name) = 0;
    virtual void setDomainname(const std::string& name) = 0;
    virtual void useTerminal(int slave) = 0;  // controlling terminal and stdio
    virtual void setOomScoreAdj(int value) = 0;
    virtual void setRlimit(const PlannedRlimit& limit) = 0;
    virtual std::string readPasswd() = 0;                // the root's /etc/passwd, "" if none
    virtual void createCwd(const std::string& cwd) = 0;  // inside the root, if missing
    virtual void setUmask(mode_t mask) = 0;
    virtual void applyEarlyAttrs(const ProcessAttrPlan& attrs) = 0;  // sched, ioprio, numa
    virtual int installSeccomp(const CompiledSeccomp& filter) = 0;   // listener fd or -1
    virtual void handOffSeccompListener(int fd) = 0;                 // takes the fd
    virtual void changeDir(const std::string& cwd) = 0;
    virtual std::string findExecutable(const std::vector<std::string>& args,
                                       const std::vector<std::string>& env) = 0;
    // The init reports ready and waits for `start` (then runs startContainer hooks); exec
    // goes straight on.
    virtual void awaitStart() = 0;
    virtual void closeFdsAbove(unsigned preserveFds) = 0;             // close-on-exec above 2+n
    virtual void applyOnExecAttrs(const ProcessAttrPlan& attrs) = 0;  // personality, LSM
    // execve; only returns in a test double.
    virtual void exec(const std::string& path, const std::vector<std::string>& args,
                      const std::vector<std::string>& env) = 0;
};

// Applies `plan`: HOME default, keyring, hostname, terminal (`terminalSlave` >= 0),
// oom_score_adj, rlimits, cwd, umask, scheduling attributes, then the credential steps
// (seccomp first when no_new_privs is off, bounding drop, keep-caps, groups, gid, uid,
// capset, ambient), no_new_privs once, seccomp at the planned point, chdir, the wait for
// start, close-on-exec, personality/LSM, execve.
void applyProcessPlan(const ProcessPlan& plan, ProcessKernel& kernel, int terminalSlave = -1);

}  // namespace caprun
