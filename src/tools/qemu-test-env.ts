// libvirt's qemuxml2argv / qemuxml2xml test environment (tests/testutilsqemu.c in libvirt 9.0):
// real capabilities from a recorded `.replies` conversation with the machine-type aliases
// stripped, or a reduced "fake" capability set for the DO_TEST cases; a fixed per-domain directory,
// domain id -1, the monitor and every listening socket passed as fd 1729.
import { readFile } from 'node:fs/promises';
import { formatDomainXML } from '../conf/domain';
import { QemuCaps, type QemuAccelCaps } from '../drivers/qemu/capabilities';
import { buildCommandLine } from '../drivers/qemu/command';
import { qemuParseDomainXML } from '../drivers/qemu/postparse';
import { capsFromRepliesFile } from '../drivers/qemu/replies';

/** VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE, the flags of libvirt's xml2xml inactive test. */
const XML_SECURE_INACTIVE = 1 | 2;

const realCapsCache = new Map<string, Promise<QemuCaps>>();

/** DO_TEST_CAPS_*: the capabilities of a recorded probe, machine aliases stripped. */
export function loadTestCaps(repliesFile: string): Promise<QemuCaps> {
  let caps = realCapsCache.get(repliesFile);
  if (!caps) {
    caps = capsFromRepliesFile(repliesFile).then((c) => c.withoutMachineAliases());
    realCapsCache.set(repliesFile, caps);
  }
  return caps;
}

/**
 * DO_TEST(name, flags...): an empty capability set with exactly `flags`, the basic x86 machine
 * types ('pc', 'q35' and their versions, no default RAM id, no CPU models), as libvirt 9.0's
 * fake-caps tests see a binary.
 */
export function fakeTestCaps(flags: string[], binary = '/usr/bin/qemu-system-x86_64'): QemuCaps {
  const machine = (name: string): QemuAccelCaps['machines'][number] => ({
    name, maxCpus: 255, hotplugCpus: true, qemuDefault: name === 'pc', numaMemSupported: true, deprecated: false,
  });
  const accel: QemuAccelCaps = { machines: [machine('pc'), machine('q35')], cpuModels: [] };
  return new QemuCaps({
    binary, version: 0, package: '', arch: 'x86_64', flags, qomTypes: [], deviceProps: {}, objectProps: {},
    commands: [], commandLineOptions: {}, migrationCapabilities: [], tpmModels: [], tpmTypes: [],
    accel: { kvm: accel, tcg: accel },
  });
}

/** The flags libvirt 9.0's fake-caps tests always have (virQEMUCapsInitQMPBasicArch, x86). */
export const FAKE_BASIC_FLAGS = ['no-acpi', 'blockdev', 'audiodev'];

/** xml2argv: the command line libvirt's test harness would produce, rendered with line breaks. */
export function xml2argv(xml: string, caps: QemuCaps): string {
  const def = qemuParseDomainXML(xml, caps);
  return buildCommandLine(def, caps, { monitorFd: 1729, passedSocketFd: 1729, passedFileFdBase: 1750, vhostVsockFd: 6789, drmRenderNode: '/dev/dri/foo', id: -1 }).toString({ linebreaks: true }) + '\n';
}

/** xml2xml: the inactive XML after the QEMU post-parse step. */
export function xml2xml(xml: string, caps: QemuCaps): string {
  const def = qemuParseDomainXML(xml, caps);
  return formatDomainXML(def, XML_SECURE_INACTIVE);
}

/** Command-line front end shared by the xml2argv and xml2xml tools. */
export async function runTool(argv: string[], produce: (xml: string, caps: QemuCaps) => string): Promise<number> {
  let replies: string | undefined;
  let fakeFlags: string[] | undefined;
  let file: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--caps-replies') replies = argv[++i];
    else if (argv[i] === '--fake-caps') fakeFlags = [...FAKE_BASIC_FLAGS, ...(argv[++i] ?? '').split(',').filter(Boolean)];
    else file = argv[i];
  }
  if (!file || (!replies && !fakeFlags)) {
    process.stderr.write('usage: --caps-replies <file.replies> | --fake-caps <flag,...>  <domain.xml>\n');
    return 2;
  }
  try {
    const caps = fakeFlags ? fakeTestCaps(fakeFlags) : await loadTestCaps(replies!);
    process.stdout.write(produce(await readFile(file, 'utf8'), caps));
    return 0;
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    return 1;
  }
}
