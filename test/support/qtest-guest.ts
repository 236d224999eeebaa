// A stand-in for the guest OS, for tests against real QEMU: QEMU's qtest protocol lets a test read
// and write guest-physical memory and I/O ports, which is all a guest driver does. With it a test
// can complete a hot-unplug (the ACPI eject a guest kernel would write after `device_del`) and
// accept VIRTIO_NET_F_STANDBY on a failover standby, so that QEMU emits FAILOVER_NEGOTIATED and
// plugs the hidden primary.
//
// Debian's QEMU has no qtest accelerator, but `-accel tcg -qtest unix:PATH -qtest-log /dev/null`
// still serves the protocol: QEMU connects, as a client and before its monitor is up, to a socket
// the test listens on (../shared/reference/native-notes.md 2.5). One text command per line
// (`outl 0xcd0 0`, `readl 0xe0000000`), answered in order by `OK [0x...]` or `FAIL ...`.
//
// Usage:
//   const guest = await QtestGuest.listen(tmpDir);
//   spawn('qemu-system-x86_64', [...args, ...guest.qemuArgs()]);
//   await guest.waitConnected();
//   ...device_del through the monitor, then:
//   await guest.ejectDevice(monitor, 'nic1');          // QEMU sends DEVICE_DELETED
//   await guest.negotiateFailover(monitor, 'standby0'); // QEMU sends FAILOVER_NEGOTIATED
//   await guest.acpiPowerOff(monitor);                  // after cont: SHUTDOWN, guest-shutdown
//   await guest.close();
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

import type { QmpPeer } from '../../src/drivers/qemu/qmp-peer';

export interface QtestGuestOptions {
  /** How long one qtest command may take before the connection is given up. Default 10 s. */
  commandTimeoutMs?: number;
}

/** One qtest command on the wire. */
interface PendingCommand {
  line: string;
  resolve(value: string): void;
  reject(error: Error): void;
}

// ACPI PCI hotplug registers (QEMU's hw/acpi/pcihp.c): the same layout at a base that depends on
// the chipset's power-management device.
const PCIHP_BASE_ICH9 = 0x0cc0; // q35
const PCIHP_BASE_PIIX4 = 0xae00; // i440fx
const PCIHP_EJECT = 0x08; // write: bitmap of slots to eject on the selected bus
const PCIHP_SELECT = 0x10; // write: ACPI bus selector (the bus's acpi-pcihp-bsel)

// ACPI PM1a control register, at +4 from the PM I/O base on both ICH9 and PIIX4.
const PM1_CNT = 0x04;
const PM1_CNT_SLP_EN = 1 << 13;

// PCI configuration space.
const PCI_COMMAND = 0x04;
const PCI_COMMAND_MEMORY = 0x2;
const PCI_COMMAND_MASTER = 0x4;
const PCI_STATUS = 0x06;
const PCI_STATUS_CAP_LIST = 0x10;
const PCI_BASE_ADDRESS_0 = 0x10;
const PCI_PRIMARY_BUS = 0x18; // dword: primary, secondary, subordinate, secondary latency
const PCI_MEMORY_BASE = 0x20; // dword: base, limit (1 MiB granularity)
const PCI_PREF_MEMORY_BASE = 0x24; // dword: base, limit
const PCI_PREF_BASE_UPPER32 = 0x28;
const PCI_PREF_LIMIT_UPPER32 = 0x2c;
const PCI_CAPABILITY_LIST = 0x34;
const PCI_CAP_ID_VNDR = 0x09;
const PCI_BAR_IO = 0x1;
const PCI_BAR_MEM_TYPE_64 = 0x4;
const PCI_BAR_MEM_PREFETCH = 0x8;

// virtio-pci modern transport (virtio 1.x spec 4.1.4): the common configuration structure.
const VIRTIO_PCI_CAP_COMMON_CFG = 1;
const VIRTIO_COMMON_DFSELECT = 0x00;
const VIRTIO_COMMON_DF = 0x04;
const VIRTIO_COMMON_GFSELECT = 0x08;
const VIRTIO_COMMON_GF = 0x0c;
const VIRTIO_COMMON_STATUS = 0x14;
const VIRTIO_STATUS_ACKNOWLEDGE = 0x1;
const VIRTIO_STATUS_DRIVER = 0x2;
const VIRTIO_STATUS_DRIVER_OK = 0x4;
const VIRTIO_STATUS_FEATURES_OK = 0x8;
const VIRTIO_NET_F_STANDBY = 62;

