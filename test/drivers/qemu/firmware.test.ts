// Firmware descriptors (QEMU's firmware.json interop format) and libvirt 9.0's firmware
// autoselection: the directory lookup and its overrides, the descriptor parser's errors, what a
// domain gets and the errors when nothing fits (as libvirt's .err files would show them), old-style
// UEFI loaders, and the variable store made from its template at start.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseDomainXML } from '../../../src/conf/domain';
import { Connect } from '../../../src/connect';
import {
  VIR_DOMAIN_PAUSED,
  VIR_DOMAIN_START_PAUSED,
  VIR_DOMAIN_UNDEFINE_KEEP_NVRAM,
  VIR_DOMAIN_UNDEFINE_NVRAM,
  VIR_DOMAIN_XML_INACTIVE,
} from '../../../src/constants';
import { Domain } from '../../../src/domain';
import {
  firmwareDescriptorDirs,
  listFirmwareDescriptorFiles,
  loadFirmwareDescriptors,
  parseFirmwareDescriptor,
  qemuFirmwareFillDomain,
  qemuPrepareNVRAM,
} from '../../../src/drivers/qemu/firmware';
import { VirError } from '../../../src/error';
import { loadTestCaps, TEST_FIRMWARE_ROOT, xml2argv } from '../../../src/tools/qemu-test-env';
import { QEMU, skipWithoutQemu } from '../../support/qemu';
import { rejection } from '../../support/rejection';

const testsDir = path.resolve(__dirname, '..', '..', '..', '..', 'shared', 'libvirt-9.0-tests');
const repliesFile = path.join(testsDir, 'qemucapabilitiesdata', 'caps_8.0.0.x86_64.replies');

/** A domain like libvirt's firmware-auto-* inputs, with `os` and `features` swapped in. */
function fedora(os: string, opts: { machine?: string; features?: string; devices?: string } = {}): string {
  return `<domain type='kvm'>
  <name>fedora</name>
  <uuid>63840878-0deb-4095-97e6-fc444d9bc9fa</uuid>
  <memory unit='KiB'>8192</memory>
  <vcpu placement='static'>1</vcpu>
  ${os.replace('MACHINE', opts.machine ?? 'pc-q35-4.0')}
  <features>
    <acpi/>${opts.features ?? ''}
  </features>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <controller type='usb' model='none'/>
    <memballoon model='none'/>${opts.devices ?? ''}
  </devices>
</domain>
`;
}

const efi = (inner = ''): string => `<os firmware='efi'>\n    <type arch='x86_64' machine='MACHINE'>hvm</type>${inner}\n  </os>`;

function descriptor(fields: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    'interface-types': ['uefi'],
    mapping: {
      device: 'flash',
      executable: { filename: '/fw/CODE.fd', format: 'raw' },
      'nvram-template': { filename: '/fw/VARS.fd', format: 'raw' },
    },
    targets: [{ architecture: 'x86_64', machines: ['pc-q35-*'] }],
    features: [],
    tags: [],
    ...fields,
  };
}

/** Writes files (relative path -> content) under a fresh temp directory. */
function tree(files: Record<string, string>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'vn-fw-'));
  for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), content);
  }
  return root;
}

const parse = (xml: string) => parseDomainXML(xml);

const systemDirs = (root: string): string[] => firmwareDescriptorDirs(true).map((d) => path.join(root, d));

