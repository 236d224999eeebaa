// virErrorNumber, virErrorDomain and virErrorLevel with libvirt 9.0's numbers, and the message
// templates libvirt's virErrorMsg() builds messages from. Data transcribed from libvirt's public
// headers and virerror.c tables (see ../shared/reference/libvirt-notes.md section 5).

export const VIR_ERR_NONE = 0;
export const VIR_ERR_WARNING = 1;
export const VIR_ERR_ERROR = 2;

export const VIR_ERR_OK = 0;
export const VIR_ERR_INTERNAL_ERROR = 1;
export const VIR_ERR_NO_MEMORY = 2;
export const VIR_ERR_NO_SUPPORT = 3;
export const VIR_ERR_UNKNOWN_HOST = 4;
export const VIR_ERR_NO_CONNECT = 5;
export const VIR_ERR_INVALID_CONN = 6;
export const VIR_ERR_INVALID_DOMAIN = 7;
export const VIR_ERR_INVALID_ARG = 8;
export const VIR_ERR_OPERATION_FAILED = 9;
export const VIR_ERR_GET_FAILED = 10;
export const VIR_ERR_POST_FAILED = 11;
export const VIR_ERR_HTTP_ERROR = 12;
export const VIR_ERR_SEXPR_SERIAL = 13;
export const VIR_ERR_NO_XEN = 14;
export const VIR_ERR_XEN_CALL = 15;
export const VIR_ERR_OS_TYPE = 16;
export const VIR_ERR_NO_KERNEL = 17;
export const VIR_ERR_NO_ROOT = 18;
export const VIR_ERR_NO_SOURCE = 19;
export const VIR_ERR_NO_TARGET = 20;
export const VIR_ERR_NO_NAME = 21;
export const VIR_ERR_NO_OS = 22;
export const VIR_ERR_NO_DEVICE = 23;
export const VIR_ERR_NO_XENSTORE = 24;
export const VIR_ERR_DRIVER_FULL = 25;
export const VIR_ERR_CALL_FAILED = 26;
export const VIR_ERR_XML_ERROR = 27;
export const VIR_ERR_DOM_EXIST = 28;
export const VIR_ERR_OPERATION_DENIED = 29;
export const VIR_ERR_OPEN_FAILED = 30;
export const VIR_ERR_READ_FAILED = 31;
export const VIR_ERR_PARSE_FAILED = 32;
export const VIR_ERR_CONF_SYNTAX = 33;
export const VIR_ERR_WRITE_FAILED = 34;
export const VIR_ERR_XML_DETAIL = 35;
export const VIR_ERR_INVALID_NETWORK = 36;
export const VIR_ERR_NETWORK_EXIST = 37;
export const VIR_ERR_SYSTEM_ERROR = 38;
export const VIR_ERR_RPC = 39;
export const VIR_ERR_GNUTLS_ERROR = 40;
export const VIR_WAR_NO_NETWORK = 41;
export const VIR_ERR_NO_DOMAIN = 42;
export const VIR_ERR_NO_NETWORK = 43;
export const VIR_ERR_INVALID_MAC = 44;
export const VIR_ERR_AUTH_FAILED = 45;
export const VIR_ERR_INVALID_STORAGE_POOL = 46;
export const VIR_ERR_INVALID_STORAGE_VOL = 47;
export const VIR_WAR_NO_STORAGE = 48;
export const VIR_ERR_NO_STORAGE_POOL = 49;
export const VIR_ERR_NO_STORAGE_VOL = 50;
export const VIR_WAR_NO_NODE = 51;
export const VIR_ERR_INVALID_NODE_DEVICE = 52;
export const VIR_ERR_NO_NODE_DEVICE = 53;
export const VIR_ERR_NO_SECURITY_MODEL = 54;
export const VIR_ERR_OPERATION_INVALID = 55;
export const VIR_WAR_NO_INTERFACE = 56;
export const VIR_ERR_NO_INTERFACE = 57;
export const VIR_ERR_INVALID_INTERFACE = 58;
export const VIR_ERR_MULTIPLE_INTERFACES = 59;
export const VIR_WAR_NO_NWFILTER = 60;
export const VIR_ERR_INVALID_NWFILTER = 61;
export const VIR_ERR_NO_NWFILTER = 62;
export const VIR_ERR_BUILD_FIREWALL = 63;
export const VIR_WAR_NO_SECRET = 64;
export const VIR_ERR_INVALID_SECRET = 65;
export const VIR_ERR_NO_SECRET = 66;
export const VIR_ERR_CONFIG_UNSUPPORTED = 67;
export const VIR_ERR_OPERATION_TIMEOUT = 68;
export const VIR_ERR_MIGRATE_PERSIST_FAILED = 69;
export const VIR_ERR_HOOK_SCRIPT_FAILED = 70;
export const VIR_ERR_INVALID_DOMAIN_SNAPSHOT = 71;
export const VIR_ERR_NO_DOMAIN_SNAPSHOT = 72;
export const VIR_ERR_INVALID_STREAM = 73;
export const VIR_ERR_ARGUMENT_UNSUPPORTED = 74;
export const VIR_ERR_STORAGE_PROBE_FAILED = 75;
export const VIR_ERR_STORAGE_POOL_BUILT = 76;
export const VIR_ERR_SNAPSHOT_REVERT_RISKY = 77;
export const VIR_ERR_OPERATION_ABORTED = 78;
export const VIR_ERR_AUTH_CANCELLED = 79;
export const VIR_ERR_NO_DOMAIN_METADATA = 80;
export const VIR_ERR_MIGRATE_UNSAFE = 81;
export const VIR_ERR_OVERFLOW = 82;
export const VIR_ERR_BLOCK_COPY_ACTIVE = 83;
export const VIR_ERR_OPERATION_UNSUPPORTED = 84;
export const VIR_ERR_SSH = 85;
export const VIR_ERR_AGENT_UNRESPONSIVE = 86;
export const VIR_ERR_RESOURCE_BUSY = 87;
export const VIR_ERR_ACCESS_DENIED = 88;
export const VIR_ERR_DBUS_SERVICE = 89;
export const VIR_ERR_STORAGE_VOL_EXIST = 90;
export const VIR_ERR_CPU_INCOMPATIBLE = 91;
export const VIR_ERR_XML_INVALID_SCHEMA = 92;
export const VIR_ERR_MIGRATE_FINISH_OK = 93;
export const VIR_ERR_AUTH_UNAVAILABLE = 94;
export const VIR_ERR_NO_SERVER = 95;
export const VIR_ERR_NO_CLIENT = 96;
export const VIR_ERR_AGENT_UNSYNCED = 97;
export const VIR_ERR_LIBSSH = 98;
export const VIR_ERR_DEVICE_MISSING = 99;
export const VIR_ERR_INVALID_NWFILTER_BINDING = 100;
export const VIR_ERR_NO_NWFILTER_BINDING = 101;
export const VIR_ERR_INVALID_DOMAIN_CHECKPOINT = 102;
export const VIR_ERR_NO_DOMAIN_CHECKPOINT = 103;
export const VIR_ERR_NO_DOMAIN_BACKUP = 104;
export const VIR_ERR_INVALID_NETWORK_PORT = 105;
export const VIR_ERR_NETWORK_PORT_EXIST = 106;
export const VIR_ERR_NO_NETWORK_PORT = 107;
export const VIR_ERR_NO_HOSTNAME = 108;
export const VIR_ERR_CHECKPOINT_INCONSISTENT = 109;
export const VIR_ERR_MULTIPLE_DOMAINS = 110;

