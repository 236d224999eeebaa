import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  formatDomainXML,
  parseDeviceXML,
  parseDomainXML,
  domainDeviceMatches,
  teamingActualTypeError,
  teamingPersistentModelError,
  teamingTransientTypeError,
  teamingUnsupportedError,
  validateNetTeamingQemu,
  type DomainDef,
  type DomainXMLOptions,
  type NetDef,
} from '../../src/conf/domain';
import { VIR_DOMAIN_XML_INACTIVE, VIR_DOMAIN_XML_MIGRATABLE, VIR_DOMAIN_XML_SECURE } from '../../src/constants';
import { VirError } from '../../src/error';

const dataDir = path.join(__dirname, '..', 'data', 'domain');
const fixture = (name: string): string => readFileSync(path.join(dataDir, name), 'utf8');

/**
 * What libvirt's test driver adds on define: arch i686 and the first free testnetN name for each
 * interface without one. The *.inactive.xml fixtures are libvirt 9.0's own output (python3-libvirt,
 * test:///default, defineXML + XMLDesc(VIR_DOMAIN_XML_INACTIVE)) for the matching input fixture.
 */
const testDriverLike: DomainXMLOptions = {
  userAliases: true,
  postParse(def: DomainDef) {
    def.os.arch ??= 'i686';
    const used = new Set(def.devices.interfaces.map((n) => n.target?.dev));
    for (const net of def.devices.interfaces) {
      if (net.target) continue;
      let i = 0;
      while (used.has(`testnet${i}`)) i++;
      net.target = { dev: `testnet${i}` };
      used.add(net.target.dev);
    }
  },
};

function minimal(body = '', devices = ''): string {
  return `<domain type='test'><name>m</name><uuid>11111111-2222-3333-4444-555555555555</uuid><memory>1024</memory><os><type>hvm</type></os>${body}<devices>${devices}</devices></domain>`;
}

function expectError(xml: string, code: number, domain: number, message: string, opts: DomainXMLOptions = testDriverLike): void {
  assert.throws(
    () => parseDomainXML(xml, opts),
    (err: unknown) => {
      assert.ok(err instanceof VirError, `not a VirError: ${String(err)}`);
      assert.equal(err.message, message);
      assert.equal(err.code, code);
      assert.equal(err.domain, domain);
      return true;
    },
  );
}

