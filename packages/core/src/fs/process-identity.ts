import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

/**
 * Who holds a lock or a lease, precisely enough to tell, from the same machine, that the holder
 * is gone: a process id alone is not enough, since ids are reused. On Linux the boot id and the
 * process's start time (in clock ticks since boot) make the pair unique; elsewhere only the host
 * and pid are known, and a live process with the same pid is taken to be the holder.
 */
export interface ProcessIdentity {
  host: string;
  pid: number;
  /** `/proc/sys/kernel/random/boot_id`, when the system has one. */
  boot?: string;
  /** The process's start time in clock ticks since boot, when the system tells it. */
  start?: string;
}

let self: ProcessIdentity | undefined;

export function currentProcess(): ProcessIdentity {
  if (!self) {
    const boot = readProc('/proc/sys/kernel/random/boot_id')?.trim();
    const start = startTicks(process.pid);
    self = {
      host: hostname(),
      pid: process.pid,
      ...(boot ? { boot } : {}),
      ...(start ? { start } : {}),
    };
  }
  return self;
}

/**
 * Whether the process is certainly gone: it ran on this machine (same host, same boot) and no
 * process with its id and start time exists now. Anything uncertain — another host, no pid —
 * is `false`, and the caller falls back to waiting for a heartbeat to stop.
 */
export function isGoneHere(holder: Partial<ProcessIdentity>): boolean {
  const here = currentProcess();
  if (holder.host !== here.host || !Number.isInteger(holder.pid) || (holder.pid ?? 0) <= 0) {
    return false;
  }
  if (holder.boot && here.boot && holder.boot !== here.boot) return true;
  const pid = holder.pid as number;
  if (!isAlive(pid)) return true;
  // A live process with that id: the holder only if it started when the holder did.
  if (holder.start && here.start) return startTicks(pid) !== holder.start;
  return false;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function startTicks(pid: number): string | undefined {
  const stat = readProc(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19];
}

function readProc(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}