export const VIR_FROM_NONE = 0;
export const VIR_FROM_XEN = 1;
export const VIR_FROM_XEND = 2;
export const VIR_FROM_XENSTORE = 3;
export const VIR_FROM_SEXPR = 4;
export const VIR_FROM_XML = 5;
export const VIR_FROM_DOM = 6;
export const VIR_FROM_RPC = 7;
export const VIR_FROM_PROXY = 8;
export const VIR_FROM_CONF = 9;
export const VIR_FROM_QEMU = 10;
export const VIR_FROM_NET = 11;
export const VIR_FROM_TEST = 12;
export const VIR_FROM_REMOTE = 13;
export const VIR_FROM_OPENVZ = 14;
export const VIR_FROM_XENXM = 15;
export const VIR_FROM_STATS_LINUX = 16;
export const VIR_FROM_LXC = 17;
export const VIR_FROM_STORAGE = 18;
export const VIR_FROM_NETWORK = 19;
export const VIR_FROM_DOMAIN = 20;
export const VIR_FROM_UML = 21;
export const VIR_FROM_NODEDEV = 22;
export const VIR_FROM_XEN_INOTIFY = 23;
export const VIR_FROM_SECURITY = 24;
export const VIR_FROM_VBOX = 25;
export const VIR_FROM_INTERFACE = 26;
export const VIR_FROM_ONE = 27;
export const VIR_FROM_ESX = 28;
export const VIR_FROM_PHYP = 29;
export const VIR_FROM_SECRET = 30;
export const VIR_FROM_CPU = 31;
export const VIR_FROM_XENAPI = 32;
export const VIR_FROM_NWFILTER = 33;
export const VIR_FROM_HOOK = 34;
export const VIR_FROM_DOMAIN_SNAPSHOT = 35;
export const VIR_FROM_AUDIT = 36;
export const VIR_FROM_SYSINFO = 37;
export const VIR_FROM_STREAMS = 38;
export const VIR_FROM_VMWARE = 39;
export const VIR_FROM_EVENT = 40;
export const VIR_FROM_LIBXL = 41;
export const VIR_FROM_LOCKING = 42;
export const VIR_FROM_HYPERV = 43;
export const VIR_FROM_CAPABILITIES = 44;
export const VIR_FROM_URI = 45;
export const VIR_FROM_AUTH = 46;
export const VIR_FROM_DBUS = 47;
export const VIR_FROM_PARALLELS = 48;
export const VIR_FROM_DEVICE = 49;
export const VIR_FROM_SSH = 50;
export const VIR_FROM_LOCKSPACE = 51;
export const VIR_FROM_INITCTL = 52;
export const VIR_FROM_IDENTITY = 53;
export const VIR_FROM_CGROUP = 54;
export const VIR_FROM_ACCESS = 55;
export const VIR_FROM_SYSTEMD = 56;
export const VIR_FROM_BHYVE = 57;
export const VIR_FROM_CRYPTO = 58;
export const VIR_FROM_FIREWALL = 59;
export const VIR_FROM_POLKIT = 60;
export const VIR_FROM_THREAD = 61;
export const VIR_FROM_ADMIN = 62;
export const VIR_FROM_LOGGING = 63;
export const VIR_FROM_XENXL = 64;
export const VIR_FROM_PERF = 65;
export const VIR_FROM_LIBSSH = 66;
export const VIR_FROM_RESCTRL = 67;
export const VIR_FROM_FIREWALLD = 68;
export const VIR_FROM_DOMAIN_CHECKPOINT = 69;
export const VIR_FROM_TPM = 70;
export const VIR_FROM_BPF = 71;
export const VIR_FROM_CH = 72;
export const VIR_ERR_DOMAIN_LAST = 73;

