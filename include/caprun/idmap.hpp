// Idmapped bind mounts (the idmap / ridmap options, a mount's uidMappings/gidMappings),
// as runc 1.2 and crun make them: the runtime, still in the host's namespaces, clones the
// source tree detached (open_tree OPEN_TREE_CLONE), gives it the mapping of a user
// namespace made for the purpose (mount_setattr MOUNT_ATTR_IDMAP), and the container's
// init attaches it (move_mount) where the bind would go. The init inherits the fd.
#pragma once

#include <string>
#include <vector>

#include "caprun/spec.hpp"

namespace caprun {

class RootfsKernel;
struct PlannedMount;
struct RootfsPlan;

// "" when `m` can be idmapped as asked (or asks for nothing), else why not: idmap on a
// mount that is not a bind, mappings without the idmap option, idmap with no mapping and
// no user namespace to take it from. Pure.
std::string idmapRefusal(const Spec& spec, const Mount& m, bool newUserNamespace);

// Fills pm's mapping (the mount's own, else the container's user namespace mapping);
// throws Error "config.json: mounts[i]...: <idmapRefusal>".
void planIdmap(const Spec& spec, const Mount& m, bool newUserNamespace, PlannedMount& pm);

// In the runtime, before clone: the detached idmapped trees for every idmap mount of
// `plan` (PlannedMount::idmappedTree), made through `k`. Throws Error naming the mount and
// the errno text (EINVAL: the filesystem does not support idmapped mounts); the init
// attaches them (RootfsKernel::moveMount).
void openIdmappedTrees(RootfsPlan& plan, RootfsKernel& k);
void closeIdmappedTrees(RootfsPlan& plan, RootfsKernel& k);

}  // namespace caprun
