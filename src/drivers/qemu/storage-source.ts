// Disks whose <source> names a storage pool and volume (<disk type='volume'>). When a domain
// starts, libvirt asks the storage driver what the pool and the volume are and turns the source
// into the file, block device, directory or iSCSI LUN behind it (virDomainDiskTranslateSourcePool);
// the definition itself keeps naming the volume.
import type { DiskDef } from '../../conf/domain-def';
import type { XmlElement } from '../../conf/xml';
import {
  VIR_ERR_CONFIG_UNSUPPORTED,
  VIR_ERR_INTERNAL_ERROR,
  VIR_ERR_NO_STORAGE_POOL,
  VIR_ERR_XML_ERROR,
  VIR_FROM_DOMAIN,
  VIR_FROM_STORAGE,
  virError,
} from '../../error';
import { makeElement } from './postparse';

/** What the storage driver says about a pool (virStoragePoolGetXMLDesc, virStoragePoolIsActive). */
export interface StoragePoolInfo {
  /** virStoragePoolType: dir, fs, netfs, logical, disk, iscsi, iscsi-direct, scsi, mpath, rbd, sheepdog, gluster, zfs, vstorage. */
  type: string;
  active: boolean;
  /** <source><host>s of a network pool. */
  hosts?: Array<{ name: string; port?: number }>;
  /** <source><device path=>s. */
  devices?: string[];
  /** <source><auth type='chap' username=><secret usage|uuid=>. */
  auth?: { username: string; secret: { uuid?: string; usage?: string } };
  /** <source><initiator><iqn name=>. */
  initiatorIqn?: string;
}

/** What the storage driver says about a volume (virStorageVolGetInfo, virStorageVolGetPath). */
export interface StorageVolumeInfo {
  /** virStorageVolType: file, block, dir, network, netdir, ploop. */
  type: string;
  path: string;
}

/** The storage driver's lookups; each throws the storage driver's VirError when it fails. */
export interface StorageLookup {
  lookupPool(name: string): StoragePoolInfo;
  lookupVolume(pool: string, volume: string): StorageVolumeInfo;
}

/** Pool types whose volumes are local paths. */
const LOCAL_POOLS = new Set(['dir', 'fs', 'netfs', 'logical', 'disk', 'scsi', 'zfs', 'vstorage']);

const LOCAL_VOLUME_TYPES: Record<string, { type: string; attr: string }> = {
  file: { type: 'file', attr: 'file' },
  ploop: { type: 'file', attr: 'file' },
  block: { type: 'block', attr: 'dev' },
  dir: { type: 'dir', attr: 'dir' },
};

/**
 * The disk as it starts: a volume disk turned into what its volume is, any other disk as it is.
 * The result shares the original's device info (aliases and addresses go to the definition).
 */