/** [message without detail, message with the detail in place of %s], indexed by error code. */
export const ERROR_TEMPLATES: ReadonlyArray<readonly [string, string]> = [
  ['', '%s'], // 0 VIR_ERR_OK
  ['internal error', 'internal error: %s'], // 1 VIR_ERR_INTERNAL_ERROR
  ['out of memory', 'out of memory: %s'], // 2 VIR_ERR_NO_MEMORY
  ['this function is not supported by the connection driver', 'this function is not supported by the connection driver: %s'], // 3 VIR_ERR_NO_SUPPORT
  ['unknown host', 'unknown host %s'], // 4 VIR_ERR_UNKNOWN_HOST
  ['no connection driver available', 'no connection driver available for %s'], // 5 VIR_ERR_NO_CONNECT
  ['invalid connection pointer in', 'invalid connection pointer in %s'], // 6 VIR_ERR_INVALID_CONN
  ['invalid domain pointer in', 'invalid domain pointer in %s'], // 7 VIR_ERR_INVALID_DOMAIN
  ['invalid argument', 'invalid argument: %s'], // 8 VIR_ERR_INVALID_ARG
  ['operation failed', 'operation failed: %s'], // 9 VIR_ERR_OPERATION_FAILED
  ['GET operation failed', 'GET operation failed: %s'], // 10 VIR_ERR_GET_FAILED
  ['POST operation failed', 'POST operation failed: %s'], // 11 VIR_ERR_POST_FAILED
  ['got unknown HTTP error code', 'got unknown HTTP error code %s'], // 12 VIR_ERR_HTTP_ERROR
  ['failed to serialize S-Expr', 'failed to serialize S-Expr: %s'], // 13 VIR_ERR_SEXPR_SERIAL
  ['could not use Xen hypervisor entry', 'could not use Xen hypervisor entry %s'], // 14 VIR_ERR_NO_XEN
  ['failed Xen syscall', 'failed Xen syscall %s'], // 15 VIR_ERR_XEN_CALL
  ['unknown OS type', 'unknown OS type %s'], // 16 VIR_ERR_OS_TYPE
  ['missing kernel information', 'missing kernel information: %s'], // 17 VIR_ERR_NO_KERNEL
  ['missing root device information', 'missing root device information in %s'], // 18 VIR_ERR_NO_ROOT
  ['missing source information for device', 'missing source information for device %s'], // 19 VIR_ERR_NO_SOURCE
  ['missing target information for device', 'missing target information for device %s'], // 20 VIR_ERR_NO_TARGET
  ['missing name information', 'missing name information in %s'], // 21 VIR_ERR_NO_NAME
  ['missing operating system information', 'missing operating system information for %s'], // 22 VIR_ERR_NO_OS
  ['missing devices information', 'missing devices information for %s'], // 23 VIR_ERR_NO_DEVICE
  ['could not connect to Xen Store', 'could not connect to Xen Store %s'], // 24 VIR_ERR_NO_XENSTORE
  ['too many drivers registered', 'too many drivers registered in %s'], // 25 VIR_ERR_DRIVER_FULL
  ['library call failed', 'library call failed: %s'], // 26 VIR_ERR_CALL_FAILED
  ['XML description is invalid or not well formed', 'XML error: %s'], // 27 VIR_ERR_XML_ERROR
  ['this domain exists already', 'domain %s exists already'], // 28 VIR_ERR_DOM_EXIST
  ['operation forbidden for read only access', 'operation forbidden: %s'], // 29 VIR_ERR_OPERATION_DENIED
  ['failed to open configuration file', 'failed to open configuration file %s'], // 30 VIR_ERR_OPEN_FAILED
  ['failed to read configuration file', 'failed to read configuration file %s'], // 31 VIR_ERR_READ_FAILED
  ['failed to parse configuration file', 'failed to parse configuration file %s'], // 32 VIR_ERR_PARSE_FAILED
  ['configuration file syntax error', 'configuration file syntax error: %s'], // 33 VIR_ERR_CONF_SYNTAX
  ['failed to write configuration file', 'failed to write configuration file: %s'], // 34 VIR_ERR_WRITE_FAILED
  ['parser error', '%s'], // 35 VIR_ERR_XML_DETAIL
  ['invalid network pointer in', 'invalid network pointer in %s'], // 36 VIR_ERR_INVALID_NETWORK
  ['this network exists already', 'network %s exists already'], // 37 VIR_ERR_NETWORK_EXIST
  ['system call error', '%s'], // 38 VIR_ERR_SYSTEM_ERROR
  ['RPC error', '%s'], // 39 VIR_ERR_RPC
  ['GNUTLS call error', '%s'], // 40 VIR_ERR_GNUTLS_ERROR
  ['Failed to find the network', 'Failed to find the network: %s'], // 41 VIR_WAR_NO_NETWORK
  ['Domain not found', 'Domain not found: %s'], // 42 VIR_ERR_NO_DOMAIN
  ['Network not found', 'Network not found: %s'], // 43 VIR_ERR_NO_NETWORK
  ['invalid MAC address', 'invalid MAC address: %s'], // 44 VIR_ERR_INVALID_MAC
  ['authentication failed', 'authentication failed: %s'], // 45 VIR_ERR_AUTH_FAILED
  ['invalid storage pool pointer in', 'invalid storage pool pointer in %s'], // 46 VIR_ERR_INVALID_STORAGE_POOL
  ['invalid storage volume pointer in', 'invalid storage volume pointer in %s'], // 47 VIR_ERR_INVALID_STORAGE_VOL
  ['Failed to find a storage driver', 'Failed to find a storage driver: %s'], // 48 VIR_WAR_NO_STORAGE
  ['Storage pool not found', 'Storage pool not found: %s'], // 49 VIR_ERR_NO_STORAGE_POOL
  ['Storage volume not found', 'Storage volume not found: %s'], // 50 VIR_ERR_NO_STORAGE_VOL
  ['Failed to find a node driver', 'Failed to find a node driver: %s'], // 51 VIR_WAR_NO_NODE
  ['invalid node device pointer', 'invalid node device pointer in %s'], // 52 VIR_ERR_INVALID_NODE_DEVICE
  ['Node device not found', 'Node device not found: %s'], // 53 VIR_ERR_NO_NODE_DEVICE
  ['Security model not found', 'Security model not found: %s'], // 54 VIR_ERR_NO_SECURITY_MODEL
  ['Requested operation is not valid', 'Requested operation is not valid: %s'], // 55 VIR_ERR_OPERATION_INVALID
  ['Failed to find the interface', 'Failed to find the interface: %s'], // 56 VIR_WAR_NO_INTERFACE
  ['Interface not found', 'Interface not found: %s'], // 57 VIR_ERR_NO_INTERFACE
  ['invalid interface pointer in', 'invalid interface pointer in %s'], // 58 VIR_ERR_INVALID_INTERFACE
  ['multiple matching interfaces found', 'multiple matching interfaces found: %s'], // 59 VIR_ERR_MULTIPLE_INTERFACES
  ['Failed to start the nwfilter driver', 'Failed to start the nwfilter driver: %s'], // 60 VIR_WAR_NO_NWFILTER
  ['Invalid network filter', 'Invalid network filter: %s'], // 61 VIR_ERR_INVALID_NWFILTER
  ['Network filter not found', 'Network filter not found: %s'], // 62 VIR_ERR_NO_NWFILTER
  ['Error while building firewall', 'Error while building firewall: %s'], // 63 VIR_ERR_BUILD_FIREWALL
  ['Failed to find a secret storage driver', 'Failed to find a secret storage driver: %s'], // 64 VIR_WAR_NO_SECRET
  ['Invalid secret', 'Invalid secret: %s'], // 65 VIR_ERR_INVALID_SECRET
  ['Secret not found', 'Secret not found: %s'], // 66 VIR_ERR_NO_SECRET
  ['unsupported configuration', 'unsupported configuration: %s'], // 67 VIR_ERR_CONFIG_UNSUPPORTED
  ['Timed out during operation', 'Timed out during operation: %s'], // 68 VIR_ERR_OPERATION_TIMEOUT
  ['Failed to make domain persistent after migration', 'Failed to make domain persistent after migration: %s'], // 69 VIR_ERR_MIGRATE_PERSIST_FAILED
  ['Hook script execution failed', 'Hook script execution failed: %s'], // 70 VIR_ERR_HOOK_SCRIPT_FAILED
  ['Invalid domain snapshot', 'Invalid domain snapshot: %s'], // 71 VIR_ERR_INVALID_DOMAIN_SNAPSHOT
  ['Domain snapshot not found', 'Domain snapshot not found: %s'], // 72 VIR_ERR_NO_DOMAIN_SNAPSHOT
  ['invalid stream pointer', 'invalid stream pointer in %s'], // 73 VIR_ERR_INVALID_STREAM
  ['argument unsupported', 'argument unsupported: %s'], // 74 VIR_ERR_ARGUMENT_UNSUPPORTED
  ['Storage pool probe failed', 'Storage pool probe failed: %s'], // 75 VIR_ERR_STORAGE_PROBE_FAILED
  ['Storage pool already built', 'Storage pool already built: %s'], // 76 VIR_ERR_STORAGE_POOL_BUILT
  ['revert requires force', 'revert requires force: %s'], // 77 VIR_ERR_SNAPSHOT_REVERT_RISKY
  ['operation aborted', 'operation aborted: %s'], // 78 VIR_ERR_OPERATION_ABORTED
  ['authentication cancelled', 'authentication cancelled: %s'], // 79 VIR_ERR_AUTH_CANCELLED
  ['metadata not found', 'metadata not found: %s'], // 80 VIR_ERR_NO_DOMAIN_METADATA
  ['Unsafe migration', 'Unsafe migration: %s'], // 81 VIR_ERR_MIGRATE_UNSAFE
  ['numerical overflow', 'numerical overflow: %s'], // 82 VIR_ERR_OVERFLOW
  ['block copy still active', 'block copy still active: %s'], // 83 VIR_ERR_BLOCK_COPY_ACTIVE
  ['Operation not supported', 'Operation not supported: %s'], // 84 VIR_ERR_OPERATION_UNSUPPORTED
  ['SSH transport error', 'SSH transport error: %s'], // 85 VIR_ERR_SSH
  ['Guest agent is not responding', 'Guest agent is not responding: %s'], // 86 VIR_ERR_AGENT_UNRESPONSIVE
  ['resource busy', 'resource busy: %s'], // 87 VIR_ERR_RESOURCE_BUSY
  ['access denied', 'access denied: %s'], // 88 VIR_ERR_ACCESS_DENIED
  ['error from service', 'error from service: %s'], // 89 VIR_ERR_DBUS_SERVICE
  ['this storage volume exists already', 'storage volume %s exists already'], // 90 VIR_ERR_STORAGE_VOL_EXIST
  ['the CPU is incompatible with host CPU', 'the CPU is incompatible with host CPU: %s'], // 91 VIR_ERR_CPU_INCOMPATIBLE
  ['XML document failed to validate against schema', 'XML document failed to validate against schema: %s'], // 92 VIR_ERR_XML_INVALID_SCHEMA
  ['migration successfully aborted', 'migration successfully aborted: %s'], // 93 VIR_ERR_MIGRATE_FINISH_OK
  ['authentication unavailable', 'authentication unavailable: %s'], // 94 VIR_ERR_AUTH_UNAVAILABLE
  ['Server not found', 'Server not found: %s'], // 95 VIR_ERR_NO_SERVER
  ['Client not found', 'Client not found: %s'], // 96 VIR_ERR_NO_CLIENT
  ['guest agent replied with wrong id to guest-sync command', 'guest agent replied with wrong id to guest-sync command: %s'], // 97 VIR_ERR_AGENT_UNSYNCED
  ['libssh transport error', 'libssh transport error: %s'], // 98 VIR_ERR_LIBSSH
  ['device not found', 'device not found: %s'], // 99 VIR_ERR_DEVICE_MISSING
  ['Invalid network filter binding', 'Invalid network filter binding: %s'], // 100 VIR_ERR_INVALID_NWFILTER_BINDING
  ['Network filter binding not found', 'Network filter binding not found: %s'], // 101 VIR_ERR_NO_NWFILTER_BINDING
  ['Invalid domain checkpoint', 'Invalid domain checkpoint: %s'], // 102 VIR_ERR_INVALID_DOMAIN_CHECKPOINT
  ['Domain checkpoint not found', 'Domain checkpoint not found: %s'], // 103 VIR_ERR_NO_DOMAIN_CHECKPOINT
  ['Domain backup job id not found', 'Domain backup job id not found: %s'], // 104 VIR_ERR_NO_DOMAIN_BACKUP
  ['Invalid network port pointer', 'Invalid network port pointer: %s'], // 105 VIR_ERR_INVALID_NETWORK_PORT
  ['this network port exists already', 'network port %s exists already'], // 106 VIR_ERR_NETWORK_PORT_EXIST
  ['network port not found', 'network port not found: %s'], // 107 VIR_ERR_NO_NETWORK_PORT
  ['no hostname found', 'no hostname found: %s'], // 108 VIR_ERR_NO_HOSTNAME
  ['checkpoint inconsistent', 'checkpoint inconsistent: %s'], // 109 VIR_ERR_CHECKPOINT_INCONSISTENT
  ['multiple matching domains found', 'multiple matching domains found: %s'], // 110 VIR_ERR_MULTIPLE_DOMAINS
];

