import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { formatNetworkXML, parseNetworkXML } from '../../src/conf/network';
import { VirError } from '../../src/error';

const dataDir = path.resolve(__dirname, '..', 'data', 'network');
const read = (name: string) => fs.readFileSync(path.join(dataDir, name), 'utf8');

function parseError(xml: string): [number, number, string] {
  try {
    parseNetworkXML(xml);
  } catch (err) {
    assert.ok(err instanceof VirError);
    return [err.code, err.domain, err.message];
  }
  assert.fail('expected a parse error');
}

const roundTrip = (xml: string) => formatNetworkXML(parseNetworkXML(xml));

describe('conf/network: <network> parse and format', () => {
  it('writes every supported element in libvirt 9.0 canonical order and form', () => {
    // Expected output captured from libvirt 9.0 (virsh net-dumpxml of the same input).
    assert.equal(roundTrip(read('full-input.xml')), read('full.xml'));
    assert.equal(roundTrip(read('full.xml')), read('full.xml'));
  });

  it('fills in what libvirt fills in: nat mode for an empty <forward/>, stp and delay, a uuid', () => {
    const out = roundTrip(
      "<network><name>n</name><forward/><bridge name='virbr1'/><ip address='10.0.0.1' netmask='255.0.0.0'/></network>",
    );
    assert.match(
      out,
      /^<network>\n {2}<name>n<\/name>\n {2}<uuid>[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}<\/uuid>\n {2}<forward mode='nat'\/>\n {2}<bridge name='virbr1' stp='on' delay='0'\/>\n {2}<ip address='10.0.0.1' netmask='255.0.0.0'>\n {2}<\/ip>\n<\/network>\n$/,
    );
  });

  it('shows no stp/delay for bridges libvirt does not manage, and keeps hostdev pools', () => {
    const uuid = '<uuid>22dd1a8d-4a43-4e15-b951-c005a0ed4344</uuid>';
    assert.equal(
      roundTrip(`<network><name>b</name>${uuid}<forward mode='bridge'/><bridge name='br0'/></network>`),
      `<network>\n  <name>b</name>\n  ${uuid}\n  <forward mode='bridge'/>\n  <bridge name='br0'/>\n</network>\n`,
    );
    assert.equal(
      roundTrip(`<network><name>b</name>${uuid}<forward mode='hostdev' managed='yes'><pf dev='eth3'/></forward></network>`),
      `<network>\n  <name>b</name>\n  ${uuid}\n  <forward mode='hostdev' managed='yes'>\n    <pf dev='eth3'/>\n  </forward>\n</network>\n`,
    );
    assert.equal(
      roundTrip(`<network><name>b</name>${uuid}<forward mode='passthrough'><interface dev='eth3'/><interface dev='eth4'/></forward></network>`),
      `<network>\n  <name>b</name>\n  ${uuid}\n  <forward dev='eth3' mode='passthrough'>\n    <interface dev='eth3'/>\n    <interface dev='eth4'/>\n  </forward>\n</network>\n`,
    );
  });

  it('writes metadata the way libxml2 dumps it', () => {
    const out = roundTrip("<network><name>b</name><metadata><app:foo xmlns:app='http://x/'>bar</app:foo></metadata></network>");
    assert.ok(out.includes('  <metadata>\n    <app:foo xmlns:app="http://x/">bar</app:foo>\n  </metadata>\n'));
  });

  it('reports libvirt 9.0 errors with their codes and domains', () => {
    assert.deepEqual(parseError('<network></network>'), [21, 19, 'missing name information']);
    assert.deepEqual(parseError('<network'), [35, 19, "(network_definition):1: Couldn't find end of Start Tag network line 1\n<network\n--------^"]);
    assert.deepEqual(parseError(''), [35, 19, '(network_definition):1: Document is empty\n(null)\n^']);
    assert.deepEqual(parseError('<foo/>'), [27, 5, "XML error: expecting root element of 'network', not 'foo'"]);
    assert.deepEqual(parseError('<network><name>a/b</name></network>'), [35, 5, 'invalid char in name: /']);
    assert.deepEqual(parseError('<network><name>b</name><uuid>zz</uuid></network>'), [1, 19, 'internal error: malformed uuid element']);
    assert.deepEqual(parseError("<network><name>b</name><forward mode='bogus'/></network>"), [67, 19, "unsupported configuration: unknown forwarding type 'bogus'"]);
    assert.deepEqual(parseError("<network><name>b</name><forward mode='nat'/></network>"), [
      27,
      19,
      "XML error: nat forwarding requested, but no IP address provided for network 'b'",
    ]);
    assert.deepEqual(parseError("<network><name>b</name><forward mode='open'/><bridge name='br0'/></network>"), [
      27,
      19,
      "XML error: open forwarding requested, but no IP address provided for network 'b'",
    ]);
    assert.deepEqual(parseError("<network><name>b</name><ip address='1.2.3.4' prefix='99'/></network>"), [
      67,
      19,
      "unsupported configuration: Invalid IPv4 prefix '99' in network 'b'",
    ]);
    assert.deepEqual(parseError("<network><name>b</name><mac address='zz'/></network>"), [27, 19, "XML error: Invalid bridge mac address 'zz' in network 'b'"]);
    assert.deepEqual(
      parseError(
        "<network><name>b</name><forward mode='nat'/><ip address='192.168.5.1' netmask='255.255.255.0'><dhcp><range start='192.168.6.2' end='192.168.6.9'/></dhcp></ip></network>",
      ),
      [1, 0, 'internal error: range 192.168.6.2 - 192.168.6.9 is not entirely within network 192.168.5.1/24'],
    );
  });
});
