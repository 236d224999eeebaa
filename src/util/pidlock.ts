// A lock file naming its holder (pid and process start time), so that two processes never drive
// one domain at once and a lock left by a process that died is recognised and taken over.
import fs from 'node:fs';
import { processIsSame, processStartTime } from './proc';

export interface LockHolder {
  pid: number;
  startTime: string;
}

function readHolder(file: string): LockHolder | null {
  try {
    const [pid, startTime] = fs.readFileSync(file, 'utf8').trim().split(' ');
    return { pid: Number(pid), startTime: startTime ?? '' };
  } catch {
    return null;
  }
}

export class PidLock {
  private released = false;

  private constructor(readonly file: string) {}

  /**
   * Takes the lock, or returns the live process that holds it. A lock whose holder has exited
   * is stale and is replaced. Creation is atomic (O_EXCL), so two takers cannot both win.
   */
  static acquire(file: string): PidLock | LockHolder {
    const me = `${process.pid} ${processStartTime(process.pid) ?? ''}\n`;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        fs.writeFileSync(file, me, { flag: 'wx', mode: 0o600 });
        return new PidLock(file);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const holder = readHolder(file);
      if (holder && holder.pid === process.pid) return holder;
      if (holder && processIsSame(holder.pid, holder.startTime)) return holder;
      // Stale: the holder is gone (or the file is half written by a taker that died).
      fs.rmSync(file, { force: true });
    }
    return readHolder(file) ?? { pid: 0, startTime: '' };
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    const holder = readHolder(this.file);
    if (holder?.pid === process.pid) fs.rmSync(this.file, { force: true });
  }
}
