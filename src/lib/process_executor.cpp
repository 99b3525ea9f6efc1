#include "caprun/process_executor.hpp"

#include <algorithm>

#include "caprun/process_kernel.hpp"

namespace caprun {

namespace {

void installFilter(const ProcessPlan& plan, ProcessKernel& kernel) {
    int fd = kernel.installSeccomp(plan.seccomp.compiled);
    if (fd >= 0) kernel.handOffSeccompListener(fd);
}

}  // namespace

void applyProcessPlan(const ProcessPlan& plan, ProcessKernel& kernel, int terminalSlave) {
    std::vector<std::string> env = plan.env;
    // As runc: without HOME in process.env, the uid's home in the container's /etc/passwd.
    if (std::none_of(env.begin(), env.end(),
                     [](const std::string& e) { return e.rfind("HOME=", 0) == 0; }))
        env.push_back("HOME=" + homeFromPasswd(kernel.readPasswd(), plan.user.uid));
    if (!plan.sessionKeyring.empty())
        kernel.joinSessionKeyring(plan.sessionKeyring, plan.userNamespace,
                                  plan.role == ProcessRole::Init);
    if (plan.hostname) kernel.setHostname(*plan.hostname);
    if (plan.domainname) kernel.setDomainname(*plan.domainname);
    if (terminalSlave >= 0) kernel.useTerminal(terminalSlave);
    if (plan.oomScoreAdj) kernel.setOomScoreAdj(*plan.oomScoreAdj);
    for (const auto& r : plan.rlimits) kernel.setRlimit(r);
    // Created as root, before the user switch.
    kernel.createCwd(plan.cwd);
    if (plan.umask) kernel.setUmask(*plan.umask);
    kernel.applyEarlyAttrs(plan.attrs);

    // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: before the sets shrink.
    if (plan.seccompAt == SeccompInstallPoint::BeforeCapabilityDrop) installFilter(plan, kernel);
    applyCapabilityPlan(plan.capabilities, plan.user, kernel);
    if (plan.noNewPrivileges) kernel.setNoNewPrivileges();
    if (plan.seccompAt == SeccompInstallPoint::AfterCredentials) installFilter(plan, kernel);

    kernel.changeDir(plan.cwd);
    const std::string executable = kernel.findExecutable(plan.args, env);
    kernel.awaitStart();
    if (plan.seccompAt == SeccompInstallPoint::BeforeExec) installFilter(plan, kernel);
    kernel.closeFdsAbove(plan.preserveFds);
    kernel.applyOnExecAttrs(plan.attrs);
    kernel.exec(executable, plan.args, env);
}

}  // namespace caprun
