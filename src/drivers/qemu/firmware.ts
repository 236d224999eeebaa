// QEMU firmware descriptors (QEMU's docs/interop/firmware.json) and libvirt 9.0's firmware
// autoselection from them (src/qemu/qemu_firmware.c, qemu_interop_config.c): a domain with
// <os firmware='efi|bios'> gets the first described firmware that fits its architecture, machine
// type and wishes; an old-style read-only UEFI loader without an NVRAM template gets its template
// from the descriptor of the same image, when one exists.
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { AttrList, DomainDef } from '../../conf/domain-def';
import { attr, child, children, textOf, type XmlElement } from '../../conf/xml';
import {
  VIR_ERR_INTERNAL_ERROR,
  VIR_ERR_OPERATION_FAILED,
  VIR_ERR_OPERATION_INVALID,
  VIR_ERR_OPERATION_UNSUPPORTED,
  VIR_ERR_SYSTEM_ERROR,
  VIR_FROM_QEMU,
  VirError,
  virError,
} from '../../error';
import { writeFileAtomic } from '../../util/atomic-file';
import { nvramPathIn } from './config';
import { VIR_ARCHES } from './host-caps';

/** The interfaces a firmware offers the guest (FirmwareOSInterface). */
const INTERFACES = ['bios', 'openfirmware', 'uboot', 'uefi'] as const;
export type FirmwareInterface = (typeof INTERFACES)[number];

/** The FirmwareFeature names libvirt knows; descriptors may list others, which it ignores. */
const FEATURES = [
  'acpi-s3', 'acpi-s4', 'amd-sev', 'amd-sev-es', 'enrolled-keys', 'requires-smm', 'secure-boot', 'verbose-dynamic', 'verbose-static',
] as const;
export type FirmwareFeature = (typeof FEATURES)[number];

/** A flash image and its format ('raw', 'qcow2'). */
export interface FirmwareFlashFile {
  filename: string;
  format: string;
}

/** How the firmware reaches the guest: flash chips, a -kernel image, or a ROM in memory (-bios). */
export type FirmwareMapping =
  | { device: 'flash'; mode: 'split' | 'combined' | 'stateless'; executable: FirmwareFlashFile; nvramTemplate?: FirmwareFlashFile }
  | { device: 'kernel'; filename: string }
  | { device: 'memory'; filename: string };

export interface FirmwareDescriptor {
  /** The file the descriptor came from. */
  path: string;
  /** Its file name, which orders descriptors by priority. */
  name: string;
  interfaces: FirmwareInterface[];
  mapping: FirmwareMapping;
  /** libvirt architecture names (QEMU's i386 is i686) and machine type globs. */
  targets: Array<{ architecture: string; machines: string[] }>;
  features: FirmwareFeature[];
}

/** The directories QEMU's specification names, in increasing priority (qemuInteropFetchConfigs). */
export function firmwareDescriptorDirs(privileged: boolean, env: NodeJS.ProcessEnv = process.env): string[] {
  const dirs = ['/usr/share/qemu/firmware', '/etc/qemu/firmware'];
  // A system daemon runs as root, whose home has no business here: only a per-user driver
  // looks in the user's configuration.
  if (!privileged) dirs.push(path.join(env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config'), 'qemu', 'firmware'));
  return dirs;
}

function internal(message: string): VirError {
  return virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU, message);
}

/** strerror's text for the errors file operations here meet. */
const STRERROR: Record<string, string> = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  ENOTDIR: 'Not a directory',
  EISDIR: 'Is a directory',
  EEXIST: 'File exists',
  ENOSPC: 'No space left on device',
  EROFS: 'Read-only file system',
};

