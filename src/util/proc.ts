// What /proc tells about another process: whether it is still the process we knew (pid plus
// start time, so a recycled pid is not mistaken for it) and the CPU time it has used.
import fs from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times (sysconf(_SC_CLK_TCK), 100 on Linux). */
const CLOCK_TICKS = 100;

/** The fields of /proc/<pid>/stat after the command name, or null when the process is gone. */
function statFields(pid: number): string[] | null {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name is in parentheses and may itself hold spaces or parentheses.
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

/** The process's start time in clock ticks since boot, as a string; null when it does not exist. */
export function processStartTime(pid: number): string | null {
  const f = statFields(pid);
  // Field 22 overall: index 19 after pid and comm. A zombie has exited: report it as gone.
  if (f === null || f[0] === 'Z' || f[0] === 'X') return null;
  return f[19] ?? null;
}

/** Whether `pid` is alive and is the process that started at `startTime`. */
export function processIsSame(pid: number, startTime: string): boolean {
  return processStartTime(pid) === startTime;
}

/** User plus system CPU time of the whole process (all threads), in nanoseconds. */
export function processCpuTimeNs(pid: number): bigint {
  const f = statFields(pid);
  if (f === null) return 0n;
  const ticks = BigInt(f[11] ?? 0) + BigInt(f[12] ?? 0);
  return (ticks * 1_000_000_000n) / BigInt(CLOCK_TICKS);
}
