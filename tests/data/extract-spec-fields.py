# Lists every config field path of the runtime-spec JSON schema (config-schema.json with
# config-linux.json and the defs it references), one per line: "[]" marks an array element,
# "{}" a map value. Run in runtime-spec's schema/ directory:
#   python3 extract-spec-fields.py . > runtime-spec-1.3.0-fields.txt
import json, sys, os
d = sys.argv[1]
docs = {}
def load(name):
    if name not in docs:
        docs[name] = json.load(open(os.path.join(d, name)))
    return docs[name]
def resolve(node, cur):
    while '$ref' in node:
        ref = node['$ref']
        f, _, frag = ref.partition('#')
        f = f or cur
        n = load(f)
        for p in frag.strip('/').split('/'):
            if p: n = n[p]
        node, cur = n, f
    return node, cur
out = []
def walk(node, cur, path, depth=0):
    node, cur = resolve(node, cur)
    alts = []
    for k in ('oneOf', 'anyOf', 'allOf'):
        for a in node.get(k, []):
            alts.append(a)
    for a in alts:
        walk(a, cur, path, depth)
    props = node.get('properties')
    if props:
        for k, v in props.items():
            p = (path + '.' if path else '') + k
            if p.startswith(('windows', 'solaris', 'vm', 'zos', 'freebsd')):
                out.append(p); continue
            out.append(p)
            walk(v, cur, p, depth+1)
    ap = node.get('additionalProperties')
    if isinstance(ap, dict):
        apn, apc = resolve(ap, cur)
        if 'properties' in apn:
            walk(apn, apc, path + '{}', depth+1)
    if node.get('type') == 'array' or 'items' in node:
        it = node.get('items')
        if isinstance(it, dict):
            walk(it, cur, path + '[]', depth+1)
walk(load('config-schema.json'), 'config-schema.json', '')
seen = []
for p in out:
    if p not in seen: seen.append(p)
print('\n'.join(seen))