/** virReportSystemError for a file operation: the message, then the errno's text. */
export function fileSystemError(message: string, err: NodeJS.ErrnoException): VirError {
  const full = `${message}: ${STRERROR[err.code ?? ''] ?? err.message}`;
  return new VirError({ code: VIR_ERR_SYSTEM_ERROR, domain: VIR_FROM_QEMU, message: full, str1: full, int1: err.errno !== undefined ? Math.abs(err.errno) : -1 });
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** virQEMUCapsArchFromString: QEMU's target names where they differ from libvirt's. */
function archFromQemu(name: string): string | null {
  if (name === 'i386') return 'i686';
  if (name === 'arm') return 'armv7l';
  if (name === 'or32') return 'or32';
  return VIR_ARCHES.has(name) ? name : null;
}

function parseFlashFile(file: string, v: unknown): FirmwareFlashFile {
  const o = isObject(v) ? v : {};
  if (typeof o.filename !== 'string') throw internal(`missing 'filename' in '${file}'`);
  if (typeof o.format !== 'string') throw internal(`missing 'format' in '${file}'`);
  return { filename: o.filename, format: o.format };
}

function parseMapping(file: string, doc: Record<string, unknown>): FirmwareMapping {
  const mapping = doc.mapping;
  if (!isObject(mapping)) throw internal(`missing mapping in '${file}'`);
  if (typeof mapping.device !== 'string') throw internal(`missing device type in '${file}'`);
  switch (mapping.device) {
    case 'flash': {
      let mode: 'split' | 'combined' | 'stateless' = 'split';
      if (mapping.mode !== undefined) {
        if (typeof mapping.mode !== 'string') throw internal('Firmware flash mode value was malformed');
        if (mapping.mode !== 'split' && mapping.mode !== 'combined' && mapping.mode !== 'stateless') {
          throw internal(`Firmware flash mode value '${mapping.mode}' unexpected`);
        }
        mode = mapping.mode;
      }
      if (mapping.executable === undefined) throw internal(`missing 'executable' in '${file}'`);
      const executable = parseFlashFile(file, mapping.executable);
      if (mode !== 'split') return { device: 'flash', mode, executable };
      if (mapping['nvram-template'] === undefined) throw internal(`missing 'nvram-template' in '${file}'`);
      return { device: 'flash', mode, executable, nvramTemplate: parseFlashFile(file, mapping['nvram-template']) };
    }
    case 'kernel':
    case 'memory':
      if (typeof mapping.filename !== 'string') throw internal(`missing 'filename' in '${file}'`);
      return { device: mapping.device, filename: mapping.filename };
    default:
      throw internal(`unknown device type in '${file}'`);
  }
}

/** qemuFirmwareParse: one descriptor, or libvirt's error for the first thing wrong with it. */
export function parseFirmwareDescriptor(file: string, text: string): FirmwareDescriptor {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw internal(`unable to parse json file '${file}'`);
  }
  if (!isObject(doc)) throw internal(`failed to get interface-types from '${file}'`);
  const rawInterfaces = doc['interface-types'];
  if (!Array.isArray(rawInterfaces)) throw internal(`failed to get interface-types from '${file}'`);
  const interfaces = rawInterfaces.map((i) => {
    if (!INTERFACES.includes(i as FirmwareInterface)) throw internal(`unknown interface type: '${typeof i === 'string' ? i : '(null)'}'`);
    return i as FirmwareInterface;
  });
  const mapping = parseMapping(file, doc);
  if (!Array.isArray(doc.targets)) throw internal(`failed to get targets from '${file}'`);
  const targets = doc.targets.map((t) => {
    const o = isObject(t) ? t : {};
    if (typeof o.architecture !== 'string') throw internal(`missing 'architecture' in '${file}'`);
    const architecture = archFromQemu(o.architecture);
    if (architecture === null) throw internal(`unknown architecture '${o.architecture}'`);
    if (!Array.isArray(o.machines)) throw internal(`missing 'machines' in '${file}'`);
    return { architecture, machines: o.machines.filter((m): m is string => typeof m === 'string') };
  });
  if (!Array.isArray(doc.features)) throw internal(`failed to get features from '${file}'`);
  const features = doc.features.filter((f): f is FirmwareFeature => FEATURES.includes(f as FirmwareFeature));
  return { path: file, name: path.basename(file), interfaces, mapping, targets, features };
}

/**
 * qemuInteropFetchConfigs: the descriptor files of `dirs`, by file name; a later directory's file
 * replaces an earlier one of the same name, and an empty file hides it. Hidden files and anything
 * but regular files are skipped.
 */