describe('conf/domain: parse and format', () => {
  it('formats test:///default\'s domain exactly as `virsh dumpxml test` (live, id 1)', () => {
    const def = parseDomainXML(fixture('test-default.xml'), testDriverLike);
    assert.equal(formatDomainXML(def, 0, { id: 1 }), fixture('test-default.live.xml'));
  });

  it('keeps the id with VIR_DOMAIN_XML_MIGRATABLE, as libvirt does', () => {
    const def = parseDomainXML(fixture('test-default.xml'), testDriverLike);
    assert.equal(formatDomainXML(def, VIR_DOMAIN_XML_MIGRATABLE, { id: 1 }), fixture('test-default.live.xml'));
  });

  it('leaves the id out of inactive XML', () => {
    const def = parseDomainXML(fixture('test-default.xml'), testDriverLike);
    const xml = formatDomainXML(def, VIR_DOMAIN_XML_INACTIVE, { id: 1 });
    assert.match(xml, /^<domain type='test'>\n/);
  });

  it('fills libvirt\'s defaults for a minimal domain', () => {
    const def = parseDomainXML(
      "<domain type='test'><name>x</name><uuid>6ea4ec42-f78d-4a41-ac0e-f7242fea1ff5</uuid><memory>1024</memory><os><type>hvm</type></os></domain>",
      testDriverLike,
    );
    assert.equal(
      formatDomainXML(def),
      `<domain type='test'>
  <name>x</name>
  <uuid>6ea4ec42-f78d-4a41-ac0e-f7242fea1ff5</uuid>
  <memory unit='KiB'>1024</memory>
  <currentMemory unit='KiB'>1024</currentMemory>
  <vcpu placement='static'>1</vcpu>
  <os>
    <type arch='i686'>hvm</type>
    <boot dev='hd'/>
  </os>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
  </devices>
</domain>
`,
    );
  });

  it('generates a UUID when none is given', () => {
    const a = parseDomainXML("<domain type='test'><name>x</name><memory>1</memory><os><type>hvm</type></os></domain>");
    const b = parseDomainXML("<domain type='test'><name>x</name><memory>1</memory><os><type>hvm</type></os></domain>");
    assert.match(a.uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.notEqual(a.uuid, b.uuid);
  });

  for (const name of ['devices-mix', 'disks-chardevs', 'implicit-devices', 'breadth-os-devices', 'breadth-tuning-net', 'cpu-defaults', 'interface-children', 'chardev-sources']) {
    it(`matches libvirt's test driver for ${name}.xml (define + dumpxml --inactive)`, () => {
      const def = parseDomainXML(fixture(`${name}.xml`), testDriverLike);
      const expected = fixture(`${name}.inactive.xml`);
      // MACs libvirt generated at random in the recorded output are compared by shape only.
      const ours = formatDomainXML(def, VIR_DOMAIN_XML_INACTIVE);
      const generic = (s: string): string => s.replace(/52:54:00(:[0-9a-f]{2}){3}/g, '52:54:00:XX:XX:XX');
      assert.equal(generic(ours), generic(expected));
    });
  }

  it('writes graphics passwords only with VIR_DOMAIN_XML_SECURE', () => {
    const def = parseDomainXML(fixture('devices-mix.xml'), testDriverLike);
    const generic = (s: string): string => s.replace(/52:54:00(:[0-9a-f]{2}){3}/g, '52:54:00:XX:XX:XX');
    const secure = formatDomainXML(def, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE);
    assert.equal(generic(secure), generic(fixture('devices-mix.secure.xml')));
    assert.doesNotMatch(formatDomainXML(def, VIR_DOMAIN_XML_INACTIVE), /passwd=/);
  });

  it('scales memory units to KiB, rounding up', () => {
    const mem = (m: string): number =>
      parseDomainXML(`<domain type='test'><name>u</name>${m}<os><type>hvm</type></os></domain>`).memory;
    assert.equal(mem("<memory unit='GB'>1</memory>"), 976563);
    assert.equal(mem("<memory unit='GiB'>1</memory>"), 1048576);
    assert.equal(mem("<memory unit='M'>2</memory>"), 2048);
    assert.equal(mem("<memory unit='b'>1025</memory>"), 2);
    assert.equal(mem("<memory unit='bytes'>1024</memory>"), 1);
    assert.equal(mem("<memory unit='KB'>1000</memory>"), 977);
    assert.equal(mem('<memory>512</memory>'), 512);
  });

  it('keeps user aliases and drops other aliases from inactive XML', () => {
    const def = parseDomainXML(
      minimal('', "<interface type='user'><mac address='52:54:00:00:00:01'/><alias name='ua-nic'/></interface><interface type='user'><mac address='52:54:00:00:00:02'/><alias name='net1'/></interface>"),
      testDriverLike,
    );
    assert.equal(def.devices.interfaces[0].info.alias, 'ua-nic');
    assert.equal(def.devices.interfaces[1].info.alias, undefined);
    const noUserAliases = parseDomainXML(
      minimal('', "<interface type='user'><alias name='ua-nic'/></interface>"),
      { userAliases: false },
    );
    assert.equal(noUserAliases.devices.interfaces[0].info.alias, undefined);
  });

  it('keeps every alias from live (status) XML and writes them only in live output', () => {
    const def = parseDomainXML(
      minimal('', "<interface type='user'><mac address='52:54:00:00:00:01'/><alias name='net0'/></interface>"),
      {},
      0,
    );
    assert.equal(def.devices.interfaces[0].info.alias, 'net0');
    assert.match(formatDomainXML(def, 0, { id: 3 }), /<alias name='net0'\/>/);
    assert.doesNotMatch(formatDomainXML(def, VIR_DOMAIN_XML_INACTIVE), /<alias/);
  });

  it('ignores unknown elements', () => {
    const def = parseDomainXML(
      minimal(
        '<bogus><x/></bogus>',
        "<gadget/><memballoon model='virtio'><bogus/></memballoon><serial type='pty'><bogus/></serial><disk type='file'><source file='/a'/><target dev='vda'/><bogus/></disk>",
      ),
      testDriverLike,
    );
    assert.doesNotMatch(formatDomainXML(def), /bogus|gadget/);
  });

  it("drops elements of namespaces the driver does not know", () => {
    const xml = `<domain type='test' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'><name>q</name><memory>1024</memory><os><type>hvm</type></os><qemu:commandline><qemu:arg value='-S'/></qemu:commandline></domain>`;
    const out = formatDomainXML(parseDomainXML(xml, { xmlNamespaces: ['http://libvirt.org/schemas/domain/test/1.0'] }));
    assert.match(out, /^<domain type='test'>\n/);
    assert.doesNotMatch(out, /qemu/);
  });

  it('keeps <metadata> and qemu:commandline', () => {
    const xml = `<domain type='kvm' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'><name>q</name><uuid>11111111-2222-3333-4444-555555555555</uuid><metadata><app:info xmlns:app="urn:x"><app:v n="1">t</app:v></app:info></metadata><memory>1024</memory><os><type arch='x86_64'>hvm</type></os><qemu:commandline><qemu:arg value='-S'/></qemu:commandline></domain>`;
    const out = formatDomainXML(parseDomainXML(xml));
    assert.match(out, /^<domain type='kvm' xmlns:qemu='http:\/\/libvirt.org\/schemas\/domain\/qemu\/1.0'>/);
    assert.match(out, /  <metadata>\n    <app:info xmlns:app="urn:x">\n      <app:v n="1">t<\/app:v>\n    <\/app:info>\n  <\/metadata>\n/);
    assert.match(out, /  <qemu:commandline>\n    <qemu:arg value='-S'\/>\n  <\/qemu:commandline>\n<\/domain>\n$/);
  });
});

describe('conf/domain: parse errors (test driver table, libvirt-notes 4.5)', () => {
  const cases: Array<[string, string, number, number, string]> = [
    ['missing name', "<domain type='test'><memory>1</memory><os><type>hvm</type></os></domain>", 21, 20, 'missing name information'],
    ['missing type attribute', '<domain><name>a</name><memory>1</memory><os><type>hvm</type></os></domain>', 1, 20, 'internal error: missing domain type attribute'],
    ['unknown domain type', "<domain type='bogus'><name>a</name><memory>1</memory><os><type>hvm</type></os></domain>", 67, 20, 'unsupported configuration: invalid domain type bogus'],
    ['no os type', "<domain type='test'><name>a</name><memory>1</memory></domain>", 27, 20, 'XML error: an os <type> must be specified'],
    ['unknown os type', "<domain type='test'><name>a</name><memory>1</memory><os><type>foo</type></os></domain>", 67, 20, "unsupported configuration: unknown OS type 'foo'"],
    ['no memory', "<domain type='test'><name>a</name><os><type>hvm</type></os></domain>", 27, 20, 'XML error: Memory size must be specified via <memory> or in the <numa> configuration'],
    ["'/' in the name", "<domain type='test'><name>a/b</name><memory>1</memory><os><type>hvm</type></os></domain>", 27, 20, "XML error: name a/b cannot contain '/'"],
    ['malformed uuid', "<domain type='test'><name>a</name><uuid>zzz</uuid><memory>1</memory><os><type>hvm</type></os></domain>", 1, 20, 'internal error: malformed uuid element'],
    ['vcpu 0', "<domain type='test'><name>a</name><memory>1</memory><vcpu>0</vcpu><os><type>hvm</type></os></domain>", 1, 20, 'internal error: CPU IDs in <numa> exceed the <vcpu> count'],
    ['vcpu not a number', "<domain type='test'><name>a</name><memory>1</memory><vcpu>x</vcpu><os><type>hvm</type></os></domain>", 27, 20, 'XML error: maximum vcpus count must be an integer'],
    ['current vcpus above maximum', "<domain type='test'><name>a</name><memory>1</memory><vcpu current='3'>2</vcpu><os><type>hvm</type></os></domain>", 67, 20, 'unsupported configuration: maximum vCPU count must not be less than current vCPU count'],
    ['wrong root element', '<foo/>', 27, 5, "XML error: expecting root element of 'domain', not 'foo'"],
    ['malformed XML', '<domain', 35, 20, "(domain_definition):1: Couldn't find end of Start Tag domain line 1\n<domain\n-------^"],
    ['empty document', '', 35, 20, '(domain_definition):1: Document is empty\n(null)\n^'],
    ['unknown memory unit', "<domain type='test'><name>a</name><memory unit='XB'>9</memory><os><type>hvm</type></os></domain>", 8, 0, "invalid argument: unknown suffix 'XB'"],
    ['memory overflow', "<domain type='test'><name>a</name><memory unit='EiB'>9</memory><os><type>hvm</type></os></domain>", 82, 0, 'numerical overflow: value too large: 9EiB'],
    ['memory not a number', "<domain type='test'><name>a</name><memory>abc</memory><os><type>hvm</type></os></domain>", 27, 5, "XML error: Invalid value 'abc' for element or attribute './memory[1]'"],
    ['title with a newline', "<domain type='test'><name>a</name><title>a\nb</title><memory>1</memory><os><type>hvm</type></os></domain>", 27, 20, "XML error: Domain title can't contain newlines"],
    ['unknown lifecycle action', "<domain type='test'><name>a</name><memory>1</memory><os><type>hvm</type></os><on_crash>x</on_crash></domain>", 67, 20, 'unsupported configuration: unknown on_crash action: x'],
    ['unknown boot device', "<domain type='test'><name>a</name><memory>1</memory><os><type>hvm</type><boot dev='x'/></os></domain>", 27, 5, "XML error: Invalid value for attribute 'dev' in element 'boot': 'x'."],
    ['unknown feature', minimal('<features><foo/></features>'), 67, 20, "unsupported configuration: unexpected feature 'foo'"],
    ['device boot with os boot', minimal().replace('</os>', "<boot dev='hd'/></os>").replace('<devices>', "<devices><disk type='file'><source file='/a'/><target dev='vda'/><boot order='1'/></disk>"), 67, 20, 'unsupported configuration: per-device boot elements cannot be used together with os/boot elements'],
    ['boot order zero', minimal('', "<disk type='file'><source file='/a'/><target dev='vda'/><boot order='0'/></disk>"), 27, 5, "XML error: Invalid value for attribute 'order' in element 'boot': Zero is not permitted"],
    ['disk without target', minimal('', "<disk type='file'><source file='/a.img'/></disk>"), 20, 20, 'missing target information for device /a.img'],
    ['bad MAC address', minimal('', "<interface type='user'><mac address='zz:00'/></interface>"), 27, 20, "XML error: unable to parse mac address 'zz:00'"],
    ['multicast MAC address', minimal('', "<interface type='user'><mac address='01:00:00:00:00:01'/></interface>"), 27, 20, "XML error: expected unicast mac address, found multicast '01:00:00:00:00:01'"],
    ['unknown interface type', minimal('', "<interface type='foo'/>"), 27, 5, "XML error: Invalid value for attribute 'type' in element 'interface': 'foo'."],
    ['unknown link state', minimal('', "<interface type='user'><link state='sideways'/></interface>"), 67, 20, "unsupported configuration: unknown interface link state 'sideways'"],
    ['unknown controller type', minimal('', "<controller type='foo'/>"), 27, 5, "XML error: Invalid value for attribute 'type' in element 'controller': 'foo'."],
    ['unknown chardev type', minimal('', "<serial type='foo'/>"), 67, 20, 'unsupported configuration: unknown type presented to host for character device: foo'],
    ['bad PCI address', minimal('', "<interface type='user'><address type='pci' slot='zz'/></interface>"), 27, 5, "XML error: Invalid value for attribute 'slot' in element 'address': 'zz'. Expected non-negative integer value"],
    ['duplicate alias', minimal('', "<interface type='user'><alias name='ua-a'/></interface><interface type='user'><alias name='ua-a'/></interface>"), 67, 20, 'unsupported configuration: non unique alias detected: ua-a'],
    ['DOCTYPE', "<!DOCTYPE domain [<!ENTITY x 'y'>]><domain type='test'><name>&x;</name></domain>", 27, 20, 'XML error: DOCTYPE is not allowed: document type definitions are not processed'],
  ];
  for (const [what, xml, code, domain, message] of cases) {
    it(`${what} -> ${code}/${domain} '${message.split('\n')[0]}'`, () => expectError(xml, code, domain, message));
  }
});

describe('conf/domain: <teaming> (libvirt-notes 1.2-1.5)', () => {
  const iface = (teaming: string, extra = "<model type='virtio'/>", type = 'user'): string =>
    minimal('', `<interface type='${type}'><mac address='00:11:22:33:44:55'/>${extra}${teaming}</interface>`);
  const hostdev = (teaming: string, type = 'pci'): string => {
    const source = type === 'pci'
      ? "<source><address domain='0x0000' bus='0x03' slot='0x07' function='0x1'/></source>"
      : "<source><vendor id='0x1234'/><product id='0xbeef'/></source>";
    return minimal('', `<hostdev mode='subsystem' type='${type}' managed='yes'>${source}${teaming}</hostdev>`);
  };
  const unsupported = (detail: string): string => `unsupported configuration: ${detail}`;

  it("P1: unknown type -> 67/20 unknown teaming type 'bogus'", () =>
    expectError(iface("<teaming type='bogus'/>"), 67, 20, unsupported("unknown teaming type 'bogus'")));
  it("P1: missing type -> unknown teaming type '(null)'", () =>
    expectError(iface("<teaming persistent='ua-x'/>"), 67, 20, unsupported("unknown teaming type '(null)'")));
  it("P1: type 'none' is rejected", () =>
    expectError(iface("<teaming type='none'/>"), 67, 20, unsupported("unknown teaming type 'none'")));
  it('P1: applies to <hostdev> too', () =>
    expectError(hostdev("<teaming type='bad'/>"), 67, 20, unsupported("unknown teaming type 'bad'")));
  it('an empty <teaming/> is ignored', () => {
    const def = parseDomainXML(iface('<teaming/>'), testDriverLike);
    assert.equal(def.devices.interfaces[0].teaming, undefined);
    assert.doesNotMatch(formatDomainXML(def), /teaming/);
  });
  it('V1: transient without persistent', () =>
    expectError(
      minimal('', "<interface type='hostdev'><source><address type='pci' domain='0' bus='1' slot='0' function='0'/></source><teaming type='transient'/></interface>"),
      67, 20, unsupported("teaming persistent attribute must be set if teaming type is 'transient'"),
    ));
  it("V2: persistent with a persistent attribute", () =>
    expectError(iface("<teaming type='persistent' persistent='ua-y'/>"), 67, 20,
      unsupported("teaming persistent attribute not allowed if teaming type is 'persistent'")));
  it("V3: hostdev teaming must be transient", () =>
    expectError(hostdev("<teaming type='persistent'/>"), 67, 20, unsupported("teaming hostdev devices must have type='transient'")));
  it('V4: hostdev teaming needs persistent', () =>
    expectError(hostdev("<teaming type='transient'/>"), 67, 20,
      unsupported('missing required persistent attribute in hostdev teaming element')));
  it('V5: hostdev teaming only on PCI', () =>
    expectError(hostdev("<teaming type='transient' persistent='ua-x'/>", 'usb'), 67, 20,
      unsupported('teaming is only supported for pci hostdev devices')));

  it('formats <teaming> after <model>, before <link>/<mtu>/<alias> (interface)', () => {
    const def = parseDomainXML(
      iface("<alias name='ua-backup0'/><mtu size='1400'/><link state='down'/><teaming type='persistent'/>"),
      testDriverLike,
    );
    assert.match(
      formatDomainXML(def),
      /<mac address='00:11:22:33:44:55'\/>\n {6}<target dev='testnet0'\/>\n {6}<model type='virtio'\/>\n {6}<teaming type='persistent'\/>\n {6}<link state='down'\/>\n {6}<mtu size='1400'\/>\n {6}<alias name='ua-backup0'\/>\n/,
    );
  });

  it('formats <teaming> after <source> (hostdev interface and hostdev)', () => {
    const def = parseDomainXML(
      minimal('', "<interface type='hostdev' managed='yes'><teaming type='transient' persistent='ua-backup0'/><mac address='00:11:22:33:44:55'/><source><address type='pci' domain='0x0000' bus='0x03' slot='0x07' function='0x1'/></source></interface>") .replace('</devices>', "<hostdev mode='subsystem' type='pci' managed='no'><teaming type='transient' persistent='ua-backup0'/><source><address domain='0x0000' bus='0x00' slot='0x07' function='0x0'/></source></hostdev></devices>"),
      testDriverLike,
    );
    const xml = formatDomainXML(def);
    assert.ok(xml.includes(`    <interface type='hostdev' managed='yes'>
      <mac address='00:11:22:33:44:55'/>
      <source>
        <address type='pci' domain='0x0000' bus='0x03' slot='0x07' function='0x1'/>
      </source>
      <target dev='testnet0'/>
      <teaming type='transient' persistent='ua-backup0'/>
    </interface>
`), xml);
    assert.ok(xml.includes(`    <hostdev mode='subsystem' type='pci' managed='no'>
      <source>
        <address domain='0x0000' bus='0x00' slot='0x07' function='0x0'/>
      </source>
      <teaming type='transient' persistent='ua-backup0'/>
    </hostdev>
`), xml);
  });

  it('parses the teaming pair into typed fields', () => {
    const xml = readFileSync(path.resolve(__dirname, '..', '..', '..', 'shared', 'libvirt-9.0-tests', 'qemuxml2xmloutdata', 'net-virtio-teaming.xml'), 'utf8');
    const def = parseDomainXML(xml, { userAliases: true });
    const [persistent, , transient] = def.devices.interfaces;
    assert.deepEqual(persistent.teaming, { type: 'persistent' });
    assert.equal(persistent.info.alias, 'ua-backup0');
    assert.deepEqual(transient.teaming, { type: 'transient', persistent: 'ua-backup0' });
    assert.deepEqual(transient.hostdevAddress?.pci, { domain: 0, bus: 3, slot: 7, function: 1 });
    assert.equal(formatDomainXML(def, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE), xml);
  });

  it('QEMU rule texts (Q0-Q3) come from conf', () => {
    const check = (err: VirError, message: string): void => {
      assert.equal(err.code, 67);
      assert.equal(err.domain, 10);
      assert.equal(err.message, `unsupported configuration: ${message}`);
    };
    check(teamingUnsupportedError(), 'virtio-net failover (teaming) is not supported with this QEMU binary');
    check(teamingPersistentModelError('e1000'), "virtio-net teaming persistent interface must be <model type='virtio'/>, not 'e1000'");
    check(teamingPersistentModelError(undefined), "virtio-net teaming persistent interface must be <model type='virtio'/>, not '(null)'");
    check(teamingTransientTypeError('user'), "virtio-net teaming transient interface must be type='hostdev', not 'user'");
    check(teamingActualTypeError('00:11:22:33:44:55', 'bridge'), "interface 00:11:22:33:44:55 - teaming transient device must be type='hostdev', not 'bridge'");
  });

  it('Q1/Q2 run as a driver device hook, before the generic rules (virDomainDeviceDefValidate order)', () => {
    const qemu: DomainXMLOptions = {
      userAliases: true,
      validateDevice(dev) {
        if (dev.kind === 'interface') validateNetTeamingQemu(dev as NetDef);
      },
    };
    expectError(iface("<teaming type='persistent'/>", "<model type='e1000'/>"), 67, 10,
      "unsupported configuration: virtio-net teaming persistent interface must be <model type='virtio'/>, not 'e1000'", qemu);
    expectError(iface("<teaming type='transient' persistent='ua-x'/>"), 67, 10,
      "unsupported configuration: virtio-net teaming transient interface must be type='hostdev', not 'user'", qemu);
    // libvirt calls the driver's deviceValidateCallback first, so the QEMU rule wins when both apply...
    expectError(iface("<teaming type='transient'/>"), 67, 10,
      "unsupported configuration: virtio-net teaming transient interface must be type='hostdev', not 'user'", qemu);
    // ...and the generic rule reports what the QEMU rule lets through.
    expectError(iface("<teaming type='transient'/>", '', 'network').replace('<mac', "<source network='n'/><mac"), 67, 20,
      "unsupported configuration: teaming persistent attribute must be set if teaming type is 'transient'", qemu);
  });
});

describe('conf/domain: devices for attach/detach', () => {
  it('parses a device with generic defaults and finds its match', () => {
    const def = parseDomainXML(fixture('test-default.xml'), testDriverLike);
    const nic = parseDeviceXML("<interface type='network'><mac address='aa:bb:cc:dd:ee:ff'/><source network='default'/></interface>", def);
    assert.ok(domainDeviceMatches(def.devices.interfaces[0], nic));
    const other = parseDeviceXML("<interface type='network'><source network='default'/></interface>", def) as NetDef;
    assert.match(other.mac!, /^52:54:00:/);
    assert.ok(!domainDeviceMatches(def.devices.interfaces[0], other));
    const disk = parseDeviceXML("<disk type='file'><source file='/x'/><target dev='vda'/></disk>", def);
    assert.ok(domainDeviceMatches(def.devices.disks[0], disk));
  });

  it('rejects teaming errors in a device', () => {
    const def = parseDomainXML(fixture('test-default.xml'), testDriverLike);
    assert.throws(
      () => parseDeviceXML("<interface type='user'><teaming type='transient'/></interface>", def),
      /teaming persistent attribute must be set/,
    );
  });
});
