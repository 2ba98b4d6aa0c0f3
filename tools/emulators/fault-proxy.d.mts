// Types for fault-proxy.mjs.
import type { IncomingMessage } from 'node:http';

export interface FaultRule {
  /** HTTP status to answer with (default 503). */
  status?: number;
  /** How many matching requests to fail (default 1). */
  count?: number;
  body?: string;
  headers?: Record<string, string>;
  /** Only fail requests for which this returns true (default: all). */
  match?: (req: IncomingMessage) => boolean;
}

export interface FaultProxy {
  endpoint: string;
  port: number;
  stats: { total: number; injected: number };
  inject(rule?: FaultRule): void;
  clear(): void;
  stop(): Promise<void>;
}

export function startFaultProxy(target: string, opts?: { host?: string }): Promise<FaultProxy>;