export async function listFirmwareDescriptorFiles(dirs: string[]): Promise<string[]> {
  const byName = new Map<string, { file: string; size: number }>();
  for (const dir of dirs) {
    let names: string[];
    try {
      names = await fsp.readdir(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw fileSystemError(`cannot open directory '${dir}'`, e as NodeJS.ErrnoException);
    }
    for (const name of names) {
      if (name.startsWith('.')) continue;
      const file = path.join(dir, name);
      let st;
      try {
        st = await fsp.stat(file);
      } catch (e) {
        throw fileSystemError(`Unable to access ${file}`, e as NodeJS.ErrnoException);
      }
      if (st.isFile()) byName.set(name, { file, size: st.size });
    }
  }
  // The stat above already says which are empty: no second look at each file.
  return [...byName.keys()].sort().flatMap((name) => {
    const { file, size } = byName.get(name)!;
    return size > 0 ? [file] : [];
  });
}

/**
 * qemuFirmwareFetchParsedConfigs: every descriptor of `dirs` in priority order. A descriptor
 * that does not parse fails the lookup, unless `lenient` (domain capabilities) skips it.
 */
export async function loadFirmwareDescriptors(dirs: string[], options: { lenient?: boolean } = {}): Promise<FirmwareDescriptor[]> {
  const out: FirmwareDescriptor[] = [];
  for (const file of await listFirmwareDescriptorFiles(dirs)) {
    try {
      let text: string;
      try {
        text = await fsp.readFile(file, 'utf8');
      } catch (e) {
        throw fileSystemError(`Failed to open file '${file}'`, e as NodeJS.ErrnoException);
      }
      out.push(parseFirmwareDescriptor(file, text));
    } catch (e) {
      if (!options.lenient) throw e;
    }
  }
  return out;
}

/** g_pattern_match_simple: '*' matches any run of characters, '?' one character. */
export function globMatch(pattern: string, name: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 's');
  return re.test(name);
}

/** qemuFirmwareMatchesMachineArch */
export function firmwareTargets(fw: FirmwareDescriptor, arch: string, machine: string | null): boolean {
  return fw.targets.some((t) => t.architecture === arch && (machine === null || t.machines.some((m) => globMatch(m, machine))));
}

/** The image a descriptor boots: the flash executable, the kernel or the ROM file. */
export function firmwareImage(fw: FirmwareDescriptor): string {
  return fw.mapping.device === 'flash' ? fw.mapping.executable.filename : fw.mapping.filename;
}

// ---------------------------------------------------------------------------------------------
// The domain side

type Loader = NonNullable<DomainDef['os']['loader']>;

/** The order libvirt writes <loader>'s attributes in. */
const LOADER_ATTR_ORDER = ['readonly', 'secure', 'type', 'format', 'stateless'];

function getAttr(list: AttrList, name: string): string | undefined {
  return list.find(([k]) => k === name)?.[1];
}

function setAttr(list: AttrList, name: string, value: string, order: string[]): AttrList {
  const rest = list.filter(([k]) => k !== name);
  const out: AttrList = [...rest, [name, value]];
  const rank = (k: string): number => (order.includes(k) ? order.indexOf(k) : order.length);
  return out.sort((a, b) => rank(a[0]) - rank(b[0]));
}

/** virDomainDefHasOldStyleROUEFI: a read-only pflash loader named by path. */
function hasOldStyleROUEFI(loader: Loader | undefined): loader is Loader {
  return !!loader && getAttr(loader.attrs, 'type') === 'pflash' && getAttr(loader.attrs, 'readonly') === 'yes';
}

/** <os><firmware><feature name= enabled=>: the user's yes/no per feature, which only autoselection heeds. */
function requestedFeatures(def: DomainDef): Map<string, boolean> {
  const out = new Map<string, boolean>();
  if (def.os.firmware === undefined) return out;
  for (const fw of def.os.extra) {
    if (fw.name !== 'firmware') continue;
    for (const f of children(fw, 'feature')) {
      const name = attr(f, 'name');
      const enabled = attr(f, 'enabled');
      if (name !== undefined && (enabled === 'yes' || enabled === 'no')) out.set(name, enabled === 'yes');
    }
  }
  return out;
}

function pmEnabled(def: DomainDef, which: 'suspend-to-mem' | 'suspend-to-disk'): boolean {
  const el = def.pm ? child(def.pm, which) : undefined;
  return attr(el, 'enabled') === 'yes';
}

