// The container's session keyring. Like runc and crun, each container gets its own session
// keyring named "_ses.<id>" (exec'd processes join the same one), so it does not share the
// caller's keys; `--no-new-keyring` keeps the caller's session keyring instead.
#pragma once

#include <cstdint>
#include <string>

namespace caprun {

// The name of a container's session keyring.
std::string sessionKeyringName(const std::string& containerId);

// The permission mask to give the joined keyring: its current mask plus "search" for the
// owner's uid (no user namespace) or for others (a user namespace, where the uid the key
// belongs to is not the container's), so every process of the container can use it.
std::uint32_t sessionKeyringPermission(std::uint32_t current, bool userNamespace);

// The permission field of a KEYCTL_DESCRIBE answer "type;uid;gid;perm;description"
// (perm in hex). Throws when the text does not have that form.
std::uint32_t describedKeyPermission(const std::string& description);

// Joins (creating if needed) the session keyring `name`; with `grantSearch` (the init,
// which creates it) also sets its permission so every process of the container can use
// it. exec joins the init's keyring as it is, as runc does: setting the permission is for
// the keyring's owner only, which a process joining from the host's side of a user
// namespace is not (EACCES). A kernel without keyrings (ENOSYS) or a seccomp filter
// denying keyctl (EPERM, e.g. caprun running inside a docker container) skips it: the
// keyring only adds isolation of keys, the credentials are what protects them. Other
// failures throw, naming the keyring.
void joinSessionKeyring(const std::string& name, bool userNamespace, bool grantSearch);

}  // namespace caprun
