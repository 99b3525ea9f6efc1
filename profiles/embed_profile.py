#!/usr/bin/env python3
"""Turns a JSON profile into a C++ header holding its bytes (no NUL), so the built-in
seccomp profile is data in the repository and part of the binary."""
import json
import sys

src, out, name = sys.argv[1], sys.argv[2], sys.argv[3]
data = open(src, 'rb').read()
json.loads(data)  # a malformed profile fails the build, not the first container start
if any(b > 127 for b in data):
    sys.exit(src + ': only ASCII is supported in embedded profiles')
lines = []
for i in range(0, len(data), 24):
    lines.append('    ' + ', '.join(str(b) for b in data[i:i + 24]) + ',')
with open(out, 'w') as f:
    f.write('// Generated from ' + src.split('/')[-1] + ' by embed_profile.py; do not edit.\n')
    f.write('#pragma once\n\n')
    f.write('inline constexpr char ' + name + '[] = {\n' + '\n'.join(lines) + '\n};\n')