/** The policy bits of an SEV launch security element (hex, as libvirt reads it). */
function sevPolicy(sec: XmlElement): number {
  const text = textOf(child(sec, 'policy') ?? undefined)?.trim() ?? '0';
  return Number.parseInt(text, 16) || 0;
}

/** SEV-ES is bit 2 of the SEV policy. */
const SEV_ES_POLICY = 1 << 2;

/** qemuFirmwareMatchDomain (libvirt 9.0): whether `fw` satisfies everything `def` asks for. */
export function firmwareMatchesDomain(def: DomainDef, fw: FirmwareDescriptor): boolean {
  const loader = def.os.loader;
  let want: FirmwareInterface | undefined = def.os.firmware === 'efi' ? 'uefi' : def.os.firmware === 'bios' ? 'bios' : undefined;
  if (want === undefined && loader) {
    // Without autoselection, the descriptor of the very image the loader names.
    const type = getAttr(loader.attrs, 'type');
    want = type === 'rom' ? 'bios' : type === 'pflash' ? 'uefi' : undefined;
    if (fw.mapping.device !== 'flash' || fw.mapping.executable.filename !== loader.path) return false;
  }
  if (want === undefined || !fw.interfaces.includes(want)) return false;
  if (!firmwareTargets(fw, def.os.arch ?? '', def.os.machine ?? '')) return false;

  const has = (f: FirmwareFeature): boolean => fw.features.includes(f);
  if (pmEnabled(def, 'suspend-to-mem') && !has('acpi-s3')) return false;
  if (pmEnabled(def, 'suspend-to-disk') && !has('acpi-s4')) return false;
  const wanted = requestedFeatures(def);
  for (const [feature, on] of [['secure-boot', wanted.get('secure-boot')], ['enrolled-keys', wanted.get('enrolled-keys')]] as const) {
    if (on !== undefined && on !== has(feature)) return false;
  }
  if (loader && getAttr(loader.attrs, 'secure') === 'yes' && !has('requires-smm')) return false;
  if (fw.mapping.device === 'flash' && fw.mapping.mode !== 'split') return false;
  const sec = def.launchSecurity;
  if (sec && attr(sec, 'type') === 'sev') {
    if (!has('amd-sev')) return false;
    if (sevPolicy(sec) & SEV_ES_POLICY && !has('amd-sev-es')) return false;
  }
  return true;
}

/** qemuFirmwareEnableFeatures (libvirt 9.0): the chosen firmware written into the definition. */
function enableFirmware(def: DomainDef, fw: FirmwareDescriptor, nvramDir: string): void {
  const m = fw.mapping;
  if (m.device === 'flash') {
    const loader: Loader = def.os.loader ?? { attrs: [] };
    loader.attrs = setAttr(setAttr(loader.attrs, 'type', 'pflash', LOADER_ATTR_ORDER), 'readonly', 'yes', LOADER_ATTR_ORDER);
    if (m.executable.format !== 'raw') throw virError(VIR_ERR_OPERATION_UNSUPPORTED, VIR_FROM_QEMU, `unsupported flash format '${m.executable.format}'`);
    loader.path = m.executable.filename;
    const template = m.nvramTemplate!;
    if (template.format !== 'raw') throw virError(VIR_ERR_OPERATION_UNSUPPORTED, VIR_FROM_QEMU, `unsupported nvram template format '${template.format}'`);
    def.os.loader = loader;
    const nvram = def.os.nvram ?? { attrs: [], children: [], path: nvramPathIn(nvramDir, def.name) };
    nvram.attrs = setAttr(nvram.attrs, 'template', template.filename, ['template', 'templateFormat', 'type', 'format']);
    def.os.nvram = nvram;
  } else if (m.device === 'kernel') {
    def.os.kernel = m.filename;
  } else {
    const loader: Loader = def.os.loader ?? { attrs: [] };
    loader.attrs = setAttr(loader.attrs, 'type', 'rom', LOADER_ATTR_ORDER);
    loader.path = m.filename;
    def.os.loader = loader;
  }
  if (fw.features.includes('requires-smm')) {
    const smm = def.features?.get('smm');
    if (smm && attr(smm, 'state') === 'off') {
      throw virError(VIR_ERR_OPERATION_INVALID, VIR_FROM_QEMU, 'domain has SMM turned off but chosen firmware requires it');
    }
    if (!smm) {
      def.features ??= new Map();
      def.features.set('smm', { name: 'smm', attrs: new Map([['state', 'on']]), children: [], line: 0 });
    }
    // SMM firmware keeps its variable store writable only from SMM.
    if (def.os.loader) def.os.loader.attrs = setAttr(def.os.loader.attrs, 'secure', 'yes', LOADER_ATTR_ORDER);
  }
}

