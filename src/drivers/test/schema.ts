// The part of libvirt's RelaxNG validation (VIR_DOMAIN_DEFINE_VALIDATE, VIR_DOMAIN_START_VALIDATE)
// that concerns which elements may appear where: an unknown child of <domain>, of <devices> or of
// <network> is reported with libxml2's messages. Values and attributes are not validated.
import { VIR_ERR_XML_INVALID_SCHEMA, VIR_FROM_DOMAIN, VIR_FROM_NETWORK, VIR_FROM_XML, virError } from '../../error';
import { children, parseXML } from '../../conf/xml';

const DOMAIN_CHILDREN = new Set([
  'name', 'uuid', 'genid', 'title', 'description', 'metadata', 'maxMemory', 'memory', 'currentMemory',
  'blkiotune', 'memtune', 'memoryBacking', 'vcpu', 'vcpus', 'iothreads', 'iothreadids', 'defaultiothread',
  'cputune', 'numatune', 'resource', 'sysinfo', 'bootloader', 'bootloader_args', 'os', 'idmap', 'features',
  'cpu', 'clock', 'on_poweroff', 'on_reboot', 'on_crash', 'on_lockfailure', 'pm', 'perf', 'devices',
  'seclabel', 'keywrap', 'launchSecurity',
]);

const DEVICES_CHILDREN = new Set([
  'emulator', 'disk', 'controller', 'lease', 'filesystem', 'interface', 'input', 'sound', 'audio', 'hostdev',
  'graphics', 'video', 'console', 'parallel', 'serial', 'channel', 'smartcard', 'redirdev', 'redirfilter',
  'hub', 'watchdog', 'memballoon', 'rng', 'tpm', 'nvram', 'panic', 'shmem', 'memory', 'iommu', 'vsock', 'crypto',
]);

function schemaError(schema: string, detail: string): never {
  throw virError(
    VIR_ERR_XML_INVALID_SCHEMA,
    VIR_FROM_XML,
    `Unable to validate doc against /usr/share/libvirt/schemas/${schema}\n${detail}`,
  );
}

/** Checks a domain document's element structure, before it is parsed into a definition. */
export function validateDomainSchema(xml: string): void {
  const root = parseXML(xml, '(domain_definition)', VIR_FROM_DOMAIN);
  if (root.name !== 'domain') return;
  for (const el of children(root)) {
    if (el.name.includes(':')) continue;
    if (!DOMAIN_CHILDREN.has(el.name)) schemaError('domain.rng', `Element domain has extra content: ${el.name}\n`);
    if (el.name === 'devices') {
      for (const dev of children(el)) {
        if (!DEVICES_CHILDREN.has(dev.name)) {
          schemaError('domain.rng', 'Extra element devices in interleave\nElement domain failed to validate content\n');
        }
      }
    }
  }
}

const NETWORK_CHILDREN = new Set([
  'name', 'uuid', 'title', 'description', 'metadata', 'forward', 'bridge', 'mtu', 'mac', 'domain', 'dns',
  'bandwidth', 'vlan', 'port', 'ip', 'route', 'virtualport', 'portgroup',
]);

/** Checks a network document's top-level elements, before it is parsed into a definition. */
export function validateNetworkSchema(xml: string): void {
  const root = parseXML(xml, '(network_definition)', VIR_FROM_NETWORK);
  if (root.name !== 'network') return;
  for (const el of children(root)) {
    if (!el.name.includes(':') && !NETWORK_CHILDREN.has(el.name)) {
      schemaError('network.rng', `Element network has extra content: ${el.name}\n`);
    }
  }
}
