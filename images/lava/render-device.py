#!/usr/bin/python3
"""Renders a LAVA device dictionary the way lava-server does, for `lava-run --device`.

usage: render-device.py DEVICE_DIR TYPES_DIR DICTIONARY JOB
A Jinja2 sandbox with trim_blocks, its loader over the dictionary's folder then the device types
(from Debian's lava-server package); the job's `context:` are the template's variables, and a
`{% set %}` in the dictionary wins over them, as on a server. Prints the rendered YAML after
checking that it parses.
"""
import sys

import jinja2.sandbox
import yaml


def main(argv):
    if len(argv) != 5:
        sys.stderr.write(__doc__)
        return 2
    dev_dir, types_dir, name, job = argv[1:5]
    with open(job, encoding="utf-8") as f:
        context = (yaml.safe_load(f) or {}).get("context") or {}
    env = jinja2.sandbox.SandboxedEnvironment(
        loader=jinja2.FileSystemLoader([dev_dir, types_dir]), trim_blocks=True, autoescape=False
    )
    text = env.get_template(name).render(**context)
    yaml.safe_load(text)
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