describe('drivers/qemu firmware descriptors and autoselection', function () {
  const temps: string[] = [];
  const temp = (files: Record<string, string>): string => {
    const root = tree(files);
    temps.push(root);
    return root;
  };
  after(() => {
    for (const t of temps) fs.rmSync(t, { recursive: true, force: true });
  });

  describe('descriptor lookup', () => {
    it("looks in QEMU's, the administrator's and, for a per-user driver only, the user's directory", () => {
      assert.deepEqual(firmwareDescriptorDirs(true), ['/usr/share/qemu/firmware', '/etc/qemu/firmware']);
      assert.deepEqual(firmwareDescriptorDirs(false, { XDG_CONFIG_HOME: '/x/cfg' }), ['/usr/share/qemu/firmware', '/etc/qemu/firmware', '/x/cfg/qemu/firmware']);
      assert.equal(firmwareDescriptorDirs(false, {})[2], path.join(os.homedir(), '.config', 'qemu', 'firmware'));
    });

    it('takes files by name in sorted order: a later directory replaces a file, an empty one hides it', async () => {
      const names = async (dirs: string[]) => (await listFirmwareDescriptorFiles(dirs)).map((f) => path.relative(TEST_FIRMWARE_ROOT, f));
      assert.deepEqual(await names(systemDirs(TEST_FIRMWARE_ROOT)), [
        'usr/share/qemu/firmware/40-seabios.json',
        'usr/share/qemu/firmware/50-ovmf-secboot-enrolled.json',
        'usr/share/qemu/firmware/60-ovmf.json',
        'usr/share/qemu/firmware/70-aavmf.json',
      ]);
      const user = firmwareDescriptorDirs(false, { XDG_CONFIG_HOME: path.join(TEST_FIRMWARE_ROOT, 'home/user/.config') }).map((d) => (d.startsWith('/usr') || d.startsWith('/etc') ? path.join(TEST_FIRMWARE_ROOT, d) : d));
      assert.equal((await names(user))[0], 'home/user/.config/qemu/firmware/10-user-seabios.json');

      const root = temp({
        'usr/share/qemu/firmware/50-a.json': JSON.stringify(descriptor()),
        'etc/qemu/firmware/50-a.json': JSON.stringify(descriptor({ 'interface-types': ['bios'] })),
        'etc/qemu/firmware/.hidden.json': 'not looked at',
        'etc/qemu/firmware/30-dir/x': '',
        'usr/share/qemu/firmware/10-not-json-named': JSON.stringify(descriptor()),
      });
      const loaded = await loadFirmwareDescriptors(systemDirs(root));
      assert.deepEqual(loaded.map((d) => [d.name, d.interfaces]), [['10-not-json-named', ['uefi']], ['50-a.json', ['bios']]]);
      assert.equal(loaded[1].path, path.join(root, 'etc/qemu/firmware/50-a.json'));
    });

    it("reads QEMU's format: i386 targets are i686, unknown features are ignored, flash is split by default", () => {
      const d = parseFirmwareDescriptor('/d.json', JSON.stringify(descriptor({
        targets: [{ architecture: 'i386', machines: ['pc-i440fx-*'] }],
        features: ['secure-boot', 'requires-smm', 'some-future-feature'],
      })));
      assert.deepEqual(d.targets, [{ architecture: 'i686', machines: ['pc-i440fx-*'] }]);
      assert.deepEqual(d.features, ['secure-boot', 'requires-smm']);
      assert.deepEqual(d.mapping, {
        device: 'flash', mode: 'split', executable: { filename: '/fw/CODE.fd', format: 'raw' }, nvramTemplate: { filename: '/fw/VARS.fd', format: 'raw' },
      });
    });

    it("rejects a malformed descriptor with libvirt's internal errors", () => {
      const cases: Array<[string, string]> = [
        ['{', "unable to parse json file '/d.json'"],
        [JSON.stringify(descriptor({ 'interface-types': 'uefi' })), "failed to get interface-types from '/d.json'"],
        [JSON.stringify(descriptor({ 'interface-types': ['efi'] })), "unknown interface type: 'efi'"],
        [JSON.stringify(descriptor({ mapping: undefined })), "missing mapping in '/d.json'"],
        [JSON.stringify(descriptor({ mapping: { device: 'rom' } })), "unknown device type in '/d.json'"],
        [JSON.stringify(descriptor({ mapping: { device: 'flash', mode: 'sideways' } })), "Firmware flash mode value 'sideways' unexpected"],
        [JSON.stringify(descriptor({ mapping: { device: 'flash', executable: { filename: '/c' } } })), "missing 'format' in '/d.json'"],
        [JSON.stringify(descriptor({ mapping: { device: 'flash', executable: { filename: '/c', format: 'raw' } } })), "missing 'nvram-template' in '/d.json'"],
        [JSON.stringify(descriptor({ targets: [{ architecture: 'z80', machines: [] }] })), "unknown architecture 'z80'"],
        [JSON.stringify(descriptor({ targets: [{ architecture: 'x86_64' }] })), "missing 'machines' in '/d.json'"],
        [JSON.stringify(descriptor({ features: undefined })), "failed to get features from '/d.json'"],
      ];
      for (const [text, message] of cases) {
        assert.throws(() => parseFirmwareDescriptor('/d.json', text), (e: VirError) => {
          assert.equal(e.code, 1); // VIR_ERR_INTERNAL_ERROR
          assert.equal(e.domain, 10); // VIR_FROM_QEMU
          assert.equal(e.message, `internal error: ${message}`);
          return true;
        });
      }
      // A stateless flash image needs no template.
      assert.equal(parseFirmwareDescriptor('/d.json', JSON.stringify(descriptor({ mapping: { device: 'flash', mode: 'stateless', executable: { filename: '/c', format: 'raw' } } }))).mapping.device, 'flash');
    });
  });

  describe('autoselection on the golden harness', function () {
    before(function () {
      if (!fs.existsSync(repliesFile)) this.skip();
    });

    const argv = async (xml: string, root?: string): Promise<string> => xml2argv(xml, await loadTestCaps(repliesFile), undefined, root);
    const argvError = async (xml: string, root?: string): Promise<VirError> => rejection(argv(xml, root));

    it('fails when no descriptor satisfies the firmware type or its features', async () => {
      const unsatisfied = [
        // Secure boot firmware targets Q35 only.
        fedora(efi("\n    <firmware>\n      <feature enabled='yes' name='secure-boot'/>\n    </firmware>"), { machine: 'pc-i440fx-4.0' }),
        // No UEFI build of the tree supports S4.
        fedora(efi()).replace('<devices>', "<pm>\n    <suspend-to-disk enabled='yes'/>\n  </pm>\n  <devices>"),
      ];
      for (const xml of unsatisfied) {
        const err = await argvError(xml);
        assert.equal(err.code, 9); // VIR_ERR_OPERATION_FAILED
        assert.equal(err.domain, 10);
        assert.equal(err.message, "operation failed: Unable to find any firmware to satisfy 'efi'");
      }
      // SeaBIOS does not restrict flash to SMM.
      const bios = await argvError(fedora("<os firmware='bios'>\n    <type arch='x86_64' machine='MACHINE'>hvm</type>\n    <loader secure='yes'/>\n  </os>"));
      assert.equal(bios.message, "operation failed: Unable to find any firmware to satisfy 'bios'");
      // Nothing at all installed.
      const empty = temp({ 'usr/share/qemu/firmware/.keep': '' });
      assert.equal((await argvError(fedora(efi()), empty)).message, "operation failed: Unable to find any firmware to satisfy 'efi'");
    });

    it('refuses firmware that needs SMM for a domain that turns SMM off', async () => {
      const err = await argvError(fedora(efi(), { features: "\n    <smm state='off'/>" }));
      assert.equal(err.code, 55); // VIR_ERR_OPERATION_INVALID
      assert.equal(err.message, 'Requested operation is not valid: domain has SMM turned off but chosen firmware requires it');
    });

    it('fails on a descriptor that does not parse', async () => {
      const root = temp({ 'usr/share/qemu/firmware/30-broken.json': '{"interface-types": [' });
      const err = await argvError(fedora(efi()), root);
      assert.equal(err.code, 1);
      assert.equal(err.message, `internal error: unable to parse json file '${path.join(root, 'usr/share/qemu/firmware/30-broken.json')}'`);
    });

    it('takes the first fitting descriptor in file-name order, from whichever directory', async () => {
      // The administrator's plain OVMF sorts before the secure-boot build: no SMM, no secure flash.
      const root = temp({
        'usr/share/qemu/firmware/50-ovmf-secboot-enrolled.json': fs.readFileSync(path.join(TEST_FIRMWARE_ROOT, 'usr/share/qemu/firmware/50-ovmf-secboot-enrolled.json'), 'utf8'),
        'etc/qemu/firmware/45-local-ovmf.json': JSON.stringify(descriptor({
          mapping: { device: 'flash', executable: { filename: '/opt/ovmf/CODE.fd', format: 'raw' }, 'nvram-template': { filename: '/opt/ovmf/VARS.fd', format: 'raw' } },
        })),
      });
      const args = await argv(fedora(efi()), root);
      assert.match(args, /"filename":"\/opt\/ovmf\/CODE.fd"/);
      assert.match(args, /"filename":"\/var\/lib\/libvirt\/qemu\/nvram\/fedora_VARS.fd"/);
      assert.doesNotMatch(args, /smm=on|cfi.pflash01/);
      // Asking for secure boot skips it.
      const secure = await argv(fedora(efi("\n    <firmware>\n      <feature enabled='yes' name='secure-boot'/>\n    </firmware>")), root);
      assert.match(secure, /OVMF_CODE.secboot.fd/);
      assert.match(secure, /smm=on/);
    });

    it('rejects firmware formats other than raw', async () => {
      const root = temp({
        'usr/share/qemu/firmware/50-qcow2.json': JSON.stringify(descriptor({
          mapping: { device: 'flash', executable: { filename: '/fw/CODE.qcow2', format: 'qcow2' }, 'nvram-template': { filename: '/fw/VARS.qcow2', format: 'qcow2' } },
        })),
      });
      const err = await argvError(fedora(efi()), root);
      assert.equal(err.code, 84); // VIR_ERR_OPERATION_UNSUPPORTED
      assert.equal(err.message, "Operation not supported: unsupported flash format 'qcow2'");
    });

    it("gives an old-style read-only UEFI loader its descriptor's template, SMM and secure flash", async () => {
      const dir = temp({ 'existing_VARS.fd': 'vars' });
      const loader = (nvram: string): string =>
        fedora(`<os>\n    <type arch='x86_64' machine='MACHINE'>hvm</type>\n    <loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE.secboot.fd</loader>\n    <nvram>${nvram}</nvram>\n  </os>`);
      const fresh = await argv(loader(path.join(dir, 'new_VARS.fd')));
      assert.match(fresh, /smm=on/);
      assert.match(fresh, /-global driver=cfi.pflash01,property=secure,value=on/);
      // A variable store that already exists is left as it is, and so is the domain.
      const kept = await argv(loader(path.join(dir, 'existing_VARS.fd')));
      assert.doesNotMatch(kept, /smm=on|cfi.pflash01/);
      // An image no descriptor describes is no error.
      const unknown = await argv(loader(path.join(dir, 'new_VARS.fd')).replace('OVMF_CODE.secboot.fd', 'MY_CODE.fd'));
      assert.match(unknown, /"filename":"\/usr\/share\/OVMF\/MY_CODE.fd"/);
      assert.doesNotMatch(unknown, /smm=on/);
    });
  });

  describe('the definition a selection leaves', () => {
    it('fills loader, variable store and its template, and SMM; the autoselection is done', async () => {
      const def = parse(fedora(efi()).replace('MACHINE', 'pc-q35-4.0'));
      await qemuFirmwareFillDomain(def, { dirs: systemDirs(TEST_FIRMWARE_ROOT), nvramDir: '/nv' });
      assert.equal(def.os.firmware, undefined);
      assert.deepEqual(def.os.loader, { attrs: [['readonly', 'yes'], ['secure', 'yes'], ['type', 'pflash']], path: '/usr/share/OVMF/OVMF_CODE.secboot.fd' });
      assert.deepEqual(def.os.nvram, { attrs: [['template', '/usr/share/OVMF/OVMF_VARS.secboot.fd']], children: [], path: '/nv/fedora_VARS.fd' });
      assert.equal(def.features?.get('smm')?.attrs.get('state'), 'on');
    });

    it('boots a kernel or a ROM image as the descriptor maps it', async () => {
      const root = temp({
        'usr/share/qemu/firmware/10-kernel.json': JSON.stringify(descriptor({ 'interface-types': ['bios'], mapping: { device: 'kernel', filename: '/fw/vmlinuz' } })),
      });
      const def = parse(fedora("<os firmware='bios'>\n    <type arch='x86_64' machine='pc-q35-4.0'>hvm</type>\n  </os>"));
      await qemuFirmwareFillDomain(def, { dirs: systemDirs(root), nvramDir: '/nv' });
      assert.equal(def.os.kernel, '/fw/vmlinuz');
      assert.equal(def.os.loader, undefined);

      const rom = parse(fedora("<os firmware='bios'>\n    <type arch='x86_64' machine='pc-i440fx-4.0'>hvm</type>\n  </os>"));
      await qemuFirmwareFillDomain(rom, { dirs: systemDirs(TEST_FIRMWARE_ROOT), nvramDir: '/nv' });
      assert.deepEqual(rom.os.loader, { attrs: [['type', 'rom']], path: '/usr/share/seabios/bios-256k.bin' });
      assert.equal(rom.os.nvram, undefined);
    });
  });

  describe('the variable store at start', () => {
    it('is copied from its template when missing or reset, owner-only, and kept otherwise', async () => {
      const dir = temp({ 'VARS.fd': 'template contents' });
      const store = path.join(dir, 'guest_VARS.fd');
      const xml = `<domain type='qemu'><name>guest</name><memory>1024</memory><os><type arch='x86_64'>hvm</type>
        <loader readonly='yes' type='pflash'>/fw/CODE.fd</loader><nvram template='${dir}/VARS.fd'>${store}</nvram></os></domain>`;
      await qemuPrepareNVRAM(parse(xml));
      assert.equal(fs.readFileSync(store, 'utf8'), 'template contents');
      assert.equal(fs.statSync(store).mode & 0o777, 0o600);
      fs.writeFileSync(store, 'guest changes');
      await qemuPrepareNVRAM(parse(xml));
      assert.equal(fs.readFileSync(store, 'utf8'), 'guest changes');
      await qemuPrepareNVRAM(parse(xml), true);
      assert.equal(fs.readFileSync(store, 'utf8'), 'template contents');
    });

    it("fails without a template, or with one that is not there, as libvirt does", async () => {
      const dir = temp({});
      const store = path.join(dir, 'guest_VARS.fd');
      const withTemplate = (t: string) => `<domain type='qemu'><name>guest</name><memory>1024</memory><os><type arch='x86_64'>hvm</type>
        <loader readonly='yes' type='pflash'>/fw/CODE.fd</loader><nvram${t}>${store}</nvram></os></domain>`;
      let err = await rejection(qemuPrepareNVRAM(parse(withTemplate(''))));
      assert.equal(err.code, 9);
      assert.equal(err.message, 'operation failed: unable to find any master var store for loader: /fw/CODE.fd');
      err = await rejection(qemuPrepareNVRAM(parse(withTemplate(` template='${dir}/nope.fd'`))));
      assert.equal(err.code, 38); // VIR_ERR_SYSTEM_ERROR
      assert.equal(err.message, `Failed to open file '${dir}/nope.fd': No such file or directory`);
      assert.equal(fs.existsSync(store), false);
    });
  });

  describe("on this host's descriptors (Debian's ovmf) and the real QEMU", function () {
    this.timeout(60_000);
    /** Debian's descriptor for OVMF with Secure Boot and Microsoft's keys, the first for Q35. */
    const DEBIAN_ENROLLED = '/usr/share/qemu/firmware/40-edk2-x86_64-secure-enrolled.json';
    let root: string;
    let conn: Connect;
    let enrolled: { code: string; vars: string };

    before(async function () {
      skipWithoutQemu(this);
      if (!fs.existsSync(DEBIAN_ENROLLED)) {
        console.log(`      (skipped: ${DEBIAN_ENROLLED} missing; install the Debian package ovmf)`);
        this.skip();
      }
      const doc = JSON.parse(fs.readFileSync(DEBIAN_ENROLLED, 'utf8'));
      enrolled = { code: doc.mapping.executable.filename, vars: doc.mapping['nvram-template'].filename };
      root = fs.mkdtempSync(path.join(os.tmpdir(), 'vn-fw-real-'));
      conn = await Connect.open(`qemu:///embed?root=${root}`);
    });
    after(async () => {
      if (conn) {
        for (const dom of await conn.listAllDomains(1)) await dom.destroy().catch(() => {});
        await conn.close();
      }
      if (root) fs.rmSync(root, { recursive: true, force: true });
    });

    // TCG: secure-boot OVMF needs SMM, which KVM inside some virtual machines lacks.
    const guest = (name: string, inner = ''): string => `<domain type='qemu'>
  <name>${name}</name>
  <memory unit='MiB'>64</memory>
  <os firmware='efi'><type arch='x86_64' machine='q35'>hvm</type>${inner}</os>
  <features><acpi/></features>
  <devices><emulator>${QEMU}</emulator></devices>
</domain>`;

    it("resolves firmware='efi' to Debian's OVMF in domxml-to-native, the store under the embed root", async () => {
      const native = await conn.domainXMLToNative('qemu-argv', guest('efi-native'));
      assert.ok(native.includes(`"filename":"${enrolled.code}"`), native);
      assert.ok(native.includes(`"filename":"${path.join(root, 'lib', 'qemu', 'nvram', 'efi-native_VARS.fd')}"`), native);
      assert.match(native, /-machine pc-q35-[\d.]+,usb=off,smm=on,/);
      assert.match(native, /-global driver=cfi.pflash01,property=secure,value=on/);
      const plain = await conn.domainXMLToNative('qemu-argv', guest('efi-plain', "<firmware><feature enabled='no' name='secure-boot'/></firmware>"));
      assert.doesNotMatch(plain, /smm=on|cfi.pflash01|secboot|\.ms\.fd/);
    });

    it('starts a guest on the chosen firmware with its variable store made from the template', async () => {
      const dom = await Domain.defineXML(conn, guest('efi-start'));
      await dom.createWithFlags(VIR_DOMAIN_START_PAUSED);
      assert.equal((await dom.getState()).state, VIR_DOMAIN_PAUSED);
      const status = JSON.parse(await dom.qemuMonitorCommand('{"execute":"query-status"}')).return;
      assert.equal(status.status, 'prelaunch');
      // QEMU opened both flash images: the firmware read-only, the store writable.
      const nodes = JSON.parse(await dom.qemuMonitorCommand('{"execute":"query-named-block-nodes"}')).return as Array<{ 'node-name': string; file: string; ro: boolean }>;
      const flash = (n: number) => nodes.find((b) => b['node-name'] === `libvirt-pflash${n}-format`);
      assert.equal(flash(0)?.ro, true);
      assert.equal(flash(1)?.ro, false);
      const live = await dom.getXMLDesc();
      assert.ok(live.includes(`<loader readonly='yes' secure='yes' type='pflash'>${enrolled.code}</loader>`), live);
      const store = path.join(root, 'lib', 'qemu', 'nvram', 'efi-start_VARS.fd');
      assert.ok(live.includes(`<nvram template='${enrolled.vars}'>${store}</nvram>`), live);
      assert.ok(live.includes("<smm state='on'/>"), live);
      assert.deepEqual(fs.readFileSync(store), fs.readFileSync(enrolled.vars));
      // The persistent definition still asks for autoselection.
      const inactive = await dom.getXMLDesc(VIR_DOMAIN_XML_INACTIVE);
      assert.match(inactive, /<os firmware='efi'>/);
      assert.doesNotMatch(inactive, /<loader/);
      await dom.destroy();

      // The store stays with the domain unless undefine is told what to do with it.
      const err = await rejection(dom.undefineFlags(0));
      assert.equal(err.code, 55);
      assert.equal(err.message, 'Requested operation is not valid: cannot undefine domain with nvram');
      assert.equal((await conn.listAllDomains()).some((d) => d.getName() === 'efi-start'), true);
      await dom.undefineFlags(VIR_DOMAIN_UNDEFINE_NVRAM);
      assert.equal(fs.existsSync(store), false);
    });

    it('keeps the variable store on undefine when asked to', async () => {
      const dom = await Domain.defineXML(conn, guest('efi-keep'));
      await dom.createWithFlags(VIR_DOMAIN_START_PAUSED);
      await dom.destroy();
      const store = path.join(root, 'lib', 'qemu', 'nvram', 'efi-keep_VARS.fd');
      await dom.undefineFlags(VIR_DOMAIN_UNDEFINE_KEEP_NVRAM);
      assert.equal(fs.existsSync(store), true);
    });
  });
});
