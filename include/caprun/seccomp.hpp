// Seccomp, all of it: this header only includes the per-concern headers, for code that
// uses several stages; prefer including the stage you use.
//
//   caprun/seccomp_names.hpp    libseccomp's architectures, actions, comparisons, flags
//   caprun/seccomp_profile.hpp  where the filter comes from; profile parsing (selectSeccomp)
//   caprun/seccomp_resolve.hpp  gates against the granted capabilities (resolveSeccomp)
//   caprun/seccomp_report.hpp   verdict on one syscall; `check` text and JSON
//   caprun/seccomp_compile.hpp  BPF compilation and the container-start plan (planSeccomp)
//   caprun/seccomp_cache.hpp    the compiled-filter cache under the state root
//   caprun/seccomp_install.hpp  seccomp(2) and the NOTIFY listener hand-off
//
// A container start (create/run/exec), in the runtime before clone:
//   CapabilityPlan cp = planForContainer(...);
//   SeccompPlan sp = planSeccomp(spec, profileOption, seccompHostFor(cp), g.root);
//   for (w : sp.warnings) log::warn(w);
//   lenient warning: cp.shortfallMessage([&](const CapDrop& d) {
//                        return capDropNote(cp, sp.deniedWithoutCap, d); });
// in the init, at the executor's moment: int fd = installSeccomp(sp.compiled); a listener
// fd (NOTIFY) goes back to the runtime (SCM_RIGHTS on the sync socket), which calls
//   sendSeccompListener(sp.compiled.listenerPath, fd,
//       seccompListenerMessage(pid, sp.compiled.listenerMetadata, <state JSON, "creating">));
// `caprun check`: addSeccompSection(report, resolveSeccomp(selectSeccomp(...), host)).
#pragma once

#include "caprun/seccomp_cache.hpp"
#include "caprun/seccomp_compile.hpp"
#include "caprun/seccomp_install.hpp"
#include "caprun/seccomp_names.hpp"
#include "caprun/seccomp_profile.hpp"
#include "caprun/seccomp_report.hpp"
#include "caprun/seccomp_resolve.hpp"