/** virErrorDomainTypeToString, indexed by error domain. */
export const ERROR_DOMAIN_NAMES: readonly string[] = [
  '', // 0 VIR_FROM_NONE
  'Xen Driver', // 1 VIR_FROM_XEN
  'Xen Daemon', // 2 VIR_FROM_XEND
  'Xen Store', // 3 VIR_FROM_XENSTORE
  'S-Expression', // 4 VIR_FROM_SEXPR
  'XML Util', // 5 VIR_FROM_XML
  'Domain', // 6 VIR_FROM_DOM
  'XML-RPC', // 7 VIR_FROM_RPC
  'Proxy Daemon', // 8 VIR_FROM_PROXY
  'Config File', // 9 VIR_FROM_CONF
  'QEMU Driver', // 10 VIR_FROM_QEMU
  'Network', // 11 VIR_FROM_NET
  'Test Driver', // 12 VIR_FROM_TEST
  'Remote Driver', // 13 VIR_FROM_REMOTE
  'OpenVZ Driver', // 14 VIR_FROM_OPENVZ
  'Xen XM Driver', // 15 VIR_FROM_XENXM
  'Linux Statistics', // 16 VIR_FROM_STATS_LINUX
  'LXC Driver', // 17 VIR_FROM_LXC
  'Storage Driver', // 18 VIR_FROM_STORAGE
  'Network Driver', // 19 VIR_FROM_NETWORK
  'Domain Config', // 20 VIR_FROM_DOMAIN
  'User Mode Linux Driver', // 21 VIR_FROM_UML
  'Node Device Driver', // 22 VIR_FROM_NODEDEV
  'Xen Inotify Driver', // 23 VIR_FROM_XEN_INOTIFY
  'Security Driver', // 24 VIR_FROM_SECURITY
  'VirtualBox Driver', // 25 VIR_FROM_VBOX
  'Network Interface Driver', // 26 VIR_FROM_INTERFACE
  'Open Nebula Driver', // 27 VIR_FROM_ONE
  'ESX Driver', // 28 VIR_FROM_ESX
  'Power Hypervisor Driver', // 29 VIR_FROM_PHYP
  'Secrets Driver', // 30 VIR_FROM_SECRET
  'CPU Driver', // 31 VIR_FROM_CPU
  'XenAPI Driver', // 32 VIR_FROM_XENAPI
  'Network Filter Driver', // 33 VIR_FROM_NWFILTER
  'Lifecycle Hook', // 34 VIR_FROM_HOOK
  'Domain Snapshot', // 35 VIR_FROM_DOMAIN_SNAPSHOT
  'Audit Utils', // 36 VIR_FROM_AUDIT
  'Sysinfo Utils', // 37 VIR_FROM_SYSINFO
  'I/O Stream Utils', // 38 VIR_FROM_STREAMS
  'VMware Driver', // 39 VIR_FROM_VMWARE
  'Event Loop', // 40 VIR_FROM_EVENT
  'Xen Light Driver', // 41 VIR_FROM_LIBXL
  'Lock Driver', // 42 VIR_FROM_LOCKING
  'Hyper-V Driver', // 43 VIR_FROM_HYPERV
  'Capabilities Utils', // 44 VIR_FROM_CAPABILITIES
  'URI Utils', // 45 VIR_FROM_URI
  'Authentication Utils', // 46 VIR_FROM_AUTH
  'DBus Utils', // 47 VIR_FROM_DBUS
  'Parallels Cloud Server', // 48 VIR_FROM_PARALLELS
  'Device Config', // 49 VIR_FROM_DEVICE
  'SSH transport layer', // 50 VIR_FROM_SSH
  'Lock Space', // 51 VIR_FROM_LOCKSPACE
  'Init control', // 52 VIR_FROM_INITCTL
  'Identity', // 53 VIR_FROM_IDENTITY
  'Cgroup', // 54 VIR_FROM_CGROUP
  'Access Manager', // 55 VIR_FROM_ACCESS
  'Systemd', // 56 VIR_FROM_SYSTEMD
  'Bhyve', // 57 VIR_FROM_BHYVE
  'Crypto', // 58 VIR_FROM_CRYPTO
  'Firewall', // 59 VIR_FROM_FIREWALL
  'Polkit', // 60 VIR_FROM_POLKIT
  'Thread jobs', // 61 VIR_FROM_THREAD
  'Admin Interface', // 62 VIR_FROM_ADMIN
  'Log Manager', // 63 VIR_FROM_LOGGING
  'Xen XL Config', // 64 VIR_FROM_XENXL
  'Perf', // 65 VIR_FROM_PERF
  'Libssh transport layer', // 66 VIR_FROM_LIBSSH
  'Resource control', // 67 VIR_FROM_RESCTRL
  'FirewallD', // 68 VIR_FROM_FIREWALLD
  'Domain Checkpoint', // 69 VIR_FROM_DOMAIN_CHECKPOINT
  'TPM', // 70 VIR_FROM_TPM
  'BPF', // 71 VIR_FROM_BPF
  'Cloud-Hypervisor Driver', // 72 VIR_FROM_CH
  '-', // 73 VIR_ERR_DOMAIN_LAST
];

