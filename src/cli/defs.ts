// Command and option definitions of the virtnode command line: the same commands, options, option
// order and help texts as virsh 9.0, so that parsing, error messages and `help` agree with virsh.
// Handlers live in per-group modules that are only loaded when one of their commands runs.

/**
 * Option kinds, as virsh has them: `bool` takes no value; `string`/`int` take one (`--x v`,
 * `--x=v`, or positionally in order); `data` is a value usually given positionally; `argv` takes
 * every remaining positional word.
 */
export type OptType = 'bool' | 'string' | 'int' | 'data' | 'argv';

export interface OptDef {
  name: string;
  type: OptType;
  help: string;
  /** The command fails without it. */
  required?: boolean;
  /** Only accepted as `--name value`, never positionally. */
  namedOnly?: boolean;
  /** Not listed by `help` (virtnode's own additions would otherwise differ from virsh's help). */
  hidden?: boolean;
}

export type Group = 'domain' | 'monitor' | 'host' | 'network' | 'nodedev' | 'virsh';

export interface CmdDef {
  name: string;
  group: Group;
  help: string;
  desc: string;
  opts: OptDef[];
  /** Module under src/cli/commands/ holding the handler, and the handler's export name. */
  module: 'domain' | 'network' | 'nodedev' | 'host' | 'shell';
  handler: string;
  /** Runs without a hypervisor connection. */
  noConnect?: boolean;
}

export const GROUP_TITLES: Array<[Group, string]> = [
  ['domain', 'Domain Management'],
  ['monitor', 'Domain Monitoring'],
  ['host', 'Host and Hypervisor'],
  ['network', 'Networking'],
  ['nodedev', 'Node Device'],
  ['virsh', 'Virsh itself'],
];

// virtnode's own: machine-readable output. Hidden from per-command help so that help stays virsh's;
// `virtnode --help` documents it.
const json: OptDef = { name: 'json', type: 'bool', help: 'print the result as JSON', hidden: true };

const dom = (help = 'domain name, id or uuid'): OptDef => ({ name: 'domain', type: 'data', required: true, help });
const net = (): OptDef => ({ name: 'network', type: 'data', required: true, help: 'network name or uuid' });
const dev = (help = 'device key'): OptDef => ({ name: 'device', type: 'data', required: true, help });
const bool = (name: string, help: string): OptDef => ({ name, type: 'bool', help });
const str = (name: string, help: string): OptDef => ({ name, type: 'string', help });
const file = (help: string): OptDef => ({ name: 'file', type: 'data', required: true, help });

const affect: OptDef[] = [
  bool('persistent', 'make live change persistent'),
  bool('config', 'affect next boot'),
  bool('live', 'affect running domain'),
  bool('current', 'affect current domain'),
];
const xpath: OptDef[] = [
  { name: 'xpath', type: 'string', namedOnly: true, help: 'xpath expression to filter the XML document' },
  bool('wrap', 'wrap xpath results in an common root element'),
];
const shutdownMode = str('mode', 'shutdown mode: acpi|agent|initctl|signal|paravirt');
const startOpts = {
  console: bool('console', 'attach to console after creation'),
  paused: bool('paused', 'leave the guest paused after creation'),
  autodestroy: bool('autodestroy', 'automatically destroy the guest when virsh disconnects'),
  passFds: str('pass-fds', 'pass file descriptors N,M,... to the guest'),
  resetNvram: bool('reset-nvram', 're-initialize NVRAM from its pristine template'),
};

function cmd(
  group: Group,
  module: CmdDef['module'],
  name: string,
  help: string,
  desc: string,
  opts: OptDef[],
  extra: Partial<CmdDef> = {},
): CmdDef {
  const handler = name.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
  return { name, group, module, handler, help, desc, opts, ...extra };
}

