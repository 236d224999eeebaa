// The `-chardev` option value as libvirt 9.0 writes it (qemuBuildChardevStr): every boolean is
// spelled out as on/off (`server=on,wait=off`, `telnet=on`), never QEMU's deprecated short form.
// The backend description is deliberately small; the command-line builder maps the domain
// definition's character device source onto it.
import { escapeOptionValue } from './props';

/** A character device backend, in the terms of the QEMU command line. */
export type ChardevBackend =
  | { type: 'null' | 'vc' | 'pty' | 'stdio' }
  /** A host device node; written as `parallel` for parallel-port aliases, else `serial`. */
  | { type: 'dev'; path: string }
  /** `append` absent: QEMU's default. Pre-opened files are `/dev/fdset/N` with append on. */
  | { type: 'file'; path: string; append?: boolean }
  | { type: 'pipe'; path: string }
  | { type: 'udp'; connectHost?: string; connectService?: string; bindHost?: string; bindService?: string }
  | ({ type: 'tcp'; host: string; service: string; telnet?: boolean; tlsCreds?: string } & SocketMode)
  /** `fd` is a listening socket libvirt created and passes in (tests use 1729). */
  | ({ type: 'unix'; path?: string; fd?: number } & SocketMode)
  | { type: 'spicevmc'; name: string }
  | { type: 'spiceport'; channel: string }
  | { type: 'qemu-vdagent'; clipboard?: boolean; mouse?: boolean }
  | { type: 'dbus'; channel: string };

interface SocketMode {
  /** Listen (server=on) instead of connecting. */
  listen?: boolean;
  /** A listening socket makes QEMU wait for a client only when asked (default: wait=off). */
  wait?: boolean;
  /** Reconnect: a timeout in seconds, 0 to switch it off explicitly, absent for QEMU's default. */
  reconnect?: number;
}

/** A `<log file=...>` of the character device. */
export interface ChardevLog {
  file: string;
  append?: boolean;
}

function onOff(value: boolean): string {
  return value ? 'on' : 'off';
}

function socketMode(mode: SocketMode): string {
  let out = '';
  if (mode.listen) {
    out += ',server=on';
    if (!mode.wait) out += ',wait=off';
  }
  if (mode.reconnect !== undefined) out += `,reconnect=${mode.reconnect}`;
  return out;
}

/**
 * The value of `-chardev` for a character device whose alias is `id` (libvirt's `char` + device
 * alias, e.g. 'charserial0', or 'charmonitor').
 */
export function buildChardevArg(id: string, backend: ChardevBackend, log?: ChardevLog): string {
  let out: string;
  switch (backend.type) {
    case 'null':
    case 'vc':
    case 'pty':
    case 'stdio':
      out = `${backend.type},id=${id}`;
      break;
    case 'dev':
      out = `${id.startsWith('charparallel') ? 'parallel' : 'serial'},id=${id},path=${escapeOptionValue(backend.path)}`;
      break;
    case 'file':
      out = `file,id=${id},path=${escapeOptionValue(backend.path)}`;
      if (backend.append !== undefined) out += `,append=${onOff(backend.append)}`;
      break;
    case 'pipe':
      out = `pipe,id=${id},path=${escapeOptionValue(backend.path)}`;
      break;
    case 'udp':
      out =
        `udp,id=${id},host=${backend.connectHost ?? ''},port=${backend.connectService ?? ''}` +
        `,localaddr=${backend.bindHost ?? ''},localport=${backend.bindService ?? '0'}`;
      break;
    case 'tcp':
      out = `socket,id=${id},host=${backend.host},port=${backend.service}`;
      if (backend.telnet) out += ',telnet=on';
      out += socketMode(backend);
      if (backend.tlsCreds !== undefined) out += `,tls-creds=${backend.tlsCreds}`;
      break;
    case 'unix':
      out = `socket,id=${id},`;
      out += backend.fd !== undefined ? `fd=${backend.fd}` : `path=${escapeOptionValue(backend.path ?? '')}`;
      out += socketMode(backend);
      break;
    case 'spicevmc':
      out = `spicevmc,id=${id},name=${backend.name}`;
      break;
    case 'spiceport':
      out = `spiceport,id=${id},name=${escapeOptionValue(backend.channel)}`;
      break;
    case 'qemu-vdagent':
      out = `qemu-vdagent,id=${id},name=vdagent`;
      if (backend.clipboard !== undefined) out += `,clipboard=${onOff(backend.clipboard)}`;
      if (backend.mouse !== undefined) out += `,mouse=${onOff(backend.mouse)}`;
      break;
    case 'dbus':
      out = `dbus,id=${id},name=${escapeOptionValue(backend.channel)}`;
      break;
  }
  if (log) {
    out += `,logfile=${escapeOptionValue(log.file)}`;
    if (log.append !== undefined) out += `,logappend=${onOff(log.append)}`;
  }
  return out;
}
