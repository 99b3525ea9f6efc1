#!/usr/bin/env python3
# cap_names.list.h as libcap's Makefile makes it with egrep and sed: one
# {"name",number}, line per "#define CAP_NAME number" of the kernel header.
import re
import sys

pattern = re.compile(r'^#define\s+(CAP_\S+)\s+([0-9]+)\s*$')
with open(sys.argv[1], encoding='utf-8') as header, open(sys.argv[2], 'w', encoding='utf-8') as out:
    for line in header:
        match = pattern.match(line)
        if match:
            out.write('{"%s",%s},\n' % (match.group(1).lower(), match.group(2)))