// Where this guest puts BARs the firmware has not assigned: inside q35's and i440fx's 32-bit PCI
// hole, below the IOAPIC, one bridge window (1 MiB granularity) per device.
const MMIO_POOL_START = 0xe0000000;
const MMIO_POOL_END = 0xfec00000;
const BRIDGE_WINDOW = 0x100000;

const CONFIG_ADDRESS_PORT = 0xcf8;
const CONFIG_DATA_PORT = 0xcfc;

let socketSerial = 0;

function hex(value: number | bigint): string {
  return `0x${value.toString(16)}`;
}

function checkUnsigned(value: number, bits: number, what: string): void {
  // qtest asserts on arguments it cannot parse, which aborts QEMU: reject them here instead.
  if (!Number.isInteger(value) || value < 0 || value >= 2 ** bits) {
    throw new RangeError(`qtest ${what}: ${value} is not an unsigned ${bits}-bit integer`);
  }
}

function checkAddress(address: bigint): void {
  if (address < 0n || address >= 1n << 64n) throw new RangeError(`qtest address: ${address} is not a 64-bit guest-physical address`);
}

type Width = 1 | 2 | 4;
const IO_SUFFIX: Record<Width, string> = { 1: 'b', 2: 'w', 4: 'l' };

/** A PCI function's place in config space. */
interface PciFunction {
  bus: number;
  devfn: number;
}

interface QueryPciDevice {
  bus: number;
  slot: number;
  function: number;
  qdev_id: string;
  regions: Array<{ bar: number; type: string; address: number }>;
  pci_bridge?: { bus: { secondary: number; subordinate: number }; devices?: QueryPciDevice[] };
}

