/**
 * What every measured process (bench server, raw baseline, bare Yoga) offers the orchestrator:
 * its own CPU and memory, a forced GC, and CPU and heap profiles on demand. (Its database
 * commands are counted outside it, on the wire: see wire-tap.ts.)
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { collectGarbage, selfStats, type ProcessStats } from './util.js';

export type MeasuredApi = {
  stats: [null, ProcessStats];
  gc: [null, ProcessStats];
  profileStart: [null, null];
  /** Writes the profile (.cpuprofile, Chrome DevTools format) to the path given. */
  profileStop: [string, string];
  /** Sampling heap profiler: allocations still alive when it stops, by allocation stack. */
  heapProfileStart: [null, null];
  /** Collects garbage, then writes the profile (.heapprofile) to the path given. */
  heapProfileStop: [string, string];
};

export function measuredHandlers() {
  let cpu: Session | null = null;
  let heap: Session | null = null;
  const open = async (domain: 'Profiler' | 'HeapProfiler') => {
    const session = new Session();
    session.connect();
    await session.post(`${domain}.enable`);
    return session;
  };

  return {
    stats: () => selfStats(),
    gc: () => {
      collectGarbage();
      return selfStats();
    },
    profileStart: async () => {
      cpu = await open('Profiler');
      await cpu.post('Profiler.setSamplingInterval', { interval: 500 });
      await cpu.post('Profiler.start');
      return null;
    },
    profileStop: async (path: string) => {
      if (!cpu) throw new Error('no CPU profile running');
      const { profile } = await cpu.post('Profiler.stop');
      cpu.disconnect();
      cpu = null;
      await writeFile(path, JSON.stringify(profile));
      return path;
    },
    heapProfileStart: async () => {
      heap = await open('HeapProfiler');
      await heap.post('HeapProfiler.startSampling', { samplingInterval: 1024 });
      return null;
    },
    heapProfileStop: async (path: string) => {
      if (!heap) throw new Error('no heap profile running');
      collectGarbage();
      const { profile } = await heap.post('HeapProfiler.stopSampling');
      heap.disconnect();
      heap = null;
      await writeFile(path, JSON.stringify(profile));
      return path;
    },
  };
}