export const COMMANDS: CmdDef[] = [
  // Domain Management
  cmd('domain', 'domain', 'attach-device', 'attach device from an XML file', 'Attach device from an XML <file>.', [
    dom(),
    file('XML file'),
    ...affect,
  ]),
  cmd('domain', 'domain', 'autostart', 'autostart a domain', 'Configure a domain to be automatically started at boot.', [
    dom(),
    bool('disable', 'disable autostarting'),
  ]),
  cmd('domain', 'domain', 'create', 'create a domain from an XML file', 'Create a domain.', [
    file('file containing an XML domain description'),
    startOpts.console,
    startOpts.paused,
    startOpts.autodestroy,
    startOpts.passFds,
    bool('validate', 'validate the XML against the schema'),
    startOpts.resetNvram,
  ]),
  cmd('domain', 'domain', 'define', "define (but don't start) a domain from an XML file", 'Define a domain.', [
    file('file containing an XML domain description'),
    bool('validate', 'validate the XML against the schema'),
  ]),
  cmd('domain', 'domain', 'destroy', 'destroy (stop) a domain', 'Forcefully stop a given domain, but leave its resources intact.', [
    dom(),
    bool('graceful', 'terminate gracefully'),
    bool('remove-logs', 'remove domain logs'),
  ]),
  cmd('domain', 'domain', 'detach-device', 'detach device from an XML file', 'Detach device from an XML <file>', [
    dom(),
    file('XML file'),
    ...affect,
  ]),
  cmd('domain', 'domain', 'domxml-to-native', 'Convert domain XML to native config', 'Convert domain XML config to a native guest configuration format.', [
    { name: 'format', type: 'data', required: true, help: 'target config data type format' },
    { name: 'domain', type: 'string', namedOnly: true, help: 'domain name, id or uuid' },
    str('xml', 'xml data file to export from'),
  ]),
  cmd('domain', 'domain', 'dumpxml', 'domain information in XML', 'Output the domain information as an XML dump to stdout.', [
    dom(),
    bool('inactive', 'show inactive defined XML'),
    bool('security-info', 'include security sensitive information in XML dump'),
    bool('update-cpu', 'update guest CPU according to host CPU'),
    bool('migratable', 'provide XML suitable for migrations'),
    ...xpath,
  ]),
  cmd('domain', 'domain', 'qemu-monitor-command', 'QEMU Monitor Command', 'QEMU Monitor Command', [
    dom(),
    bool('hmp', 'command is in human monitor protocol'),
    bool('pretty', 'pretty-print any qemu monitor protocol output'),
    bool('return-value', "extract the value of the 'return' key from the returned string"),
    { name: 'pass-fds', type: 'string', namedOnly: true, help: 'pass file descriptors N,M,... along with the command' },
    { name: 'cmd', type: 'argv', required: true, help: 'command' },
  ]),
  cmd('domain', 'domain', 'reboot', 'reboot a domain', 'Run a reboot command in the target domain.', [dom(), shutdownMode]),
  cmd('domain', 'domain', 'reset', 'reset a domain', 'Reset the target domain as if by power button', [dom()]),
  cmd('domain', 'domain', 'resume', 'resume a domain', 'Resume a previously suspended domain.', [dom()]),
  cmd('domain', 'domain', 'shutdown', 'gracefully shutdown a domain', 'Run shutdown in the target domain.', [dom(), shutdownMode]),
  cmd(
    'domain',
    'domain',
    'start',
    'start a (previously defined) inactive domain',
    'Start a domain, either from the last managedsave\n    state, or via a fresh boot if no managedsave state\n    is present.',
    [
      dom('name of the inactive domain'),
      startOpts.console,
      startOpts.paused,
      startOpts.autodestroy,
      bool('bypass-cache', 'avoid file system cache when loading'),
      bool('force-boot', 'force fresh boot by discarding any managed save'),
      startOpts.passFds,
      startOpts.resetNvram,
    ],
  ),
  cmd('domain', 'domain', 'suspend', 'suspend a domain', 'Suspend a running domain.', [dom()]),
  cmd('domain', 'domain', 'undefine', 'undefine a domain', 'Undefine an inactive domain, or convert persistent to transient.', [
    dom(),
    bool('managed-save', 'remove domain managed state file'),
    str('storage', 'remove associated storage volumes (comma separated list of targets or source paths) (see domblklist)'),
    bool('remove-all-storage', 'remove all associated storage volumes (use with caution)'),
    bool('delete-storage-volume-snapshots', 'delete snapshots associated with volume(s), requires --remove-all-storage (must be supported by storage driver)'),
    bool('wipe-storage', 'wipe data on the removed volumes'),
    bool('snapshots-metadata', 'remove all domain snapshot metadata (vm must be inactive)'),
    bool('checkpoints-metadata', 'remove all domain checkpoint metadata (vm must be inactive)'),
    bool('nvram', 'remove nvram file'),
    bool('keep-nvram', 'keep nvram file'),
    bool('tpm', 'remove TPM state'),
    bool('keep-tpm', 'keep TPM state'),
  ]),

  // Domain Monitoring
  cmd('monitor', 'domain', 'domblklist', 'list all domain blocks', 'Get the summary of block devices for a domain.', [
    dom(),
    bool('inactive', 'get inactive rather than running configuration'),
    bool('details', 'additionally display the type and device value'),
    json,
  ]),
  cmd('domain', 'domain', 'domid', 'convert a domain name or UUID to domain id', '', [dom('domain name or uuid')]),
  cmd('monitor', 'domain', 'domiflist', 'list all domain virtual interfaces', 'Get the summary of virtual interfaces for a domain.', [
    dom(),
    bool('inactive', 'get inactive rather than running configuration'),
    json,
  ]),
  cmd('monitor', 'domain', 'dominfo', 'domain information', 'Returns basic information about the domain.', [dom(), json]),
  cmd('domain', 'domain', 'domname', 'convert a domain id or UUID to domain name', '', [dom('domain id or uuid')]),
  cmd('monitor', 'domain', 'domstate', 'domain state', 'Returns state about a domain.', [
    dom(),
    bool('reason', 'also print reason for the state'),
    json,
  ]),
  cmd('domain', 'domain', 'domuuid', 'convert a domain name or id to domain UUID', '', [dom('domain id or name')]),
  cmd('monitor', 'domain', 'list', 'list domains', 'Returns list of domains.', [
    bool('inactive', 'list inactive domains'),
    bool('all', 'list inactive & active domains'),
    bool('transient', 'list transient domains'),
    bool('persistent', 'list persistent domains'),
    bool('with-snapshot', 'list domains with existing snapshot'),
    bool('without-snapshot', 'list domains without a snapshot'),
    bool('with-checkpoint', 'list domains with existing checkpoint'),
    bool('without-checkpoint', 'list domains without a checkpoint'),
    bool('state-running', 'list domains in running state'),
    bool('state-paused', 'list domains in paused state'),
    bool('state-shutoff', 'list domains in shutoff state'),
    bool('state-other', 'list domains in other states'),
    bool('autostart', 'list domains with autostart enabled'),
    bool('no-autostart', 'list domains with autostart disabled'),
    bool('with-managed-save', 'list domains with managed save state'),
    bool('without-managed-save', 'list domains without managed save'),
    bool('uuid', "list uuid's only"),
    bool('name', 'list domain names only'),
    bool('id', 'list domain IDs only'),
    bool('table', 'list table (default)'),
    bool('managed-save', 'mark inactive domains with managed save state'),
    bool('title', 'show domain title'),
    json,
  ]),

  // Host and Hypervisor
  cmd('host', 'host', 'capabilities', 'capabilities', 'Returns capabilities of hypervisor/driver.', []),
  cmd('host', 'host', 'domcapabilities', 'domain capabilities', 'Returns capabilities of emulator with respect to host and libvirt.', [
    str('virttype', 'virtualization type (/domain/@type)'),
    str('emulatorbin', 'path to emulator binary (/domain/devices/emulator)'),
    str('arch', 'domain architecture (/domain/os/type/@arch)'),
    str('machine', 'machine type (/domain/os/type/@machine)'),
  ]),
  cmd('host', 'host', 'freecell', 'NUMA free memory', 'display available free memory for the NUMA cell.', [
    { name: 'cellno', type: 'int', help: 'NUMA cell number' },
    bool('all', 'show free memory for all NUMA cells'),
    json,
  ]),
  cmd('host', 'host', 'hostname', 'print the hypervisor hostname', '', []),
  cmd('host', 'host', 'nodeinfo', 'node information', 'Returns basic information about the node.', [json]),
  cmd('host', 'host', 'sysinfo', 'print the hypervisor sysinfo', 'output an XML string for the hypervisor sysinfo, if available', []),
  cmd('host', 'host', 'uri', 'print the hypervisor canonical URI', '', []),
  cmd('host', 'host', 'version', 'show version', 'Display the system version information.', [
    bool('daemon', 'report daemon version too'),
    json,
  ]),

  // Networking
  cmd('network', 'network', 'net-autostart', 'autostart a network', 'Configure a network to be automatically started at boot.', [
    net(),
    bool('disable', 'disable autostarting'),
  ]),
  cmd(
    'network',
    'network',
    'net-define',
    'define an inactive persistent virtual network or modify an existing persistent one from an XML file',
    'Define or modify a persistent virtual network.',
    [file('file containing an XML network description'), bool('validate', 'validate the XML against the schema')],
  ),
  cmd('network', 'network', 'net-destroy', 'destroy (stop) a network', 'Forcefully stop a given network.', [net()]),
  cmd('network', 'network', 'net-dumpxml', 'network information in XML', 'Output the network information as an XML dump to stdout.', [
    net(),
    bool('inactive', 'show inactive defined XML'),
    ...xpath,
  ]),
  cmd('network', 'network', 'net-info', 'network information', 'Returns basic information about the network', [net(), json]),
  cmd('network', 'network', 'net-list', 'list networks', 'Returns list of networks.', [
    bool('inactive', 'list inactive networks'),
    bool('all', 'list inactive & active networks'),
    bool('persistent', 'list persistent networks'),
    bool('transient', 'list transient networks'),
    bool('autostart', 'list networks with autostart enabled'),
    bool('no-autostart', 'list networks with autostart disabled'),
    bool('uuid', "list uuid's only"),
    bool('name', 'list network names only'),
    bool('table', 'list table (default)'),
    json,
  ]),
  cmd('network', 'network', 'net-start', 'start a (previously defined) inactive network', 'Start a network.', [net()]),
  cmd('network', 'network', 'net-undefine', 'undefine a persistent network', 'Undefine the configuration for a persistent network.', [net()]),

  // Node Device
  cmd('nodedev', 'nodedev', 'nodedev-detach', 'detach node device from its device driver', 'Detach node device from its device driver before assigning to a domain.', [
    dev(),
    str('driver', "pci device assignment backend driver (e.g. 'vfio' or 'xen')"),
  ]),
  cmd('nodedev', 'nodedev', 'nodedev-dumpxml', 'node device details in XML', 'Output the node device details as an XML dump to stdout.', [
    dev("device name or wwn pair in 'wwnn,wwpn' format"),
    ...xpath,
  ]),
  cmd('nodedev', 'nodedev', 'nodedev-list', 'enumerate devices on this host', '', [
    bool('tree', 'list devices in a tree'),
    str('cap', 'capability names, separated by comma'),
    bool('inactive', 'list inactive devices'),
    bool('all', 'list inactive & active devices'),
    json,
  ]),
  cmd('nodedev', 'nodedev', 'nodedev-reattach', 'reattach node device to its device driver', 'Reattach node device to its device driver once released by the domain.', [dev()]),
  cmd('nodedev', 'nodedev', 'nodedev-reset', 'reset node device', 'Reset node device before or after assigning to a domain.', [dev()]),

  // The shell itself
  cmd('virsh', 'shell', 'cd', 'change the current directory', 'Change the current directory.', [
    str('dir', 'directory to switch to (default: home or else root)'),
  ], { noConnect: true }),
  cmd('virsh', 'shell', 'echo', 'echo arguments. Used for internal testing.', 'Echo back arguments, possibly with quoting. Used for internal testing.', [
    bool('shell', 'escape for shell use'),
    bool('xml', 'escape for XML use'),
    bool('split', "split each argument on ','; ',,' is an escape sequence"),
    bool('err', 'output to stderr'),
    { name: 'string', type: 'argv', help: 'arguments to echo' },
  ], { noConnect: true }),
  cmd('virsh', 'shell', 'exit', 'quit this interactive terminal', '', [], { noConnect: true }),
  cmd('virsh', 'shell', 'help', 'print help', 'Prints global help, command specific help, or help for a\n    group of related commands', [
    str('command', 'Prints global help, command specific help, or help for a group of related commands'),
  ], { noConnect: true }),
  cmd('virsh', 'shell', 'pwd', 'print the current directory', 'Print the current directory.', [], { noConnect: true }),
  cmd('virsh', 'shell', 'quit', 'quit this interactive terminal', '', [], { noConnect: true }),
  cmd('virsh', 'shell', 'connect', '(re)connect to hypervisor', 'Connect to local hypervisor. This is built-in command after shell start up.', [
    str('name', 'hypervisor connection URI'),
    bool('readonly', 'read-only connection'),
  ], { noConnect: true }),
];

const byName = new Map(COMMANDS.map((c) => [c.name, c]));

export function findCommand(name: string): CmdDef | undefined {
  return byName.get(name);
}
