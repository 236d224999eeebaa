// libvirt's qemuxml2argv / qemuxml2xml test environment (tests/testutilsqemu.c in libvirt 9.0):
// real capabilities from a recorded `.replies` conversation with the machine-type aliases
// stripped, or a reduced "fake" capability set for the DO_TEST cases; a fixed per-domain directory,
// domain id -1, the monitor and every listening socket passed as fd 1729.
import { readFile } from 'node:fs/promises';
import path, { basename } from 'node:path';
import { formatDomainXML } from '../conf/domain';
import { QemuCaps, type QemuAccelCaps } from '../drivers/qemu/capabilities';
import { buildCommandLine } from '../drivers/qemu/command';
import { nvramDirOf, type QemuDriverConfig } from '../drivers/qemu/config';
import { firmwareDescriptorDirs, qemuFirmwareFillDomain } from '../drivers/qemu/firmware';
import { qemuParseDomainXML } from '../drivers/qemu/postparse';
import { capsFromRepliesFile } from '../drivers/qemu/replies';
import type { StorageLookup, StoragePoolInfo } from '../drivers/qemu/storage-source';
import { VIR_ERR_INTERNAL_ERROR, VIR_ERR_NO_STORAGE_POOL, VIR_ERR_NO_STORAGE_VOL, VIR_FROM_QEMU, virError } from '../error';
import { uuidFromBytes } from '../util/uuid';

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

/**
 * libvirt's test harness secrets: the mocked random source makes the master key the bytes 0..31
 * and every IV the bytes 0..15, and the fake secret driver answers every lookup with one value.
 */
const TEST_SECRETS = {
  masterKey: Buffer.from(Array.from({ length: 32 }, (_, i) => i)),
  randomIV: () => Buffer.from(Array.from({ length: 16 }, (_, i) => i)),
  lookup: () => Buffer.from('AQCVn5hO6HzFAhAAq0NCv8jtJcIcE+HOBlMQ1A'),
};

/** The pools of libvirt's tests/storagepoolxml2xmlout/ that domain definitions name. */
const TEST_POOLS: Record<string, StoragePoolInfo> = {
  'pool-disk': { type: 'disk', active: true, devices: ['/dev/sda'] },
  'pool-iscsi': { type: 'iscsi', active: true, hosts: [{ name: 'iscsi.example.com' }], devices: ['demo-target'] },
  'pool-iscsi-auth': {
    type: 'iscsi', active: true, hosts: [{ name: 'iscsi.example.com' }], devices: ['demo-target'],
    auth: { username: 'admin', secret: { uuid: '2ec115d7-3a88-3ceb-bc12-0ac909a6fd87' } },
  },
};

const VOLUME_TYPES = ['file', 'block', 'dir', 'network', 'netdir', 'ploop'];

/**
 * qemuxml2argvtest's fake storage driver: the pool 'inactive' exists but is not active, other
 * pools are the test pool definitions; a volume named TYPE+NAME is a TYPE volume (block without
 * a '+') at /some/TYPE/device/NAME, and 'nonexistent' does not exist.
 */
const TEST_STORAGE: StorageLookup = {
  lookupPool(name) {
    if (name === 'inactive') return { type: 'dir', active: false };
    const pool = TEST_POOLS[name];
    if (!pool) throw virError(VIR_ERR_NO_STORAGE_POOL, VIR_FROM_QEMU, `File 'storagepoolxml2xmlout/${name}.xml' not found`);
    return pool;
  },
  lookupVolume(_pool, volume) {
    if (volume === 'nonexistent') throw virError(VIR_ERR_NO_STORAGE_VOL, VIR_FROM_QEMU, `no storage vol with matching name '${volume}'`);
    const plus = volume.indexOf('+');
    const [type, name] = plus < 0 ? ['block', volume] : [volume.slice(0, plus), volume.slice(plus + 1)];
    if (!VOLUME_TYPES.includes(type)) throw virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU, `Invalid volume type '${type}'`);
    return { type, path: `/some/${type}/device/${name}` };
  },
};

/** The fd groups a case associates with its domain (the ARG_FD_GROUP arguments of its DO_TEST). */
const CASE_FD_GROUPS: Record<string, Record<string, number[]>> = {
  'disk-source-fd': { testgroup2: [700, 705], testgroup5: [704], testgroup6: [777, 778] },
};

/**
 * virUUIDGenerate under libvirt's mocked random source: the bytes 0..15, with the version-4 and
 * RFC 4122 variant bits set, i.e. 00010203-0405-4607-8809-0a0b0c0d0e0f.
 */
function testUUID(): string {
  const bytes = Buffer.from(Array.from({ length: 16 }, (_, i) => i));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  return uuidFromBytes(bytes);
}

/** The hugetlbfs mounts of libvirt's test driver config (2 MiB default pages, and 1 GiB pages). */
const TEST_HUGETLBFS = [
  { mount: '/dev/hugepages2M', sizeKiB: 2048, isDefault: true },
  { mount: '/dev/hugepages1G', sizeKiB: 1048576 },
];

/**
 * The qemu.conf of libvirt's test driver (qemuTestDriverInit): SPICE TLS on, default cert dirs
 * but NBD's, which has a comma to check the escaping; the unprivileged driver's state directory
 * lies under a deliberately bogus XDG_RUNTIME_DIR; variable stores go to the system daemon's
 * directory. qemuxml2argvtest.c adds a SPICE password.
 */