export const ERROR_NAMES: readonly string[] = ['VIR_ERR_OK', 'VIR_ERR_INTERNAL_ERROR', 'VIR_ERR_NO_MEMORY', 'VIR_ERR_NO_SUPPORT', 'VIR_ERR_UNKNOWN_HOST', 'VIR_ERR_NO_CONNECT', 'VIR_ERR_INVALID_CONN', 'VIR_ERR_INVALID_DOMAIN', 'VIR_ERR_INVALID_ARG', 'VIR_ERR_OPERATION_FAILED', 'VIR_ERR_GET_FAILED', 'VIR_ERR_POST_FAILED', 'VIR_ERR_HTTP_ERROR', 'VIR_ERR_SEXPR_SERIAL', 'VIR_ERR_NO_XEN', 'VIR_ERR_XEN_CALL', 'VIR_ERR_OS_TYPE', 'VIR_ERR_NO_KERNEL', 'VIR_ERR_NO_ROOT', 'VIR_ERR_NO_SOURCE', 'VIR_ERR_NO_TARGET', 'VIR_ERR_NO_NAME', 'VIR_ERR_NO_OS', 'VIR_ERR_NO_DEVICE', 'VIR_ERR_NO_XENSTORE', 'VIR_ERR_DRIVER_FULL', 'VIR_ERR_CALL_FAILED', 'VIR_ERR_XML_ERROR', 'VIR_ERR_DOM_EXIST', 'VIR_ERR_OPERATION_DENIED', 'VIR_ERR_OPEN_FAILED', 'VIR_ERR_READ_FAILED', 'VIR_ERR_PARSE_FAILED', 'VIR_ERR_CONF_SYNTAX', 'VIR_ERR_WRITE_FAILED', 'VIR_ERR_XML_DETAIL', 'VIR_ERR_INVALID_NETWORK', 'VIR_ERR_NETWORK_EXIST', 'VIR_ERR_SYSTEM_ERROR', 'VIR_ERR_RPC', 'VIR_ERR_GNUTLS_ERROR', 'VIR_WAR_NO_NETWORK', 'VIR_ERR_NO_DOMAIN', 'VIR_ERR_NO_NETWORK', 'VIR_ERR_INVALID_MAC', 'VIR_ERR_AUTH_FAILED', 'VIR_ERR_INVALID_STORAGE_POOL', 'VIR_ERR_INVALID_STORAGE_VOL', 'VIR_WAR_NO_STORAGE', 'VIR_ERR_NO_STORAGE_POOL', 'VIR_ERR_NO_STORAGE_VOL', 'VIR_WAR_NO_NODE', 'VIR_ERR_INVALID_NODE_DEVICE', 'VIR_ERR_NO_NODE_DEVICE', 'VIR_ERR_NO_SECURITY_MODEL', 'VIR_ERR_OPERATION_INVALID', 'VIR_WAR_NO_INTERFACE', 'VIR_ERR_NO_INTERFACE', 'VIR_ERR_INVALID_INTERFACE', 'VIR_ERR_MULTIPLE_INTERFACES', 'VIR_WAR_NO_NWFILTER', 'VIR_ERR_INVALID_NWFILTER', 'VIR_ERR_NO_NWFILTER', 'VIR_ERR_BUILD_FIREWALL', 'VIR_WAR_NO_SECRET', 'VIR_ERR_INVALID_SECRET', 'VIR_ERR_NO_SECRET', 'VIR_ERR_CONFIG_UNSUPPORTED', 'VIR_ERR_OPERATION_TIMEOUT', 'VIR_ERR_MIGRATE_PERSIST_FAILED', 'VIR_ERR_HOOK_SCRIPT_FAILED', 'VIR_ERR_INVALID_DOMAIN_SNAPSHOT', 'VIR_ERR_NO_DOMAIN_SNAPSHOT', 'VIR_ERR_INVALID_STREAM', 'VIR_ERR_ARGUMENT_UNSUPPORTED', 'VIR_ERR_STORAGE_PROBE_FAILED', 'VIR_ERR_STORAGE_POOL_BUILT', 'VIR_ERR_SNAPSHOT_REVERT_RISKY', 'VIR_ERR_OPERATION_ABORTED', 'VIR_ERR_AUTH_CANCELLED', 'VIR_ERR_NO_DOMAIN_METADATA', 'VIR_ERR_MIGRATE_UNSAFE', 'VIR_ERR_OVERFLOW', 'VIR_ERR_BLOCK_COPY_ACTIVE', 'VIR_ERR_OPERATION_UNSUPPORTED', 'VIR_ERR_SSH', 'VIR_ERR_AGENT_UNRESPONSIVE', 'VIR_ERR_RESOURCE_BUSY', 'VIR_ERR_ACCESS_DENIED', 'VIR_ERR_DBUS_SERVICE', 'VIR_ERR_STORAGE_VOL_EXIST', 'VIR_ERR_CPU_INCOMPATIBLE', 'VIR_ERR_XML_INVALID_SCHEMA', 'VIR_ERR_MIGRATE_FINISH_OK', 'VIR_ERR_AUTH_UNAVAILABLE', 'VIR_ERR_NO_SERVER', 'VIR_ERR_NO_CLIENT', 'VIR_ERR_AGENT_UNSYNCED', 'VIR_ERR_LIBSSH', 'VIR_ERR_DEVICE_MISSING', 'VIR_ERR_INVALID_NWFILTER_BINDING', 'VIR_ERR_NO_NWFILTER_BINDING', 'VIR_ERR_INVALID_DOMAIN_CHECKPOINT', 'VIR_ERR_NO_DOMAIN_CHECKPOINT', 'VIR_ERR_NO_DOMAIN_BACKUP', 'VIR_ERR_INVALID_NETWORK_PORT', 'VIR_ERR_NETWORK_PORT_EXIST', 'VIR_ERR_NO_NETWORK_PORT', 'VIR_ERR_NO_HOSTNAME', 'VIR_ERR_CHECKPOINT_INCONSISTENT', 'VIR_ERR_MULTIPLE_DOMAINS'];
export const ERROR_DOMAIN_CONSTANT_NAMES: readonly string[] = ['VIR_FROM_NONE', 'VIR_FROM_XEN', 'VIR_FROM_XEND', 'VIR_FROM_XENSTORE', 'VIR_FROM_SEXPR', 'VIR_FROM_XML', 'VIR_FROM_DOM', 'VIR_FROM_RPC', 'VIR_FROM_PROXY', 'VIR_FROM_CONF', 'VIR_FROM_QEMU', 'VIR_FROM_NET', 'VIR_FROM_TEST', 'VIR_FROM_REMOTE', 'VIR_FROM_OPENVZ', 'VIR_FROM_XENXM', 'VIR_FROM_STATS_LINUX', 'VIR_FROM_LXC', 'VIR_FROM_STORAGE', 'VIR_FROM_NETWORK', 'VIR_FROM_DOMAIN', 'VIR_FROM_UML', 'VIR_FROM_NODEDEV', 'VIR_FROM_XEN_INOTIFY', 'VIR_FROM_SECURITY', 'VIR_FROM_VBOX', 'VIR_FROM_INTERFACE', 'VIR_FROM_ONE', 'VIR_FROM_ESX', 'VIR_FROM_PHYP', 'VIR_FROM_SECRET', 'VIR_FROM_CPU', 'VIR_FROM_XENAPI', 'VIR_FROM_NWFILTER', 'VIR_FROM_HOOK', 'VIR_FROM_DOMAIN_SNAPSHOT', 'VIR_FROM_AUDIT', 'VIR_FROM_SYSINFO', 'VIR_FROM_STREAMS', 'VIR_FROM_VMWARE', 'VIR_FROM_EVENT', 'VIR_FROM_LIBXL', 'VIR_FROM_LOCKING', 'VIR_FROM_HYPERV', 'VIR_FROM_CAPABILITIES', 'VIR_FROM_URI', 'VIR_FROM_AUTH', 'VIR_FROM_DBUS', 'VIR_FROM_PARALLELS', 'VIR_FROM_DEVICE', 'VIR_FROM_SSH', 'VIR_FROM_LOCKSPACE', 'VIR_FROM_INITCTL', 'VIR_FROM_IDENTITY', 'VIR_FROM_CGROUP', 'VIR_FROM_ACCESS', 'VIR_FROM_SYSTEMD', 'VIR_FROM_BHYVE', 'VIR_FROM_CRYPTO', 'VIR_FROM_FIREWALL', 'VIR_FROM_POLKIT', 'VIR_FROM_THREAD', 'VIR_FROM_ADMIN', 'VIR_FROM_LOGGING', 'VIR_FROM_XENXL', 'VIR_FROM_PERF', 'VIR_FROM_LIBSSH', 'VIR_FROM_RESCTRL', 'VIR_FROM_FIREWALLD', 'VIR_FROM_DOMAIN_CHECKPOINT', 'VIR_FROM_TPM', 'VIR_FROM_BPF', 'VIR_FROM_CH', 'VIR_ERR_DOMAIN_LAST'];