function findPciDevice(devices: QueryPciDevice[], qdevId: string): QueryPciDevice | undefined {
  for (const device of devices) {
    if (device.qdev_id === qdevId) return device;
    const below = findPciDevice(device.pci_bridge?.devices ?? [], qdevId);
    if (below !== undefined) return below;
  }
  return undefined;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The test's end of QEMU's `-qtest` socket, plus guest-side helpers built on it. */
export class QtestGuest {
  /** The socket QEMU connects to; pass it with qemuArgs(). */
  readonly socketPath: string;
  private readonly server: net.Server;
  private readonly connection: Promise<net.Socket>;
  private socket: net.Socket | null = null;
  private closed: Error | null = null;
  private readonly queue: PendingCommand[] = [];
  private inFlight: PendingCommand | null = null;
  private timer: NodeJS.Timeout | null = null;
  private received = '';
  private nextMmio = MMIO_POOL_START;
  private readonly commandTimeoutMs: number;
  private rejectConnection!: (error: Error) => void;

  private constructor(socketPath: string, server: net.Server, options: QtestGuestOptions) {
    this.socketPath = socketPath;
    this.server = server;
    this.commandTimeoutMs = options.commandTimeoutMs ?? 10_000;
    this.connection = new Promise((resolve, reject) => {
      server.on('connection', (socket) => {
        if (this.socket !== null || this.closed !== null) {
          socket.destroy();
          return;
        }
        this.socket = socket;
        // As the server: QEMU (or the command timer of a pending command) keeps the process alive.
        socket.unref();
        // QEMU connects once; the listening socket has done its job.
        server.close();
        socket.setEncoding('latin1');
        socket.on('data', (chunk: string) => this.onData(chunk));
        socket.on('error', (err) => this.fail(new Error(`qtest connection failed: ${err.message}`)));
        socket.on('close', () => this.fail(new Error('qtest connection closed by QEMU')));
        resolve(socket);
      });
      this.rejectConnection = reject;
    });
    // A caller that never waits for the connection must not see an unhandled rejection.
    this.connection.catch(() => {});
  }

  /**
   * Listens on a fresh socket in `dir` (which must exist and be short enough for a UNIX socket
   * path). Start QEMU after this resolves: it connects at startup and exits if nobody listens.
   */
  static async listen(dir: string, options: QtestGuestOptions = {}): Promise<QtestGuest> {
    socketSerial += 1;
    const socketPath = path.join(dir, `qtest-${process.pid}-${socketSerial}.sock`);
    fs.rmSync(socketPath, { force: true });
    const server = net.createServer();
    // A guest nobody closes must not keep the test process alive; waitConnected's timer does that.
    server.unref();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new QtestGuest(socketPath, server, options);
  }

  /** QEMU options that make it connect here; `-qtest-log` keeps qtest's trace off QEMU's stderr. */
  qemuArgs(): string[] {
    return ['-qtest', `unix:${this.socketPath}`, '-qtest-log', '/dev/null'];
  }

  /** Resolves once QEMU has connected; rejects after `timeoutMs` or when closed first. */
  async waitConnected(timeoutMs = 30_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`QEMU did not connect to ${this.socketPath} within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([this.connection, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Sends one raw qtest command and resolves with what follows `OK` (e.g. '0x00000001', or '').
   * Commands go one at a time, in call order. A `FAIL` reply rejects this command only; a timeout
   * or a closed connection rejects it and everything queued, and the guest is then unusable.
   */
  command(line: string): Promise<string> {
    if (/[\r\n]/.test(line)) return Promise.reject(new Error('qtest command must be a single line'));
    return new Promise((resolve, reject) => {
      if (this.closed !== null) {
        reject(this.closed);
        return;
      }
      this.queue.push({ line, resolve, reject });
      if (this.socket !== null) this.pump();
      else this.connection.then(() => this.pump(), () => {});
    });
  }

  /** Port I/O read (`inb`/`inw`/`inl`). */
  async in(port: number, width: Width): Promise<number> {
    checkUnsigned(port, 16, 'port');
    return Number(await this.value(`in${IO_SUFFIX[width]} ${hex(port)}`));
  }

  /** Port I/O write (`outb`/`outw`/`outl`). */
  async out(port: number, width: Width, value: number): Promise<void> {
    checkUnsigned(port, 16, 'port');
    checkUnsigned(value, width * 8, 'value');
    await this.command(`out${IO_SUFFIX[width]} ${hex(port)} ${hex(value)}`);
  }

  /** Guest-physical memory read (`readb`/`readw`/`readl`), as a device access of that width. */
  async read(address: bigint, width: Width): Promise<number> {
    checkAddress(address);
    return Number(await this.value(`read${IO_SUFFIX[width]} ${hex(address)}`));
  }

  /** Guest-physical memory write (`writeb`/`writew`/`writel`). */
  async write(address: bigint, width: Width, value: number): Promise<void> {
    checkAddress(address);
    checkUnsigned(value, width * 8, 'value');
    await this.command(`write${IO_SUFFIX[width]} ${hex(address)} ${hex(value)}`);
  }

  /**
   * Completes the unplug of `deviceId` the way a guest's ACPI hotplug driver does after
   * `device_del`: selects the device's bus and writes its slot to the eject register. QEMU then
   * removes the device and sends DEVICE_DELETED. The device must sit on a bus with ACPI hotplug
   * (a pcie-root-port or pci-bridge on q35, or i440fx's root bus).
   */
  async ejectDevice(monitor: QmpPeer, deviceId: string): Promise<void> {
    const devicePath = `/machine/peripheral/${deviceId}`;
    const busPath = String(await monitor.command('qom-get', { path: devicePath, property: 'parent_bus' }));
    const devfn = Number(await monitor.command('qom-get', { path: devicePath, property: 'addr' }));
    await this.ejectBusSlot(monitor, busPath, devfn >> 3);
  }

  /**
   * Ejects whatever is in `slot` of the bus a pcie-root-port (or pci-bridge) with id `portId`
   * provides, as a guest would after `device_del` of the device there.
   */
  async ejectPciSlot(monitor: QmpPeer, portId: string, slot = 0): Promise<void> {
    checkUnsigned(slot, 5, 'slot');
    // A bridge's secondary bus is named after the bridge's id and is its QOM child of that name.
    await this.ejectBusSlot(monitor, `/machine/peripheral/${portId}/${portId}`, slot);
  }

  /**
   * Plays a virtio-net driver that accepts VIRTIO_NET_F_STANDBY on the `failover=on` device
   * `standbyId`: gives it (and its root port) bus numbers and a BAR unless the firmware already
   * did, then runs the virtio-pci modern handshake up to DRIVER_OK. QEMU emits
   * FAILOVER_NEGOTIATED for the standby and plugs its hidden primary.
   *
   * Under -S (nothing has run) this guest assigns the resources itself. With vCPUs running, the
   * firmware owns PCI setup: this waits (up to `timeoutMs`) until it has given the standby its
   * BARs and enabled ECAM, and then only uses ECAM, so as not to interleave with the firmware's
   * own config cycles (i440fx has no ECAM: there it falls back to 0xcf8/0xcfc). It worked here
   * with the NIC's option ROM too, but keeping it off (`romfile=''`, libvirt's
   * `<rom enabled='no'/>`) is safer: with nothing else to boot, SeaBIOS lets iPXE drive the NIC.
   */
  async negotiateFailover(monitor: QmpPeer, standbyId: string, timeoutMs = 10_000): Promise<void> {
    const state = (await monitor.command('query-status')) as { running: boolean };
    if (state.running) await this.waitForFirmware(monitor, standbyId, timeoutMs);
    const config = await this.pciConfig(monitor);
    const fn = await this.placeFunction(monitor, config, standbyId);
    const common = await this.findCommonConfig(config, fn, standbyId);
    const status = (value: number) => this.write(common + BigInt(VIRTIO_COMMON_STATUS), 1, value);
    await status(0);
    await status(VIRTIO_STATUS_ACKNOWLEDGE);
    await status(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    const words: number[] = [];
    for (const select of [0, 1]) {
      await this.write(common + BigInt(VIRTIO_COMMON_DFSELECT), 4, select);
      words.push(await this.read(common + BigInt(VIRTIO_COMMON_DF), 4));
    }
    if ((words[1] & (1 << (VIRTIO_NET_F_STANDBY - 32))) === 0) {
      throw new Error(`'${standbyId}' does not offer VIRTIO_NET_F_STANDBY: is it a virtio-net device with failover=on?`);
    }
    // Accepting everything offered is enough: no queue is ever used.
    for (const select of [0, 1]) {
      await this.write(common + BigInt(VIRTIO_COMMON_GFSELECT), 4, select);
      await this.write(common + BigInt(VIRTIO_COMMON_GF), 4, words[select]);
    }
    await status(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
    const accepted = await this.read(common + BigInt(VIRTIO_COMMON_STATUS), 1);
    if ((accepted & VIRTIO_STATUS_FEATURES_OK) === 0) {
      throw new Error(`'${standbyId}' refused the offered features (device status ${hex(accepted)})`);
    }
    await status(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
  }

  /**
   * The guest OS's ACPI power-off: writes SLP_EN with sleep type 0 (S5 in QEMU's tables) to
   * PM1a_CNT. QEMU then shuts down with reason guest-shutdown. The PM I/O base is the one the
   * firmware programmed, read from QOM (`pm_io_base`), so this waits up to `timeoutMs` for the
   * firmware to get there and never touches config space while it runs.
   */
  async acpiPowerOff(monitor: QmpPeer, timeoutMs = 10_000): Promise<void> {
    const children = (await monitor.command('qom-list', { path: '/machine/unattached' })) as Array<{ name: string; type: string }>;
    const pm = children.find((child) => child.type === 'child<ICH9-LPC>' || child.type === 'child<PIIX4_PM>');
    if (pm === undefined) throw new Error('no ICH9-LPC or PIIX4_PM device: not a q35 or i440fx machine');
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const base = Number(await monitor.command('qom-get', { path: `/machine/unattached/${pm.name}`, property: 'pm_io_base' }));
      if (base !== 0) {
        await this.out(base + PM1_CNT, 2, PM1_CNT_SLP_EN);
        return;
      }
      if (Date.now() >= deadline) throw new Error(`the firmware did not set the ACPI PM base within ${timeoutMs} ms`);
      await delay(20);
    }
  }

  /** Closes the listening socket and the connection (QEMU keeps running). Idempotent. */
  async close(): Promise<void> {
    this.fail(new Error('qtest guest closed'));
    this.rejectConnection(new Error('qtest guest closed before QEMU connected'));
    const socket = this.socket;
    const waits: Promise<void>[] = [];
    if (socket !== null && !socket.destroyed) {
      waits.push(new Promise((resolve) => socket.once('close', () => resolve())));
      socket.destroy();
    }
    if (this.server.listening) {
      waits.push(new Promise((resolve) => this.server.close(() => resolve())));
    }
    await Promise.all(waits);
  }

  private async value(line: string): Promise<bigint> {
    const reply = await this.command(line);
    if (!/^0x[0-9a-f]+$/i.test(reply)) throw new Error(`qtest '${line}': unexpected reply 'OK ${reply}'`);
    return BigInt(reply);
  }

  private pump(): void {
    if (this.inFlight !== null || this.socket === null || this.closed !== null) return;
    const next = this.queue.shift();
    if (next === undefined) return;
    this.inFlight = next;
    this.timer = setTimeout(
      () => this.fail(new Error(`qtest '${next.line}': no reply within ${this.commandTimeoutMs} ms`)),
      this.commandTimeoutMs,
    );
    this.socket.write(`${next.line}\n`);
  }

  private onData(chunk: string): void {
    this.received += chunk;
    let end: number;
    while ((end = this.received.indexOf('\n')) >= 0) {
      const line = this.received.slice(0, end);
      this.received = this.received.slice(end + 1);
      this.onLine(line);
    }
  }

  private onLine(line: string): void {
    // Interrupt notifications come only after irq_intercept_*, which this guest never sends.
    if (line.startsWith('IRQ ')) return;
    const current = this.inFlight;
    if (current === null) {
      this.fail(new Error(`qtest: unexpected line from QEMU: ${line}`));
      return;
    }
    this.inFlight = null;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (line === 'OK' || line.startsWith('OK ')) current.resolve(line.slice(3));
    else current.reject(new Error(`qtest '${current.line}': ${line}`));
    this.pump();
  }

  private fail(error: Error): void {
    if (this.closed !== null) return;
    this.closed = error;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const pending = this.inFlight !== null ? [this.inFlight, ...this.queue] : [...this.queue];
    this.inFlight = null;
    this.queue.length = 0;
    for (const command of pending) command.reject(error);
    this.socket?.destroy();
  }

  private async ejectBusSlot(monitor: QmpPeer, busPath: string, slot: number): Promise<void> {
    // QEMU numbers the ACPI-hotpluggable buses when the machine is first reset, depth first with
    // the most recently added bridge first: the selector has to be asked for, not guessed.
    let bsel: number;
    try {
      bsel = Number(await monitor.command('qom-get', { path: busPath, property: 'acpi-pcihp-bsel' }));
    } catch (err) {
      throw new Error(`bus ${busPath} has no ACPI hotplug selector (${(err as Error).message})`);
    }
    const base = (await this.isQ35(monitor)) ? PCIHP_BASE_ICH9 : PCIHP_BASE_PIIX4;
    await this.out(base + PCIHP_SELECT, 4, bsel);
    await this.out(base + PCIHP_EJECT, 4, 2 ** slot);
  }

  private async isQ35(monitor: QmpPeer): Promise<boolean> {
    const children = (await monitor.command('qom-list', { path: '/machine' })) as Array<{ name: string }>;
    return children.some((child) => child.name === 'q35');
  }

  /**
   * Config space access: through the ECAM window once the firmware has enabled it (one memory
   * access each, so a running firmware's own 0xcf8/0xcfc pairs are not disturbed), else through
   * the 0xcf8/0xcfc ports, which is what a paused machine (-S) offers.
   */
  private async pciConfig(monitor: QmpPeer): Promise<PciConfigSpace> {
    return new PciConfigSpace(this, (await this.isQ35(monitor)) ? await this.ecamBase(monitor) : null);
  }

  /** q35's ECAM base, or null while the firmware (PCIEXBAR) has not mapped it. */
  private async ecamBase(monitor: QmpPeer): Promise<bigint | null> {
    const base = Number(await monitor.command('qom-get', { path: '/machine/q35', property: 'MCFG' }));
    // Unmapped reads as 2^64-1 (after JSON parsing, just a number too large to be an address).
    return Number.isSafeInteger(base) && base >= 0 ? BigInt(base) : null;
  }

  /** Waits until the firmware has mapped ECAM (q35) and every memory BAR of `deviceId`. */
  private async waitForFirmware(monitor: QmpPeer, deviceId: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const q35 = await this.isQ35(monitor);
    for (;;) {
      const buses = (await monitor.command('query-pci')) as Array<{ devices: QueryPciDevice[] }>;
      const device = findPciDevice(buses.flatMap((bus) => bus.devices), deviceId);
      // Region 6 is the expansion ROM, which the firmware maps only while it copies it.
      const barsMapped =
        device?.regions.every((region) => region.type !== 'memory' || region.bar === 6 || region.address !== -1) ?? false;
      if (barsMapped && (!q35 || (await this.ecamBase(monitor)) !== null)) return;
      if (Date.now() >= deadline) {
        throw new Error(`the firmware did not set up '${deviceId}' within ${timeoutMs} ms (is it a PCI device the firmware enumerates?)`);
      }
      await delay(20);
    }
  }

  /** Finds `deviceId` in config space, giving its root port a bus number if it has none yet. */
  private async placeFunction(monitor: QmpPeer, config: PciConfigSpace, deviceId: string): Promise<PciFunction> {
    const devicePath = `/machine/peripheral/${deviceId}`;
    const busPath = String(await monitor.command('qom-get', { path: devicePath, property: 'parent_bus' }));
    const devfn = Number(await monitor.command('qom-get', { path: devicePath, property: 'addr' }));
    const buses = (await monitor.command('query-pci')) as Array<{ bus: number; devices: QueryPciDevice[] }>;
    const rootDevices = buses.find((bus) => bus.bus === 0)?.devices ?? [];
    if (rootDevices.some((device) => device.qdev_id === deviceId)) {
      const fn = { bus: 0, devfn };
      await this.assignBars(config, fn, null);
      return fn;
    }
    const portPath = path.posix.dirname(busPath);
    const portId = path.posix.basename(portPath);
    const port = rootDevices.find((device) => device.qdev_id === portId && device.pci_bridge !== undefined);
    if (portPath !== `/machine/peripheral/${portId}` || port === undefined) {
      throw new Error(`'${deviceId}' is on ${busPath}: only devices on the root bus or on a root port with an id are supported`);
    }
    const portFn = { bus: 0, devfn: (port.slot << 3) | port.function };
    let secondary = port.pci_bridge?.bus.secondary ?? 0;
    if (secondary === 0) {
      const used = rootDevices.map((device) => device.pci_bridge?.bus.subordinate ?? 0);
      secondary = Math.max(0, ...used) + 1;
      const latency = (await config.read(portFn, PCI_PRIMARY_BUS, 4)) & 0xff000000;
      await config.write(portFn, PCI_PRIMARY_BUS, 4, (latency | (secondary << 16) | (secondary << 8)) >>> 0);
    }
    await config.setCommandBits(portFn, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    const fn = { bus: secondary, devfn };
    await this.assignBars(config, fn, portFn);
    return fn;
  }

  /** Gives every unassigned memory BAR of `fn` an address, opening the port's window for it. */
  private async assignBars(config: PciConfigSpace, fn: PciFunction, portFn: PciFunction | null): Promise<void> {
    for (let bar = 0; bar < 6; bar++) {
      const reg = PCI_BASE_ADDRESS_0 + 4 * bar;
      const low = await config.read(fn, reg, 4);
      if (low & PCI_BAR_IO) continue;
      const is64 = (low & 0x6) === PCI_BAR_MEM_TYPE_64;
      const high = is64 ? await config.read(fn, reg + 4, 4) : 0;
      const assigned = (BigInt(high) << 32n) | BigInt((low & ~0xf) >>> 0);
      // Probing the size moves the BAR for a moment: only do it where nothing is mapped yet.
      const size = assigned === 0n ? await config.barSize(fn, reg, low) : 0;
      if (size !== 0) {
        const window = Math.ceil(size / BRIDGE_WINDOW) * BRIDGE_WINDOW;
        if (this.nextMmio + window > MMIO_POOL_END) throw new Error('qtest guest: out of MMIO space for BARs');
        const address = this.nextMmio;
        this.nextMmio += window;
        await config.write(fn, reg, 4, address);
        if (is64) await config.write(fn, reg + 4, 4, 0);
        if (portFn !== null) await config.openWindow(portFn, address, window, (low & PCI_BAR_MEM_PREFETCH) !== 0);
      }
      if (is64) bar++;
    }
    await config.setCommandBits(fn, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
  }

  /** The guest-physical address of the virtio common configuration structure of `fn`. */
  private async findCommonConfig(config: PciConfigSpace, fn: PciFunction, deviceId: string): Promise<bigint> {
    if (((await config.read(fn, PCI_STATUS, 2)) & PCI_STATUS_CAP_LIST) !== 0) {
      let cap = (await config.read(fn, PCI_CAPABILITY_LIST, 1)) & 0xfc;
      for (let hops = 0; cap !== 0 && hops < 48; hops++) {
        const header = await config.read(fn, cap, 4); // id, next, length, cfg_type
        if ((header & 0xff) === PCI_CAP_ID_VNDR && header >>> 24 === VIRTIO_PCI_CAP_COMMON_CFG) {
          const bar = (await config.read(fn, cap + 4, 1)) & 0x7;
          const offset = await config.read(fn, cap + 8, 4);
          const reg = PCI_BASE_ADDRESS_0 + 4 * bar;
          const low = await config.read(fn, reg, 4);
          const high = (low & 0x6) === PCI_BAR_MEM_TYPE_64 ? await config.read(fn, reg + 4, 4) : 0;
          return ((BigInt(high) << 32n) | BigInt((low & ~0xf) >>> 0)) + BigInt(offset);
        }
        cap = ((header >>> 8) & 0xff) & 0xfc;
      }
    }
    throw new Error(`'${deviceId}' has no virtio-pci modern common configuration (is it a virtio device with disable-modern=off?)`);
  }
}

/** PCI configuration space reads and writes through a QtestGuest. */
class PciConfigSpace {
  constructor(
    private readonly guest: QtestGuest,
    /** ECAM base address, or null to use the 0xcf8/0xcfc ports. */
    private readonly ecam: bigint | null,
  ) {}

  async read(fn: PciFunction, reg: number, width: Width): Promise<number> {
    if (this.ecam !== null) return this.guest.read(this.ecamAddress(fn, reg), width);
    await this.guest.out(CONFIG_ADDRESS_PORT, 4, this.configAddress(fn, reg));
    return this.guest.in(CONFIG_DATA_PORT + (reg & 3), width);
  }

  async write(fn: PciFunction, reg: number, width: Width, value: number): Promise<void> {
    if (this.ecam !== null) return this.guest.write(this.ecamAddress(fn, reg), width, value);
    await this.guest.out(CONFIG_ADDRESS_PORT, 4, this.configAddress(fn, reg));
    await this.guest.out(CONFIG_DATA_PORT + (reg & 3), width, value);
  }

  async setCommandBits(fn: PciFunction, bits: number): Promise<void> {
    const command = await this.read(fn, PCI_COMMAND, 2);
    if ((command & bits) !== bits) await this.write(fn, PCI_COMMAND, 2, command | bits);
  }

  /** Size of the memory BAR at `reg` (low dword `low`), by the all-ones probe; 0 if unimplemented. */
  async barSize(fn: PciFunction, reg: number, low: number): Promise<number> {
    await this.write(fn, reg, 4, 0xffffffff);
    const mask = (await this.read(fn, reg, 4)) & ~0xf;
    await this.write(fn, reg, 4, low);
    return mask === 0 ? 0 : (~mask >>> 0) + 1;
  }

  /** Opens a bridge's (prefetchable or plain) memory window on [address, address + size). */
  async openWindow(bridge: PciFunction, address: number, size: number, prefetchable: boolean): Promise<void> {
    const base = (address >>> 16) & 0xfff0;
    const limit = ((address + size - 1) >>> 16) & 0xfff0;
    if (prefetchable) {
      await this.write(bridge, PCI_PREF_MEMORY_BASE, 4, ((limit << 16) | base) >>> 0);
      await this.write(bridge, PCI_PREF_BASE_UPPER32, 4, 0);
      await this.write(bridge, PCI_PREF_LIMIT_UPPER32, 4, 0);
    } else {
      await this.write(bridge, PCI_MEMORY_BASE, 4, ((limit << 16) | base) >>> 0);
    }
  }

  private configAddress(fn: PciFunction, reg: number): number {
    return (0x80000000 | (fn.bus << 16) | (fn.devfn << 8) | (reg & 0xfc)) >>> 0;
  }

  private ecamAddress(fn: PciFunction, reg: number): bigint {
    return (this.ecam as bigint) + BigInt((fn.bus << 20) | (fn.devfn << 12) | reg);
  }
}