export function translateDiskSourcePool(disk: DiskDef, storage: StorageLookup | undefined): DiskDef {
  if (disk.type !== 'volume' || !disk.source) return disk;
  const get = (k: string): string | undefined => disk.source!.attrs.find(([n]) => n === k)?.[1];
  const poolName = get('pool');
  const volName = get('volume');
  if (poolName === undefined || volName === undefined) return disk;
  if (!storage) {
    throw virError(VIR_ERR_NO_STORAGE_POOL, VIR_FROM_STORAGE, `no storage pool with matching name '${poolName}'`);
  }
  const pool = storage.lookupPool(poolName);
  if (!pool.active) {
    throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_DOMAIN, `storage pool '${poolName}' containing volume '${volName}' is not active`);
  }
  const vol = storage.lookupVolume(poolName, volName);
  const mode = get('mode');
  if (mode !== undefined && pool.type !== 'iscsi') {
    throw virError(VIR_ERR_XML_ERROR, VIR_FROM_DOMAIN, 'disk source mode is only valid when storage pool is of iscsi type');
  }
  const startupPolicy = get('startupPolicy');
  const kept = disk.source.attrs.filter(([k]) => !['pool', 'volume', 'mode'].includes(k));
  // A volume's credentials are its pool's: the disk's own <auth> does not survive the lookup.
  const keptChildren = disk.source.children.filter((c) => c.name !== 'auth');
  const extra = disk.extra.filter((e) => e.name !== 'auth');
  const startupOnlyForFiles = (): void => {
    if (startupPolicy !== undefined && (pool.type === 'iscsi' || pool.type === 'iscsi-direct' || vol.type !== 'file')) {
      throw virError(VIR_ERR_XML_ERROR, VIR_FROM_DOMAIN, "'startupPolicy' is only valid for 'file' type volume");
    }
  };
  let type: string;
  let source: DiskDef['source'];
  if (LOCAL_POOLS.has(pool.type) || (pool.type === 'iscsi' && mode !== 'direct')) {
    startupOnlyForFiles();
    // An iSCSI pool's LUNs appear on the host as block devices unless the guest reaches them directly.
    const local = pool.type === 'iscsi' ? LOCAL_VOLUME_TYPES.block : LOCAL_VOLUME_TYPES[vol.type];
    if (!local) {
      throw virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_DOMAIN, `unexpected storage volume type '${vol.type}' for storage pool type '${pool.type}'`);
    }
    type = local.type;
    source = { attrs: [[local.attr, vol.path], ...kept], children: keptChildren };
  } else if (pool.type === 'iscsi' || pool.type === 'iscsi-direct') {
    startupOnlyForFiles();
    type = 'network';
    source = { attrs: [['protocol', 'iscsi'], ['name', iscsiLunName(pool, volName)], ...kept], children: [...iscsiPoolElements(pool, keptChildren), ...keptChildren] };
  } else {
    throw virError(VIR_ERR_CONFIG_UNSUPPORTED, VIR_FROM_DOMAIN, `using '${pool.type}' pools for backing 'volume' disks isn't yet supported`);
  }
  // qemuDomainPrepareDiskSource: a volume's format defaults to raw, a directory's to fat.
  const driverAttrs = disk.driver?.attrs ?? [];
  const driver = driverAttrs.some(([k]) => k === 'type')
    ? disk.driver
    : { attrs: [...driverAttrs, ['type', type === 'dir' ? 'fat' : 'raw'] as [string, string]], children: disk.driver?.children ?? [] };
  return { ...disk, type, source, driver, extra };
}

/** virDomainDiskAddISCSIPoolSourceHost: "<target IQN>/<LUN>" of a volume named unit:0:0:<LUN>. */
function iscsiLunName(pool: StoragePoolInfo, volume: string): string {
  if ((pool.hosts ?? []).length !== 1) throw virError(VIR_ERR_XML_ERROR, VIR_FROM_DOMAIN, 'Expected exactly 1 host for the storage pool');
  const tokens = volume.split(':');
  if (tokens.length !== 4) throw virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_DOMAIN, `unexpected iscsi volume name '${volume}'`);
  const device = pool.devices?.[0];
  if (device === undefined) throw virError(VIR_ERR_INTERNAL_ERROR, VIR_FROM_DOMAIN, 'missing iSCSI device path');
  return `${device}/${tokens[3]}`;
}

/** The pool's host (port 3260 unless it says), CHAP auth and initiator (unless the disk names one), as a source of its own would give them. */
function iscsiPoolElements(pool: StoragePoolInfo, own: XmlElement[]): XmlElement[] {
  const host = pool.hosts![0];
  const out = [makeElement('host', [['name', host.name], ['port', String(host.port ?? 3260)]])];
  if (pool.auth) {
    const ref: Array<[string, string]> = [['type', 'iscsi']];
    if (pool.auth.secret.uuid !== undefined) ref.push(['uuid', pool.auth.secret.uuid]);
    if (pool.auth.secret.usage !== undefined) ref.push(['usage', pool.auth.secret.usage]);
    out.push(makeElement('auth', [['username', pool.auth.username]], [makeElement('secret', ref)]));
  }
  if (pool.initiatorIqn !== undefined && !own.some((c) => c.name === 'initiator')) {
    out.push(makeElement('initiator', [], [makeElement('iqn', [['name', pool.initiatorIqn]])]));
  }
  return out;
}