const TEST_CONFIG: QemuDriverConfig = {
  libDir: '/tmp/lib',
  nvramDir: '/var/lib/libvirt/qemu/nvram',
  spiceTLS: true,
  spicePassword: '123456',
  nbdTLSx509certdir: '/etc/pki/libvirt-nbd/dummy,path',
  passtStateDir: '/bad-test-used-env-xdg-runtime-dir/libvirt/qemu/run/passt',
};

const SASL = { vncSASL: true, vncSASLdir: '/root/.sasl2' };
/**
 * The settings tests/qemuxml2argvtest.c (and qemuxml2xmltest.c) switch on around particular cases:
 * driver config fields and the QEMU_AUDIO_DRV / SDL_AUDIODRIVER environment.
 */
const CASE_CONFIG: Record<string, QemuDriverConfig> = {
  'graphics-vnc-sasl': SASL,
  'graphics-vnc-tls': { ...SASL, vncTLS: true, vncTLSx509verify: true },
  'graphics-vnc-auto-socket-cfg': { vncAutoUnixSocket: true },
  'graphics-spice-sasl': { spiceSASL: true, spiceSASLdir: '/root/.sasl2' },
  'graphics-spice-auto-socket-cfg': { spiceAutoUnixSocket: true },
  'serial-tcp-tlsx509-chardev': { chardevTLS: true },
  'serial-tcp-tlsx509-chardev-verify': { chardevTLS: true, chardevTLSx509verify: true },
  'serial-tcp-tlsx509-chardev-notls': { chardevTLS: true },
  'serial-tcp-tlsx509-secret-chardev': { chardevTLS: true, chardevTLSx509secretUUID: '6fd3f62d-9fe7-4a4e-a869-7acd6376d8ea' },
  'disk-network-tlsx509-nbd': { nbdTLSx509secretUUID: '6fd3f62d-9fe7-4a4e-a869-7acd6376d8ea' },
  'audio-default-sdl': { audioEnv: { QEMU_AUDIO_DRV: 'sdl', SDL_AUDIODRIVER: 'esd' } },
  'audio-default-vnc': { vncAllowHostAudio: true, audioEnv: { QEMU_AUDIO_DRV: 'alsa' } },
  'audio-default-nographics': { nogfxAllowHostAudio: true, audioEnv: { QEMU_AUDIO_DRV: 'alsa' } },
};

/** The driver config libvirt's test harness uses for case `name` (file name without suffixes). */
export function testConfigFor(name?: string): QemuDriverConfig {
  const base = name?.replace(/\.x86_64-latest$/, '');
  return { ...TEST_CONFIG, ...(base !== undefined ? CASE_CONFIG[base] : undefined) };
}

/**
 * The tree of firmware descriptors the harness looks up instead of the host's, as libvirt's test
 * suite redirects the descriptor directories to its own data. Its driver is privileged, so the
 * user's directory (also in the tree) is not consulted.
 */
export const TEST_FIRMWARE_ROOT = path.resolve(__dirname, '..', '..', 'test', 'data', 'qemu-firmware');

/** xml2argv: the command line libvirt's test harness would produce, rendered with line breaks. */
export async function xml2argv(xml: string, caps: QemuCaps, name?: string, firmwareRoot = TEST_FIRMWARE_ROOT): Promise<string> {
  const config = testConfigFor(name);
  const fdGroups = new Map(Object.entries(CASE_FD_GROUPS[name?.replace(/\.x86_64-latest$/, '') ?? ''] ?? {}));
  const def = qemuParseDomainXML(xml, caps, undefined, config, testUUID);
  // qemuProcessPrepareDomain of a fresh start: firmware autoselection.
  await qemuFirmwareFillDomain(def, {
    dirs: firmwareDescriptorDirs(true).map((d) => path.join(firmwareRoot, d)),
    nvramDir: nvramDirOf(config),
  });
  return buildCommandLine(def, caps, {
    config, monitorFd: 1729, passedSocketFd: 1729, passedFileFdBase: 1750, vhostVsockFd: 6789, vsockAutoCid: 42, openVdpaDevice: () => 1732, openTap: () => 3, openVhostNet: () => 44, isHostCdrom: (path) => path === '/dev/cdrom', scsiGenericName: () => 'sg0', openVhostScsi: () => 3, secrets: TEST_SECRETS, drmRenderNode: '/dev/dri/foo', id: -1, hugetlbfs: TEST_HUGETLBFS, tpmEmulatorSocket: '/dev/test', tpmPassthroughFds: [1730, 1731], memoryBackingDir: '/var/lib/libvirt/qemu/ram', storage: TEST_STORAGE, fdGroups }).toString({ linebreaks: true }) + '\n';
}

/**
 * xml2xml: the XML after the QEMU post-parse step, formatted inactive. Parsed as live XML, as
 * libvirt's qemuxml2xmltest does for its outputs: they keep <backingStore index>, which a
 * definition (parsed inactive) loses.
 */
export function xml2xml(xml: string, caps: QemuCaps, name?: string): string {
  const def = qemuParseDomainXML(xml, caps, 0, testConfigFor(name), testUUID);
  return formatDomainXML(def, XML_SECURE_INACTIVE);
}

/** Command-line front end shared by the xml2argv and xml2xml tools. */
export async function runTool(argv: string[], produce: (xml: string, caps: QemuCaps, name?: string) => string | Promise<string>): Promise<number> {
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
    process.stdout.write(await produce(await readFile(file, 'utf8'), caps, basename(file).replace(/\.xml$/, '')));
    return 0;
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    return 1;
  }
}
