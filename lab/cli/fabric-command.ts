import { flagged } from './input.ts';
import type { Command } from 'commander';
import { buildFabric } from '../fabric/fabric.ts';
import { parseSockets } from '../fabric/guest-ops.ts';
import { MAX_INTERFACES, parseKinds } from '../fabric/interfaces.ts';
import { parseBurst } from '../fabric/usb-plan.ts';
import { bootTarget, keepOrStop, type Dirs } from './guest-commands.ts';
import { whole } from './input.ts';

interface FabricOptions {
  interfaces?: string;
  kinds?: string;
  usbBurst?: string;
  sockets?: string;
  uevents?: string;
  keep?: boolean;
}

export function registerFabricCommand(program: Command, getDirs: Dirs): void {
  program
    .command('fabric')
    .description('boot a target, build the field conditions (interfaces, USB burst, sockets), print the ground truth as JSON, stop')
    .argument('<target>')
    .option('--interfaces <n>', 'links to create, of mixed kinds, each with an IPv4 and an IPv6 address')
    .option('--kinds <list>', 'interface kinds to cycle through (dummy,vlan,macvlan,bridge,veth)')
    .option('--usb-burst <spec>', 'USB hotplug burst through QMP, e.g. kbd,storage:10@50ms or mouse:20@0ms/interleaved')
    .option('--sockets <spec>', 'sockets to hold open, e.g. tcp:500 or tcp-est:100,udp:20,unix-stream:50')
    .option('--uevents <n>', 'in-guest uevent trigger: write "add" to a sysfs uevent file n times')
    .option('--keep', 'leave the VM running (with the fabric in place) and print its ssh command')
    .action(async (name: string, opts: FabricOptions) => {
      // Parse everything before booting: a typo must not cost a boot.
      const spec = {
        ...(opts.interfaces !== undefined ? { interfaces: whole('--interfaces', opts.interfaces, 0, MAX_INTERFACES) } : {}),
        ...(opts.kinds ? { kinds: flagged('--kinds', opts.kinds, parseKinds) } : {}),
        ...(opts.usbBurst ? { usbBurst: flagged('--usb-burst', opts.usbBurst, parseBurst) } : {}),
        ...(opts.sockets ? { sockets: flagged('--sockets', opts.sockets, parseSockets) } : {}),
        ...(opts.uevents !== undefined ? { ueventTrigger: whole('--uevents', opts.uevents, 0, 1_000_000) } : {}),
      };
      const guest = await bootTarget(name, getDirs, (l) => console.error(l), opts.keep);
      try {
        const t0 = Date.now();
        const fabric = await buildFabric(guest, spec);
        console.error(`fabric built in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        console.log(JSON.stringify({ target: name, kernel: guest.kernelRelease, consoleLog: guest.consoleLog, ...fabric.report }, null, 2));
        if (!opts.keep) {
          await fabric.teardown();
        }
      } finally {
        await keepOrStop(guest, opts.keep, getDirs().dirs);
      }
    });
}