export interface FirmwareFillOptions {
  /** Where descriptors are looked up, in increasing priority (firmwareDescriptorDirs). */
  dirs: string[];
  /** Where a domain's variable store goes when it names none (libvirt's nvramDir). */
  nvramDir: string;
  /** VIR_DOMAIN_START_RESET_NVRAM: the variable store is to be recreated from its template. */
  resetNvram?: boolean;
}

/** Whether a definition needs the descriptors at all (the cheap test before any I/O). */
export function wantsFirmwareLookup(def: DomainDef): boolean {
  if (def.os.firmware !== undefined) return true;
  return hasOldStyleROUEFI(def.os.loader) && def.os.nvram?.attrs.some(([k]) => k === 'template') !== true;
}

/**
 * qemuFirmwareFillDomain (libvirt 9.0), for a domain started afresh: with firmware='efi|bios' the
 * first matching descriptor's images, variable store and required features replace the
 * autoselection, or the start fails; an old-style read-only UEFI loader whose variable store is
 * still to be made gets the template of its image's descriptor, if any.
 */
export async function qemuFirmwareFillDomain(def: DomainDef, options: FirmwareFillOptions): Promise<void> {
  if (!wantsFirmwareLookup(def)) return;
  const autoselect = def.os.firmware !== undefined;
  if (!autoselect) {
    const nvram = def.os.nvram;
    if (nvram) {
      if (getAttr(nvram.attrs, 'type') === 'network' || nvram.children.length > 0) {
        if (options.resetNvram) {
          throw virError(VIR_ERR_OPERATION_UNSUPPORTED, VIR_FROM_QEMU, 'resetting of nvram is not supported with network backed nvram');
        }
        return;
      }
      if (!options.resetNvram && nvram.path !== undefined && (await fileExists(nvram.path))) return;
    }
  }
  const descriptors = await loadFirmwareDescriptors(options.dirs);
  const chosen = descriptors.find((fw) => firmwareMatchesDomain(def, fw));
  if (!chosen) {
    if (autoselect) throw virError(VIR_ERR_OPERATION_FAILED, VIR_FROM_QEMU, `Unable to find any firmware to satisfy '${def.os.firmware}'`);
    return;
  }
  enableFirmware(def, chosen, options.nvramDir);
  delete def.os.firmware;
}

/** Whether a path exists and is reachable (symlinks followed). */
export async function fileExists(file: string): Promise<boolean> {
  try {
    await fsp.access(file);
    return true;
  } catch {
    return false;
  }
}

/**
 * qemuPrepareNVRAM: a local variable store that does not exist yet (or is to be reset) is made a
 * copy of its template, written beside it and renamed into place, readable by its owner only.
 */
export async function qemuPrepareNVRAM(def: DomainDef, resetNvram = false): Promise<void> {
  const loader = def.os.loader;
  const nvram = def.os.nvram;
  if (!loader || getAttr(loader.attrs, 'type') !== 'pflash' || !nvram || nvram.path === undefined) return;
  if (!resetNvram && (await fileExists(nvram.path))) return;
  const template = getAttr(nvram.attrs, 'template');
  if (template === undefined) {
    throw virError(VIR_ERR_OPERATION_FAILED, VIR_FROM_QEMU, `unable to find any master var store for loader: ${loader.path ?? ''}`);
  }
  let content: Buffer;
  try {
    content = await fsp.readFile(template);
  } catch (e) {
    throw fileSystemError(`Failed to open file '${template}'`, e as NodeJS.ErrnoException);
  }
  try {
    await writeFileAtomic(nvram.path, content);
  } catch (e) {
    throw fileSystemError(`Failed to create file '${nvram.path}'`, e as NodeJS.ErrnoException);
  }
}
